// The per-byte work of receiving one wire chunk, written once for the worker threads
// (block-worker.ts) and the in-process fallback (block-pool.ts): refuse non-finite float32 values,
// check the chunk's SHA-256, and only then write it at its offset in the spool file.
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { cellSumsOfSquares } from '../aggregate/norms.js';

/**
 * Index of the first non-finite float32 in raw little-endian bytes, or -1. A float32 is NaN or
 * ±Infinity exactly when its 8 exponent bits are all ones, so the check reads the words as
 * integers (no float conversion), four per step; unaligned bytes are first copied into `scratch`
 * (at least bytes.length / 4 words).
 */
export function firstNonFinite(bytes: Uint8Array, scratch: Uint32Array): number {
  const { buffer, byteOffset, n } = alignedWords(bytes, scratch);
  const w = new Uint32Array(buffer, byteOffset, n);
  const E = 0x7f800000;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    if (((w[i]! & E) === E) || ((w[i + 1]! & E) === E) || ((w[i + 2]! & E) === E) || ((w[i + 3]! & E) === E)) break;
  }
  for (; i < n; i++) if ((w[i]! & E) === E) return i;
  return -1;
}

export interface BlockJob {
  /** The chunk's bytes. */
  readonly data: Uint8Array;
  /** The SHA-256 (hex) the sender announced for them. */
  readonly sha256: string;
  /** Refuse non-finite float32 values (false for masked ring bytes, where any bit pattern is valid). */
  readonly finite: boolean;
  /** Spool file descriptor and byte position to write the chunk at once it checks out; fd < 0: no write. */
  readonly fd: number;
  readonly position: number;
  /**
   * Also return the sums of squares of the chunk's cells (norms.ts grid; the chunk must start a
   * cell). They double as the finiteness check: a cell's sum is finite exactly when its values are
   * (a float32 squared cannot overflow a float64).
   */
  readonly cells?: boolean;
}

/** `ok`: hashed, matched, written. Otherwise the first problem found (nothing was written). */
export type BlockResult =
  | { readonly kind: 'ok'; readonly cells?: number[] }
  | { readonly kind: 'non-finite'; readonly index: number }
  | { readonly kind: 'sha-mismatch'; readonly actual: string }
  | { readonly kind: 'io'; readonly code: string; readonly message: string };

/** Checks one chunk and writes it; synchronous (run it on a worker thread, or accept the blocking). */
export function checkAndWrite(job: BlockJob, scratch: Uint32Array): BlockResult {
  let cells: number[] | undefined;
  if (job.finite) {
    if (job.cells) {
      const { buffer, byteOffset, n } = alignedWords(job.data, scratch);
      cells = cellSumsOfSquares(new Float32Array(buffer, byteOffset, n));
    }
    // With cell sums, only a chunk with a non-finite cell is searched for the element to name.
    if (!cells || !cells.every(Number.isFinite)) {
      const bad = firstNonFinite(job.data, scratch);
      if (bad >= 0) return { kind: 'non-finite', index: bad };
    }
  }
  const actual = createHash('sha256').update(job.data).digest('hex');
  if (actual !== job.sha256) return { kind: 'sha-mismatch', actual };
  if (job.fd < 0) return cells ? { kind: 'ok', cells } : { kind: 'ok' };
  try {
    let done = 0;
    while (done < job.data.length) {
      const n = writeSync(job.fd, job.data, done, job.data.length - done, job.position + done);
      if (n <= 0) return { kind: 'io', code: 'EIO', message: `write returned ${n} at byte ${job.position + done}` };
      done += n;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { kind: 'io', code: typeof e.code === 'string' ? e.code : 'EIO', message: e.message };
  }
  return cells ? { kind: 'ok', cells } : { kind: 'ok' };
}

/**
 * Where the bytes' n = length / 4 little-endian words can be viewed at a 4-aligned offset: the bytes
 * themselves when they are aligned (no copy), else a copy of them at the start of `scratch`.
 */
function alignedWords(bytes: Uint8Array, scratch: Uint32Array): { buffer: ArrayBufferLike; byteOffset: number; n: number } {
  const n = bytes.length >> 2;
  if (bytes.byteOffset % 4 === 0) return { buffer: bytes.buffer, byteOffset: bytes.byteOffset, n };
  if (scratch.length < n) throw new RangeError(`block check: scratch of ${scratch.length} words for ${n}`);
  new Uint8Array(scratch.buffer, scratch.byteOffset, n * 4).set(bytes.subarray(0, n * 4));
  return { buffer: scratch.buffer, byteOffset: scratch.byteOffset, n };
}
