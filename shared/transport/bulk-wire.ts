// The bulk channel's wire format: an update's bytes on one plain (mutual-TLS) stream beside its gRPC
// call, without HTTP/2 framing or per-message copies. The gRPC call stays the control path: it
// carries the header, is admitted and given a slot as before, and its go-ahead hands the site a
// one-time token for this channel (response header `fl-bulk: <port> <token>`); the receipt comes
// back on the gRPC call. The same 1 MiB blocks with the same SHA-256s travel here as on gRPC, so
// the coordinator checks, spools, logs and resumes them exactly as it does chunk messages.
//
//   site -> coordinator  "FLBULK1\n" (8 bytes), token (32 bytes)
//   coordinator -> site  0x01 (accepted)  |  0x00 and a UTF-8 reason, then the end of the stream
//   site -> coordinator  per block: offset (u64 LE), length (u32 LE), SHA-256 (32 bytes), data
//                        ...then the end of the stream (FIN) after the last block.
// A download is the same the other way: the site asks for it with request header `fl-bulk-accept: 1`,
// the response headers carry the offer, the header message goes on the call, and after the token
// and 0x01 the coordinator writes the blocks from the requested offset and ends the stream; the
// call ends after them. A site that cannot open the channel cancels the call and asks again
// without `fl-bulk-accept`.
import type { Duplex } from 'node:stream';
import { MAX_CHUNK_BYTES, type WireChunk } from './chunks.js';
import { releaseBuffer } from './release-buffers.js';

export const BULK_MAGIC = Buffer.from('FLBULK1\n', 'latin1');
export const BULK_TOKEN_BYTES = 32;
export const BULK_PREAMBLE_BYTES = BULK_MAGIC.length + BULK_TOKEN_BYTES;
export const BULK_BLOCK_HEADER_BYTES = 8 + 4 + 32;
export const BULK_ACCEPTED = 0x01;
export const BULK_REFUSED = 0x00;
/** Response header of an upload's go-ahead: `<port> <token hex>` (absent: send the chunks on the gRPC call). */
export const BULK_HEADER = 'fl-bulk';
/** Request header of a download: the site can take the bytes on the bulk channel ("1"). */
export const BULK_ACCEPT_HEADER = 'fl-bulk-accept';
/** Parsed blocks that may wait for the receiver before the stream is paused (as UPLOAD_READ_AHEAD on gRPC). */
export const BULK_READ_AHEAD = 4;

export class BulkProtocolError extends Error {
  override name = 'BulkProtocolError';
}

/** A transfer's offer of the bulk channel: the port to dial and the one-time token to present. */
export interface BulkOffer {
  readonly port: number;
  readonly token: Buffer;
}

/** The go-ahead's bulk offer, or null when the header is absent or malformed. */
export function parseBulkOffer(value: string | undefined): BulkOffer | null {
  const m = /^(\d{1,5}) ([0-9a-f]{64})$/.exec(value ?? '');
  if (!m) return null;
  const port = Number(m[1]);
  return port > 0 && port < 65536 ? { port, token: Buffer.from(m[2]!, 'hex') } : null;
}

export function formatBulkOffer(port: number, token: Buffer): string {
  return `${port} ${token.toString('hex')}`;
}

export function encodeBlockHeader(offset: number, length: number, sha256Hex: string): Buffer {
  const h = Buffer.allocUnsafe(BULK_BLOCK_HEADER_BYTES);
  h.writeUInt32LE(offset % 0x1_0000_0000, 0);
  h.writeUInt32LE(Math.floor(offset / 0x1_0000_0000), 4);
  h.writeUInt32LE(length, 8);
  if (h.write(sha256Hex, 12, 32, 'hex') !== 32) throw new BulkProtocolError(`block at ${offset}: malformed SHA-256`);
  return h;
}

/**
 * Reads blocks from a bulk stream as WireChunks, each in a buffer of its own (an ArrayBuffer that
 * the receiver may move to a worker thread): one copy out of the socket's reads, nothing else. At
 * most BULK_READ_AHEAD parsed blocks wait; beyond that the socket is paused and TCP holds the
 * sender back. The iteration ends when the stream ends (a block cut short is dropped: the receiver
 * sees fewer bytes than announced, i.e. an interrupted upload) and fails on a malformed block header.
 */
