// A loopback TCP proxy that records every byte in both directions (for privacy tests).
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';

export interface CapturingProxy {
  readonly port: number;
  /** Bytes sent by clients (agent → coordinator). */
  upstream(): Buffer;
  /** Bytes sent by the server (coordinator → agent). */
  downstream(): Buffer;
  /** Stops forwarding in both directions (connections stay open) until resume(). */
  stall(): void;
  resume(): void;
  /** Drops every connection once, when agent-to-coordinator traffic passes `bytes` more bytes. */
  cutAfter(bytes: number): void;
  /**
   * Stops forwarding (both directions) once agent-to-coordinator traffic passes `bytes` more bytes;
   * the message that crosses the mark is still forwarded. Resolves with the upstream byte count then.
   */
  stallAfter(bytes: number): Promise<number>;
  /** Drops every connection now and forwards again (what was held back is discarded). */
  cut(): void;
  close(): Promise<void>;
}

export async function startCapturingProxy(targetPort: number): Promise<CapturingProxy> {
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const sockets = new Set<Socket>();
  let stalled = false;
  let upBytes = 0;
  let cutAt = Infinity;
  let stallAt = Infinity;
  let onStalled: ((upstreamBytes: number) => void) | null = null;
  const held: (() => void)[] = [];
  const forward = (fn: () => void) => (stalled ? held.push(fn) : fn());
  // Half-open connections are kept half-open (a FIN is forwarded, in order, after the bytes before
  // it): a protocol that ends its side and waits for the answer, such as the bulk channel, must not
  // lose the bytes still buffered toward the server when its client sends the FIN.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstreamSock = connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
    sockets.add(client);
    sockets.add(upstreamSock);
    client.on('data', (d: Buffer) => {
      up.push(Buffer.from(d));
      upBytes += d.length;
      if (upBytes >= cutAt) {
        cutAt = Infinity;
        for (const sock of sockets) sock.destroy();
        return;
      }
      forward(() => upstreamSock.write(d));
      if (upBytes >= stallAt) {
        stallAt = Infinity;
        stalled = true;
        onStalled?.(upBytes);
        onStalled = null;
      }
    });
    upstreamSock.on('data', (d: Buffer) => {
      down.push(Buffer.from(d));
      forward(() => client.write(d));
    });
    client.on('end', () => forward(() => upstreamSock.end()));
    upstreamSock.on('end', () => forward(() => client.end()));
    const end = () => {
      client.destroy();
      upstreamSock.destroy();
    };
    client.on('close', end);
    upstreamSock.on('close', end);
    client.on('error', end);
    upstreamSock.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    upstream: () => Buffer.concat(up),
    downstream: () => Buffer.concat(down),
    cutAfter: (bytes: number) => {
      cutAt = upBytes + bytes;
    },
    stallAfter: (bytes: number) => new Promise<number>((resolve) => {
      stallAt = upBytes + bytes;
      onStalled = resolve;
    }),
    cut: () => {
      held.length = 0;
      stalled = false;
      for (const sock of sockets) sock.destroy();
      sockets.clear();
    },
    stall: () => {
      stalled = true;
    },
    resume: () => {
      stalled = false;
      for (const fn of held.splice(0)) fn();
    },
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
