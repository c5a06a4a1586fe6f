// A loopback TCP proxy that records every byte in both directions (for privacy tests).
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';

export interface CapturingProxy {
  readonly port: number;
  /** Bytes sent by clients (agent → coordinator). */
  upstream(): Buffer;
  /** Bytes sent by the server (coordinator → agent). */
  downstream(): Buffer;
  close(): Promise<void>;
}

export async function startCapturingProxy(targetPort: number): Promise<CapturingProxy> {
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstreamSock = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstreamSock);
    client.on('data', (d: Buffer) => {
      up.push(Buffer.from(d));
      upstreamSock.write(d);
    });
    upstreamSock.on('data', (d: Buffer) => {
      down.push(Buffer.from(d));
      client.write(d);
    });
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
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
