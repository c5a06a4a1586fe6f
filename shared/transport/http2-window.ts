// Larger HTTP/2 flow-control windows for the coordinator's receive side.
//
// grpc-js lets a *client* raise its receive window ('grpc-node.flow_control_window') but its
// server keeps Node's default of 64 KiB per stream and per connection, which caps an upload at
// 64 KiB per round trip (about 0.3 GB/s on loopback, far less on a hospital WAN). We raise the
// connection window and advertise a larger per-stream initial window on every session the
// server accepts. Memory stays bounded: the window is how much a peer may send before we read,
// and we read chunk by chunk into a spool file.
import type { Server } from '@grpc/grpc-js';
import type { Http2Session, Http2Server, Http2SecureServer } from 'node:http2';

/** Per-stream window; the connection window is twice that so two streams can run at full speed. */
export const DEFAULT_WINDOW_BYTES = 2 << 20;
/** Larger DATA frames (HTTP/2 allows up to 16 MiB - 1): fewer frames per 1 MiB chunk. */
export const MAX_FRAME_BYTES = (1 << 20) - 1;

/** Applies the window to all current and future sessions; returns false when grpc-js internals changed. */
export function enlargeServerWindows(server: Server, windowBytes = DEFAULT_WINDOW_BYTES): boolean {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server | Http2SecureServer, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const h2 of servers.keys()) {
    h2.on('session', (session: Http2Session) => applyWindow(session, windowBytes));
  }
  return true;
}

export function applyWindow(session: Http2Session, windowBytes: number): void {
  const set = () => {
    try {
      session.setLocalWindowSize(Math.min(windowBytes * 2, 2 ** 31 - 1));
      session.settings({ initialWindowSize: Math.min(windowBytes, 2 ** 31 - 1), maxFrameSize: MAX_FRAME_BYTES });
    } catch {
      // session closing: nothing to tune
    }
  };
  if (session.connecting) session.once('connect', set);
  else set();
}