export class BlockReader implements AsyncIterable<WireChunk> {
  private readonly queue: WireChunk[] = [];
  private waiter: { resolve: (r: IteratorResult<WireChunk>) => void; reject: (e: Error) => void } | null = null;
  private ended = false;
  private failure: Error | null = null;
  private readonly head = Buffer.allocUnsafe(BULK_BLOCK_HEADER_BYTES);
  private headFill = 0;
  private cur: { offset: number; sha256: string; data: Buffer; fill: number } | null = null;
  /** Bytes of block data received (progress for the caller). */
  received = 0;

  constructor(private readonly sock: Duplex, leftover?: Buffer) {
    if (leftover && leftover.length > 0) this.push(leftover);
    sock.on('data', (d: Buffer) => {
      this.push(d);
      // The read's bytes are copied into blocks (or dropped): its memory goes now, not at a collection.
      releaseBuffer(d);
    });
    sock.once('end', () => this.finish(null));
    sock.once('close', () => this.finish(null));
    sock.once('error', (e: Error) => this.finish(e));
  }

  private push(d: Buffer): void {
    if (this.failure || this.ended) return;
    let p = 0;
    while (p < d.length) {
      if (!this.cur) {
        const n = Math.min(BULK_BLOCK_HEADER_BYTES - this.headFill, d.length - p);
        d.copy(this.head, this.headFill, p, p + n);
        this.headFill += n;
        p += n;
        if (this.headFill < BULK_BLOCK_HEADER_BYTES) break;
        this.headFill = 0;
        const offset = this.head.readUInt32LE(0) + this.head.readUInt32LE(4) * 0x1_0000_0000;
        const length = this.head.readUInt32LE(8);
        if (length === 0 || length > MAX_CHUNK_BYTES || !Number.isSafeInteger(offset)) {
          this.fail(new BulkProtocolError(`bulk block at offset ${offset} announces ${length} bytes (must be 1 to ${MAX_CHUNK_BYTES})`));
          return;
        }
        // A buffer of its own (not a slice of Node's pool), so it can be transferred to a worker.
        this.cur = { offset, sha256: this.head.toString('hex', 12, 44), data: Buffer.allocUnsafeSlow(length), fill: 0 };
      } else {
        const c = this.cur;
        const n = Math.min(c.data.length - c.fill, d.length - p);
        d.copy(c.data, c.fill, p, p + n);
        c.fill += n;
        p += n;
        this.received += n;
        if (c.fill === c.data.length) {
          this.cur = null;
          this.deliver({ offset: c.offset, data: c.data, sha256: c.sha256 });
        }
      }
    }
    if (this.queue.length >= BULK_READ_AHEAD && !this.sock.isPaused()) this.sock.pause();
  }

  private deliver(chunk: WireChunk): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ done: false, value: chunk });
    } else {
      this.queue.push(chunk);
    }
  }

  private fail(e: Error): void {
    this.failure = e;
    this.queue.length = 0;
    this.sock.destroy();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(e);
    }
  }

  private finish(err: Error | null): void {
    if (this.ended || this.failure) return;
    if (err) return this.fail(err);
    this.ended = true;
    if (this.waiter && this.queue.length === 0) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ done: true, value: undefined });
    }
  }

  next(): Promise<IteratorResult<WireChunk>> {
    if (this.queue.length > 0) {
      const value = this.queue.shift()!;
      if (this.queue.length < BULK_READ_AHEAD && this.sock.isPaused() && !this.ended) this.sock.resume();
      return Promise.resolve({ done: false, value });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    if (this.sock.isPaused()) this.sock.resume();
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<WireChunk> {
    return { next: () => this.next() };
  }
}

/**
 * Writes `chunks` as bulk blocks (each chunk's bytes go to the socket as they are: no copy on a
 * plain socket; TLS encrypts from them), waiting for 'drain' when the socket's buffer is full, then
 * ends the stream and resolves once everything was handed to the kernel. `each` runs before a
 * chunk is written (the site's outbound privacy guard).
 */
export async function writeBlocks(sock: Duplex, chunks: Iterator<WireChunk>, each?: (c: WireChunk) => void): Promise<void> {
  const failed = new Promise<never>((_, reject) => {
    sock.once('error', reject);
    sock.once('close', () => reject(new Error('bulk stream closed by the coordinator')));
  });
  failed.catch(() => undefined);
  for (let next = chunks.next(); !next.done; next = chunks.next()) {
    const c = next.value;
    each?.(c);
    sock.cork();
    sock.write(encodeBlockHeader(c.offset, c.data.length, c.sha256));
    const ok = sock.write(c.data);
    sock.uncork();
    if (!ok) await Promise.race([new Promise((r) => sock.once('drain', r)), failed]);
  }
  await Promise.race([new Promise<void>((resolve) => sock.end(resolve)), failed]);
}
