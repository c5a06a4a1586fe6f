// The site's end of the bulk channel: how to open a stream to the coordinator's bulk port with the
// same identity the gRPC channel uses. The TLS kit behind a channel's credentials is remembered
// when the credentials are made (shared/security/tls.ts registers it), so every client built from
// those credentials can open the bulk channel without its callers passing the kit again. Plain-text
// credentials (insecure, one machine only) open a plain TCP stream, as their gRPC does.
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { BULK_MAGIC, BULK_ACCEPTED } from './bulk-wire.js';

export interface BulkTlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

const kits = new WeakMap<object, BulkTlsMaterial | 'plain'>();

/** Remembers what a bulk stream opened with these (gRPC channel) credentials presents. */
export function registerBulkIdentity(credentials: object, kit: BulkTlsMaterial | 'plain'): void {
  kits.set(credentials, kit);
}

/** How streams opened beside a channel with these credentials authenticate (null: no bulk channel). */
export function bulkIdentityOf(credentials: object): BulkTlsMaterial | 'plain' | null {
  const k = kits.get(credentials);
  if (k) return k;
  // grpc-js's own plain-text credentials (tests, benchmarks on one machine): plain TCP.
  const secure = (credentials as { _isSecure?: () => boolean })._isSecure?.();
  return secure === false ? 'plain' : null;
}

/** host of a gRPC target ("host:port", "[v6]:port", "dns:host:port", "dns:///host:port"), or null. */
export function targetHost(address: string): string | null {
  const a = address.replace(/^dns:(\/\/[^/]*\/)?/, '').replace(/^ipv[46]:/, '');
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(a) ?? /^([^:/]+)(?::\d+)?$/.exec(a);
  return m ? m[1]! : null;
}

export class BulkConnectError extends Error {
  override name = 'BulkConnectError';
}

/**
 * Opens a bulk stream to host:port, presents the token and waits for the coordinator's answer.
 * Resolves with the stream ready for blocks (paused; anything after the answer is still to be read); rejects (BulkConnectError) when it cannot connect
 * within `timeoutMs`, the handshake fails or the coordinator refuses the token.
 */
export function openBulkStream(
  kit: BulkTlsMaterial | 'plain', host: string, port: number, token: Buffer, o: { servername?: string; timeoutMs: number },
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const sock: Socket = kit === 'plain'
      ? tcpConnect({ host, port })
      : tlsConnect({
        host, port, ca: kit.ca, cert: kit.cert, key: kit.key, minVersion: 'TLSv1.2',
        ...(o.servername ? { servername: o.servername } : isIP(host) ? {} : { servername: host }),
      });
    sock.setNoDelay(true);
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(new BulkConnectError(`bulk channel ${host}:${port}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${o.timeoutMs} ms`), o.timeoutMs);
    sock.once('error', (e: Error) => fail(e.message));
    sock.once('close', () => fail('closed by the coordinator'));
    sock.once(kit === 'plain' ? 'connect' : 'secureConnect', () => sock.write(Buffer.concat([BULK_MAGIC, token])));
    let answer = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      answer = Buffer.concat([answer, d]);
      if (answer[0] === BULK_ACCEPTED) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.off('data', onData);
        // What came after the answer (a download's first block bytes) is read again by the caller.
        sock.pause();
        if (answer.length > 1) sock.unshift(answer.subarray(1));
        sock.removeAllListeners('error');
        sock.removeAllListeners('close');
        sock.on('error', () => undefined); // reported by the writer
        resolve(sock);
      }
    };
    sock.on('data', onData);
    sock.once('end', () => fail(`refused: ${answer.subarray(1).toString('utf8') || 'no reason given'}`));
  });
}
