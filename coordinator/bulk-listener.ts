// The coordinator's end of the bulk channel (shared/transport/bulk-wire.ts): a listener for the
// bytes of admitted uploads. Nothing is accepted here without a grant: an upload admitted on its
// gRPC call (identity, revocation, round, slot) gets a one-time random token bound to the
// certificate that made the call; a bulk connection must present a certificate of the study CA
// (mutual TLS, as gRPC), the same certificate, and the token, within the header timeout. The
// blocks it then carries go through the same receive path as chunk messages; a download's go
// out on it as they would on the call.
import { createServer as createTcpServer, type Server as NetServer, type Socket, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { BULK_MAGIC, BULK_PREAMBLE_BYTES, BULK_TOKEN_BYTES, BULK_ACCEPTED, BULK_REFUSED } from '../shared/transport/bulk-wire.js';

export interface BulkTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A bulk stream that presented its token: an upload's blocks to read, or a download's to write. */
export interface AttachedStream {
  readonly socket: Socket;
  /** What arrived after the token (an upload's first block bytes). */
  readonly leftover: Buffer;
}

/** An admitted transfer's permission to move its bytes on the bulk channel. */
export interface BulkGrant {
  readonly token: Buffer;
  readonly port: number;
  /** Resolves with the stream once the site connected with the token. */
  readonly attached: Promise<AttachedStream>;
  /** Withdraws the grant (the upload ended or went over gRPC); closes an attached stream. */
  revoke(): void;
  /** Whether a bulk stream attached with the token (the bytes came on the bulk channel). */
  readonly used: boolean;
}

interface Pending {
  readonly fingerprint: string | null;
  readonly resolve: (r: AttachedStream) => void;
  socket: Socket | null;
}

export class BulkListener {
  private readonly grants = new Map<string, Pending>();
  private readonly sockets = new Set<Socket>();
  /** The port sites are told to dial: the listening port, or the one a port forward in front of it exposes. */
  readonly port: number;
  private constructor(private readonly server: NetServer, readonly listeningPort: number, advertised: number | undefined, private readonly headerMs: number) {
    this.port = advertised ?? listeningPort;
  }

  /**
   * Listens on host:port (0: a port of the system's choosing). `tls` null: plain TCP, only for a
   * coordinator that runs without TLS (insecure: true) as its gRPC does.
   */
  static async listen(host: string, port: number, tls: BulkTls | null, opts: { headerMs: number; log: Logger; advertisePort?: number }): Promise<BulkListener> {
    let self: BulkListener | null = null;
    const onSocket = (s: Socket) => (self ? self.accept(s) : s.destroy());
    const server = tls
      ? createTlsServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, onSocket)
      : createTcpServer(onSocket);
    server.on('tlsClientError', () => undefined); // a failed handshake (no or a foreign certificate) just closes that connection
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => opts.log.error({ err }, 'bulk channel listener failed'));
    self = new BulkListener(server, (server.address() as AddressInfo).port, opts.advertisePort, opts.headerMs);
    return self;
  }

  /** A grant for an admitted upload; `fingerprint`: the SHA-256 fingerprint of the caller's certificate (null without TLS). */
  grant(fingerprint: string | null): BulkGrant {
    const token = randomBytes(BULK_TOKEN_BYTES);
    const key = token.toString('hex');
    let resolve!: (r: AttachedStream) => void;
    const attached = new Promise<AttachedStream>((r) => (resolve = r));
    const pending: Pending = { fingerprint, resolve, socket: null };
    this.grants.set(key, pending);
    return {
      token,
      port: this.port,
      attached,
      get used() {
        return pending.socket !== null;
      },
      revoke: () => {
        this.grants.delete(key);
        pending.socket?.destroy();
      },
    };
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined); // reported through the reader (or nothing was attached yet)
    const timer = setTimeout(() => refuse('no token within the header timeout'), this.headerMs);
    let pre = Buffer.alloc(0);
    const refuse = (why: string) => {
      clearTimeout(timer);
      sock.off('data', onData);
      if (!sock.destroyed) sock.end(Buffer.concat([Buffer.from([BULK_REFUSED]), Buffer.from(why)]));
      setTimeout(() => sock.destroy(), 1000).unref();
    };
    const onData = (d: Buffer) => {
      pre = Buffer.concat([pre, d]);
      if (pre.length < BULK_PREAMBLE_BYTES) return;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.pause();
      if (!pre.subarray(0, BULK_MAGIC.length).equals(BULK_MAGIC)) return refuse('not a bulk stream');
      const token = pre.subarray(BULK_MAGIC.length, BULK_PREAMBLE_BYTES);
      const key = token.toString('hex');
      const g = this.grants.get(key);
      if (!g) return refuse('unknown or expired bulk token; send the update on its gRPC call');
      if (g.fingerprint !== null) {
        const peer = (sock as TLSSocket).getPeerCertificate?.();
        if (!peer || peer.fingerprint256 !== g.fingerprint) return refuse('the bulk stream presents another certificate than the upload call');
      }
      this.grants.delete(key); // one use
      g.socket = sock;
      sock.write(Buffer.from([BULK_ACCEPTED]));
      g.resolve({ socket: sock, leftover: pre.subarray(BULK_PREAMBLE_BYTES) });
    };
    sock.on('data', onData);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.grants.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
