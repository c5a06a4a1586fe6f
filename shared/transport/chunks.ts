// Splitting tensor bytes into wire chunks and reassembling them with per-chunk digests.
import { createHash, webcrypto } from 'node:crypto';
import { DIGEST_BLOCK_BYTES } from '../tensor/tensor-set.js';

/**
 * Default wire chunk: 1 MiB, one digest block (shared/tensor/tensor-set.ts), well under gRPC's
 * 4 MiB default message limit; a chunk's SHA-256 is then also its block hash.
 */
export const DEFAULT_CHUNK_BYTES = DIGEST_BLOCK_BYTES;
export const MAX_CHUNK_BYTES = 4 << 20;

export interface WireChunk {
  offset: number;
  data: Buffer;
  sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * SHA-256 on the thread pool (WebCrypto), so the event loop keeps reading the network while a
 * chunk is hashed; several chunks hash in parallel on a multi-core machine.
 */
export async function sha256HexAsync(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

function wireChunkSize(chunkBytes: number): number {
  return Math.max(4, Math.min(MAX_CHUNK_BYTES, chunkBytes - (chunkBytes % 4)));
}

/** Zero-copy views of `bytes` in wire-chunk sizes, starting at `from`, without hashes. */
export function chunkViews(bytes: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES, from = 0): { offset: number; data: Buffer }[] {
  const size = wireChunkSize(chunkBytes);
  const out: { offset: number; data: Buffer }[] = [];
  for (let off = from; off < bytes.length; off += size) {
    out.push({ offset: off, data: Buffer.from(bytes.buffer, bytes.byteOffset + off, Math.min(size, bytes.length - off)) });
  }
  return out;
}

/** Yields chunks of `bytes` starting at `from` (for resumed transfers). Zero-copy views. */
export function* chunkBytes(bytes: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES, from = 0): Generator<WireChunk> {
  const size = wireChunkSize(chunkBytes);
  for (let off = from; off < bytes.length; off += size) {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset + off, Math.min(size, bytes.length - off));
    yield { offset: off, data, sha256: sha256Hex(data) };
  }
}

export class ChunkError extends Error {
  override name = 'ChunkError';
}

/**
 * Reassembles chunks into a preallocated buffer of known size. Chunks must arrive in order
 * (offset == bytes received so far), each with a matching SHA-256; a chunk past the end is
 * refused before any byte of it is copied.
 */
export class ChunkAssembler {
  readonly bytes: Uint8Array;
  private received = 0;
  constructor(readonly totalBytes: number, target?: Uint8Array) {
    if (target && target.byteLength !== totalBytes) throw new ChunkError('target buffer has the wrong size');
    this.bytes = target ?? new Uint8Array(totalBytes);
  }
  get receivedBytes(): number {
    return this.received;
  }
  get complete(): boolean {
    return this.received === this.totalBytes;
  }
  add(chunk: { offset: number; data: Uint8Array; sha256: string }): void {
    if (chunk.offset !== this.received) {
      throw new ChunkError(`chunk at offset ${chunk.offset}, expected offset ${this.received}`);
    }
    if (chunk.offset + chunk.data.length > this.totalBytes) {
      throw new ChunkError(`chunk ends at byte ${chunk.offset + chunk.data.length}, beyond the announced ${this.totalBytes} bytes`);
    }
    if (sha256Hex(chunk.data) !== chunk.sha256) {
      throw new ChunkError(`chunk at offset ${chunk.offset}: SHA-256 mismatch`);
    }
    this.bytes.set(chunk.data, chunk.offset);
    this.received += chunk.data.length;
  }
}
