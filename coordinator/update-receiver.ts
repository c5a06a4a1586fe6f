// Receiving one update upload: header first, then chunks streamed straight to a spool file
// while the digest and finiteness are checked incrementally. Memory is O(chunk), never
// O(model); nothing reaches the round until the whole update has been verified.
import { open, rm, mkdir, readFile, writeFile, truncate, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeSync } from 'node:fs';
import type { UploadPart, UpdateHeader } from '../shared/protocol/index.js';
import { TensorSetHasher, specMismatch, totalElements, DIGEST_BLOCK_BYTES, type TensorInfo } from '../shared/tensor/tensor-set.js';
import { MAX_CHUNK_BYTES } from '../shared/transport/chunks.js';
import { uploadBlockPool } from '../shared/transport/block-pool.js';
import type { BlockResult } from '../shared/transport/block-check.js';
import { NORM_CELL_ELEMS, foldCellSums } from '../shared/aggregate/norms.js';
import { encodeTensorFileHeader, decodeTensorFileHeader, tensorFileDigest, TENSOR_FILE_MAGIC } from '../shared/tensor/file.js';
import { commitFile, writeError } from '../shared/util/atomic-write.js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { invalid, precondition, RejectError } from './errors.js';

/** What the round engine says about an announced update before any byte is read. */
export interface Admission {
  readonly round: number;
  readonly model: string;
  readonly site: string;
  readonly spec: readonly TensorInfo[];
  readonly spoolPath: string;
  /** Secure aggregation (issue 17): the update is a masked ring vector (any bit pattern), not floats. */
  readonly masked?: boolean;
}

export interface ReceivedUpdate {
  readonly header: UpdateHeader;
  readonly infos: TensorInfo[];
  readonly digest: string;
  readonly path: string;
  readonly bytes: number;
  /**
   * Sum of squares of the update's values (grid of shared/aggregate/norms.ts), summed by the check
   * threads from the bytes they verified and wrote: the norm-outlier pass then does not read the
   * spooled update again. Absent for masked updates, resumed uploads (blocks an earlier connection
   * delivered were not summed here) and chunks off the grid.
   */
  readonly sumOfSquares?: number;
}

/** Bytes of one cell of the norms' summation grid. */
const CELL_BYTES = NORM_CELL_ELEMS * 4;

/** Blocks between the background flushes of an upload's spool file (see receiveUpload). */
export const SYNC_EVERY_BLOCKS = 16;

/** Chunks of one upload being hashed and written at the same time (bounded memory: 4 MiB). */
export const UPLOAD_PIPELINE = 4;

interface InFlight {
  readonly offset: number;
  /** Cell sums asked for (the chunk starts a cell of the norms' grid). */
  readonly cells: boolean;
  readonly sha256: string;
  /** Check and write of the chunk (block pool): resolves once it is checked and written, or with the problem. */
  readonly done: Promise<BlockResult>;
  readonly logBlock: boolean;
}

/**
 * A received upload: the verified update, or - for one stream of a multi-range upload whose last
 * block another stream delivered - null (its range is verified and spooled; that other stream
 * returns the update).
 */
export interface Received {
  readonly admission: Admission;
  readonly update: ReceivedUpdate | null;
}

export interface ReceiveOptions {
  /**
   * The chunks' buffers belong to this upload alone (grpc-js decodes every message into a buffer of
   * its own): a chunk that is the whole of its buffer is moved to a worker thread instead of copied,
   * and reads as empty afterwards. Leave it off when the chunks are views the caller still uses.
   */
  readonly transferChunks?: boolean;
  /**
   * Multi-range uploads are offered (the go-ahead announced them): a header with range_end > 0 is
   * one stream of several carrying the update's blocks in [resume_offset, range_end). Without it
   * range_end is ignored and the stream carries everything from resume_offset on.
   */
  readonly ranges?: boolean;
}

/**
 * Reads an upload stream. `admit` validates the header against the round (throws a RejectError
 * otherwise). Returns the verified update spooled at `admission.spoolPath`.
 */
export async function receiveUpload(
  messages: AsyncIterable<UploadPart>,
  admit: (header: UpdateHeader) => Admission | Promise<Admission>,
  opts: ReceiveOptions = {},
): Promise<Received> {
  const transferChunks = opts.transferChunks ?? false;
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.type !== 'header') {
    throw invalid('upload must start with an update header');
  }
  const header = first.value.header;
  const admission = await admit(header);
  const who = `site "${admission.site}", model "${admission.model}", round ${admission.round}`;
  const infos = [...header.tensors];
  const mismatch = specMismatch(admission.spec, infos);
  if (mismatch) throw invalid(`${who}: update does not match the model spec: ${mismatch}`);
  const total = totalElements(infos) * 4;
  if (header.totalBytes !== total) {
    throw invalid(`${who}: total_bytes ${header.totalBytes} does not match the spec (${total} bytes)`);
  }
  if (!(header.numExamples > 0)) throw invalid(`${who}: num_examples must be positive`);
  if (!/^[0-9a-f]{64}$/.test(header.digest)) throw invalid(`${who}: digest must be 64 hex characters`);

  await mkdir(dirname(admission.spoolPath), { recursive: true });
  // The upload is spooled to `<spool>.partial` with the verified chunk hashes in `<spool>.blocks`,
  // both kept when the connection drops, so a retry with the same update_id resumes from the last
  // verified 1 MiB block (UploadStatus tells the site where). A refused update leaves nothing.
  const partial = `${admission.spoolPath}.partial`;
  const blocksPath = `${admission.spoolPath}.blocks`;
  const head = encodeTensorFileHeader({ infos, digest: header.digest, meta: {
    site: admission.site, model: admission.model, round: admission.round,
    num_examples: header.numExamples, update_id: header.updateId, model_version: header.modelVersion,
  } });
  if (opts.ranges && (header.rangeEnd ?? 0) > 0) return receiveRange(it, header, admission, infos, head, total, who, transferChunks);
  const hasher = new TensorSetHasher(infos);
  let received = 0;
  let blockAligned = true;
  // The norms' cell sums, filled as chunks settle (null once unknown: see ReceivedUpdate.sumOfSquares).
  let cellSums: Float64Array | null = !admission.masked && header.resumeOffset === 0 ? new Float64Array(Math.ceil(total / CELL_BYTES)) : null;
  let blocks: string[] = [];
  const resumeFrom = header.resumeOffset;
  if (resumeFrom > 0) {
    const have = await partialState(admission.spoolPath, head);
    if (resumeFrom % DIGEST_BLOCK_BYTES !== 0 || have === null || resumeFrom > have.bytes) {
      throw precondition(`${who}: cannot resume update ${header.updateId} at byte ${resumeFrom} (the coordinator holds ${have?.bytes ?? 0}); start again at 0`);
    }
    blocks = have.hashes.slice(0, resumeFrom / DIGEST_BLOCK_BYTES);
    for (const h of blocks) hasher.addBlockHash(h, DIGEST_BLOCK_BYTES);
    received = resumeFrom;
    await truncate(partial, head.length + resumeFrom);
    await writeFile(blocksPath, blocks.map((h) => `${h}\n`).join(''));
  } else {
    await writeFile(partial, head);
    await writeFile(blocksPath, '');
  }
  const fh = await open(partial, 'r+');
  const blockLog = await open(blocksPath, 'a');
  let ok = false;
  let refused = false;
  let interrupted: RejectError | null = null;
  // Pipeline: up to UPLOAD_PIPELINE chunks are in flight at once. Each is checked (finite values,
  // its SHA-256) and written at its offset by a worker thread of the block pool, which gets the
  // chunk's own message buffer by transfer (no copy, nothing of it on the event loop); nothing is
  // written unless it checked out. They complete in order, and a block is logged as verified only
  // when it is checked and written. Each chunk settles as soon as it is done (not when the next one
  // arrives), so a stalled connection leaves every whole block it delivered verified and logged
  // for a resume.
  const pool = uploadBlockPool();
  const outstanding = new Set<Promise<unknown>>();
  const window: Promise<void>[] = [];
  let chain: Promise<void> = Promise.resolve();
  const settle = async (f: InFlight): Promise<void> => {
    const r = await f.done;
    outstanding.delete(f.done);
    if (r.kind === 'non-finite') throw invalid(`${who}: non-finite value at element ${(f.offset >> 2) + r.index}`);
    if (r.kind === 'sha-mismatch') throw invalid(`${who}: chunk at offset ${f.offset} (block ${Math.floor(f.offset / DIGEST_BLOCK_BYTES)}) fails its SHA-256 check`);
    if (r.kind === 'io') throw Object.assign(new Error(`writing ${partial} at data byte ${f.offset}: ${r.message}`), { code: r.code });
    if (cellSums) {
      if (r.cells && f.cells) cellSums.set(r.cells, f.offset / CELL_BYTES);
      else cellSums = null;
    }
    // A 65-byte append, written at once (a write on the thread pool would queue behind the spool
    // files' flushes, and cost more than the write itself).
    if (f.logBlock) writeSync(blockLog.fd, `${f.sha256}\n`);
    // Flush as the upload goes (on the thread pool, not awaited here): the fsync before the
    // update is accepted then has only the last few blocks to write, instead of the whole update.
    if (f.logBlock && (f.offset / DIGEST_BLOCK_BYTES + 1) % SYNC_EVERY_BLOCKS === 0) {
      const p = fh.datasync().catch(() => undefined); // a failure shows again in the final fsync
      outstanding.add(p);
      void p.then(() => outstanding.delete(p));
    }
  };
  try {
    let pos = head.length + received;
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      const part = next.value;
      if (part.type !== 'chunk') throw invalid(`${who}: unexpected ${part.type} message after the header`);
      const c = part.chunk;
      const length = c.data.length;
      if (c.offset !== received) throw invalid(`${who}: chunk at offset ${c.offset}, expected ${received}`);
      if (length === 0 || length > MAX_CHUNK_BYTES || length % 4 !== 0) {
        throw invalid(`${who}: chunk at offset ${c.offset} has ${length} bytes (must be a positive multiple of 4, at most ${MAX_CHUNK_BYTES})`);
      }
      if (received + length > total) throw invalid(`${who}: more data than the announced ${total} bytes`);
      if (!/^[0-9a-f]{64}$/.test(c.sha256)) throw invalid(`${who}: chunk at offset ${c.offset} has a malformed SHA-256`);
      // A verified 1 MiB block-aligned chunk's SHA-256 is its digest block hash: no second pass.
      const isBlock = blockAligned && (length === DIGEST_BLOCK_BYTES || received + length === total);
      if (isBlock) hasher.addBlockHash(c.sha256, length);
      else {
        blockAligned = false;
        hasher.update(c.data); // before the pool takes the bytes
      }
      // Cell sums for a chunk that starts a cell and ends one (or the update).
      const cells = cellSums !== null && c.offset % CELL_BYTES === 0 && (length % CELL_BYTES === 0 || received + length === total);
      if (!cells) cellSums = null;
      // The chunk's buffer moves to the worker (a message buffer of its own from grpc-js): c.data is not used after this.
      const done = pool.run({ data: c.data, sha256: c.sha256, finite: !admission.masked, fd: fh.fd, position: pos, cells }, transferChunks);
      outstanding.add(done);
      const f: InFlight = { offset: c.offset, cells, sha256: c.sha256, done, logBlock: isBlock && length === DIGEST_BLOCK_BYTES };
      chain = chain.then(() => settle(f));
      chain.catch(() => undefined); // observed through `window` and the final await
      window.push(chain);
      pos += length;
      received += length;
      if (window.length >= UPLOAD_PIPELINE) await window.shift();
    }
    await chain;
    if (received !== total) {
      // A stream that ends early is an interrupted transfer (a dropped connection can surface as
      // an end rather than an error): keep the verified blocks so the site can resume.
      interrupted = new RejectError(grpcStatus.ABORTED, `${who}: upload ended after ${received} of ${total} bytes; resume it at byte ${received - (received % DIGEST_BLOCK_BYTES)}`);
      throw interrupted;
    }
    const digest = hasher.digest();
    if (digest !== header.digest) throw invalid(`${who}: digest mismatch (announced ${header.digest}, content ${digest})`);
    await fh.sync();
    ok = true;
    return { admission, update: { header, infos, digest, path: admission.spoolPath, bytes: received, ...(cellSums ? { sumOfSquares: foldCellSums(cellSums) } : {}) } };
  } catch (err) {
    // A refused update leaves nothing; a stream that broke or went quiet keeps its verified
    // blocks for a resume (the round engine removes what is still there when the round closes).
    refused = err instanceof RejectError && err !== interrupted && err.code !== grpcStatus.DEADLINE_EXCEEDED;
    // A file-system error (ENOSPC, EIO) names the spool file it concerns.
    if (!(err instanceof RejectError) && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code!)) throw writeError(partial, err);
    throw err;
  } finally {
    // Nothing may still be writing when the files are closed (or removed).
    await Promise.allSettled([chain, ...outstanding]);
    await fh.close();
    await blockLog.close();
    if (ok) {
      // What is renamed into place must be what was verified. Every byte of this upload was hashed
      // (and checked against its chunk's SHA-256) from the very buffer that was then written, each
      // write completed in full (block-check.ts) before its block counted, and the file was fsync'ed:
      // so the digest of what this process wrote is known without reading it back. A read-back
      // right after the writes would come from the page cache, not the disk, so it would catch no
      // media error either; what it did catch - a file shorter than written (a full disk) - the
      // size check below catches. The exception is a resumed upload: its first blocks were written
      // by an earlier connection (possibly an earlier coordinator process, before a crash whose
      // page cache may not have reached the disk while the block log did), so that file is read
      // back and its content digest verified from disk before the rename.
      const expectBytes = head.length + total;
      await commitFile(partial, admission.spoolPath, async (tmp) => {
        const size = await stat(tmp).then((s) => s.size, (e: Error) => e);
        if (size instanceof Error) return size.message;
        if (size !== expectBytes) return `${size} bytes on disk, ${expectBytes} written`;
        if (resumeFrom === 0) return null;
        // Layout (size for the header's tensors) and content, streamed in 1 MiB blocks hashed off
        // the event loop (not the whole update in memory); a short or unreadable file is its error.
        const found = await tensorFileDigest(tmp).catch((e: Error) => e);
        if (found instanceof Error) return found.message;
        if (found.header !== header.digest) return `header digest ${found.header.slice(0, 16)}…, announced ${header.digest.slice(0, 16)}…`;
        return found.digest === header.digest ? null : `content digest ${found.digest.slice(0, 16)}…, announced ${header.digest.slice(0, 16)}…`;
      });
      await rm(blocksPath, { force: true });
    } else if (refused) {
      await rm(partial, { force: true });
      await rm(blocksPath, { force: true });
    }
  }
}

/** What an interrupted upload left: see partialState. */
export interface PartialState {
  /** Verified bytes from the start (whole blocks): where a single-stream upload resumes. */
  readonly bytes: number;
  /** The hashes of those leading blocks. */
  readonly hashes: string[];
  /** Every verified block present in the file (index -> SHA-256), in or out of order (multi-range uploads). */
  readonly blocks: ReadonlyMap<number, string>;
  readonly site: string | null;
}

/**
 * What an interrupted upload left: verified blocks and their hashes; null when nothing usable. The
 * block log has one line per verified block, `<sha256>` (the next block of a single stream) or
 * `<index> <sha256>` (a block of a multi-range upload); a block counts only when the file holds it.
 */
export async function partialState(spoolPath: string, expectedHead?: Buffer): Promise<PartialState | null> {
  const partial = `${spoolPath}.partial`;
  let head: Buffer;
  let size: number;
  let hashesText: string;
  try {
    hashesText = await readFile(`${spoolPath}.blocks`, 'utf8');
    const fh = await open(partial, 'r');
    try {
      size = (await fh.stat()).size;
      const pre = Buffer.alloc(12);
      await fh.read(pre, 0, 12, 0);
      const len = pre.toString('latin1', 0, 8) === TENSOR_FILE_MAGIC ? Math.min(pre.readUInt32LE(8), 1 << 24, Math.max(0, size - 12)) : 0;
      head = Buffer.alloc(12 + len);
      await fh.read(head, 0, head.length, 0);
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
  let parsed;
  try {
    parsed = decodeTensorFileHeader(head, partial);
  } catch {
    return null;
  }
  const aligned = parsed.dataOffset;
  if (expectedHead && (aligned !== expectedHead.length || !head.subarray(0, Math.min(head.length, aligned)).equals(expectedHead.subarray(0, Math.min(head.length, aligned))))) return null;
  let total: number;
  try {
    total = totalElements(parsed.header.infos) * 4;
  } catch {
    return null;
  }
  const blocks = new Map<number, string>();
  let next = 0;
  for (const line of hashesText.split('\n')) {
    let m: RegExpExecArray | null;
    if (/^[0-9a-f]{64}$/.test(line)) blocks.set(next++, line);
    else if ((m = /^(\d{1,9}) ([0-9a-f]{64})$/.exec(line))) blocks.set(Number(m[1]), m[2]!);
  }
  for (const i of [...blocks.keys()]) {
    const end = Math.min((i + 1) * DIGEST_BLOCK_BYTES, total);
    if (i * DIGEST_BLOCK_BYTES >= total || aligned + end > size) blocks.delete(i);
  }
  const hashes: string[] = [];
  // Leading whole blocks only (a resumed single stream continues at a block boundary).
  while (blocks.has(hashes.length) && (hashes.length + 1) * DIGEST_BLOCK_BYTES <= total) hashes.push(blocks.get(hashes.length)!);
  const meta = parsed.header.meta as { site?: unknown } | undefined;
  const site = typeof meta?.site === 'string' ? meta.site : null;
  return { bytes: hashes.length * DIGEST_BLOCK_BYTES, hashes, blocks, site };
}

// ---- multi-range uploads ----

/** The shared state of the streams of one multi-range upload (by spool path). */
interface RangeTransfer {
  readonly head: Buffer;
  readonly fh: FileHandle;
  readonly log: FileHandle;
  /** Verified block hashes (null: not yet). */
  readonly hashes: (string | null)[];
  remaining: number;
  /** Blocks verified by an earlier connection (or process): the spooled file is read back before its rename. */
  readonly resumed: boolean;
  /** Streams attached; `closed` once the last one left (a stream that finds it closed opens the files again). */
  refs: number;
  closed: boolean;
  /** A refusal of the update: every stream ends with it and the files go when the last one detaches. */
  failure: Error | null;
  /** The stream whose block completed the update: it verifies the digest and returns the update. */
  finisher: object | null;
  /** The norms' cell sums of the blocks verified here (null when some block was not summed here). */
  cells: Float64Array | null;
}

const rangeTransfers = new Map<string, Promise<RangeTransfer>>();

async function openRangeTransfer(spoolPath: string, head: Buffer, total: number): Promise<RangeTransfer> {
  const partial = `${spoolPath}.partial`;
  const blocksPath = `${spoolPath}.blocks`;
  const count = Math.ceil(total / DIGEST_BLOCK_BYTES);
  const hashes: (string | null)[] = new Array<string | null>(count).fill(null);
  const have = await partialState(spoolPath, head);
  if (have) for (const [i, h] of have.blocks) if (i < count) hashes[i] = h;
  const kept = hashes.filter((h) => h !== null).length;
  if (kept === 0) {
    await writeFile(partial, head);
    await writeFile(blocksPath, '');
  }
  const fh = await open(partial, 'r+');
  const log = await open(blocksPath, 'a').catch(async (e: unknown) => {
    await fh.close();
    throw e;
  });
  return { head, fh, log, hashes, remaining: count - kept, resumed: kept > 0, refs: 0, closed: false, failure: null, finisher: null, cells: kept > 0 ? null : new Float64Array(Math.ceil(total / CELL_BYTES)) };
}

/**
 * One stream of a multi-range upload: blocks in [header.resumeOffset, header.rangeEnd), whole 1 MiB
 * blocks (the last one of the update may be shorter) in increasing order; blocks already verified
 * (by another stream or an earlier connection) may be left out or are skipped. Each block is
 * checked and written at its offset by the block pool, then logged as `<index> <sha256>`. The
 * stream that verifies the update's last block checks the digest over all block hashes, fsyncs and
 * commits the spool file and returns the update; the others return null once their range is in.
 */
async function receiveRange(
  it: AsyncIterator<UploadPart>, header: UpdateHeader, admission: Admission, infos: TensorInfo[], head: Buffer, total: number, who: string,
  transferChunks: boolean,
): Promise<Received> {
  const B = DIGEST_BLOCK_BYTES;
  const start = header.resumeOffset;
  const end = header.rangeEnd ?? 0;
  if (start % B !== 0 || start >= end || end > total || (end % B !== 0 && end !== total)) {
    throw invalid(`${who}: range [${start}, ${end}) of update ${header.updateId} must lie within its ${total} bytes on ${B}-byte block boundaries`);
  }
  const path = admission.spoolPath;
  const partial = `${path}.partial`;
  let t: RangeTransfer;
  for (;;) {
    let entry = rangeTransfers.get(path);
    if (!entry) {
      entry = openRangeTransfer(path, head, total);
      rangeTransfers.set(path, entry);
      const mine = entry;
      entry.catch(() => {
        if (rangeTransfers.get(path) === mine) rangeTransfers.delete(path);
      });
    }
    t = await entry.catch((err: NodeJS.ErrnoException) => {
      throw typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code) ? writeError(partial, err) : err;
    });
    if (!t.closed) break; // else: its last stream left while this one waited; open it again
  }
  if (!t.head.equals(head)) throw invalid(`${who}: a range stream of update ${header.updateId} announces another header than the streams already running; send the same header on every stream`);
  t.refs++;
  const me = {};
  const pool = uploadBlockPool();
  const outstanding = new Set<Promise<unknown>>();
  const window: Promise<void>[] = [];
  let chain: Promise<void> = Promise.resolve();
  let ok = false;
  let interrupted: RejectError | null = null;
  const settle = async (i: number, sha256: string, done: Promise<BlockResult>): Promise<void> => {
    const r = await done;
    outstanding.delete(done);
    if (r.kind === 'non-finite') throw invalid(`${who}: non-finite value at element ${i * (B >> 2) + r.index} (block ${i})`);
    if (r.kind === 'sha-mismatch') throw invalid(`${who}: block ${i} (offset ${i * B}) fails its SHA-256 check`);
    if (r.kind === 'io') throw Object.assign(new Error(`writing ${partial} at data byte ${i * B}: ${r.message}`), { code: r.code });
    if (t.hashes[i] !== null) return; // the same block came twice (overlapping ranges): counted once
    if (t.cells) {
      if (r.cells) t.cells.set(r.cells, (i * B) / CELL_BYTES);
      else t.cells = null;
    }
    t.hashes[i] = sha256;
    if (--t.remaining === 0) t.finisher = me;
    writeSync(t.log.fd, `${i} ${sha256}\n`); // as in receiveUpload: a short append, at once
  };
  try {
    let min = start;
    for (;;) {
      const next = await it.next();
      if (t.failure) throw t.failure;
      if (next.done) break;
      const part = next.value;
      if (part.type !== 'chunk') throw invalid(`${who}: unexpected ${part.type} message after the header`);
      const c = part.chunk;
      const length = c.data.length;
      const i = Math.floor(c.offset / B);
      if (c.offset % B !== 0 || c.offset < min || c.offset >= end) {
        throw invalid(`${who}: chunk at offset ${c.offset} of a range stream must start a block in [${min}, ${end}) (blocks in increasing order)`);
      }
      if (length !== Math.min(B, total - c.offset)) throw invalid(`${who}: block ${i} has ${length} bytes, expected ${Math.min(B, total - c.offset)} (range streams send whole blocks)`);
      if (!/^[0-9a-f]{64}$/.test(c.sha256)) throw invalid(`${who}: block ${i} has a malformed SHA-256`);
      min = c.offset + length;
      if (t.hashes[i] !== null) continue; // verified already: nothing to check or write
      const done = pool.run({ data: c.data, sha256: c.sha256, finite: !admission.masked, fd: t.fh.fd, position: head.length + c.offset, cells: !admission.masked && t.cells !== null }, transferChunks);
      outstanding.add(done);
      chain = chain.then(() => settle(i, c.sha256, done));
      chain.catch(() => undefined);
      window.push(chain);
      if (window.length >= UPLOAD_PIPELINE) await window.shift();
    }
    await chain;
    if (t.failure) throw t.failure;
    const missing = t.hashes.findIndex((h, k) => h === null && k * B >= start && k * B < end);
    if (missing >= 0) {
      interrupted = new RejectError(grpcStatus.ABORTED, `${who}: range [${start}, ${end}) of update ${header.updateId} ended with block ${missing} missing; send the range again (verified blocks are kept)`);
      throw interrupted;
    }
    if (t.finisher !== me) return { admission, update: null };
    const hasher = new TensorSetHasher(infos);
    t.hashes.forEach((h, k) => hasher.addBlockHash(h!, Math.min(B, total - k * B)));
    const digest = hasher.digest();
    if (digest !== header.digest) throw invalid(`${who}: digest mismatch (announced ${header.digest}, content ${digest})`);
    await t.fh.sync();
    ok = true;
    return { admission, update: { header, infos, digest, path, bytes: total, ...(t.cells ? { sumOfSquares: foldCellSums(t.cells) } : {}) } };
  } catch (err) {
    const refused = err instanceof RejectError && err !== interrupted && err.code !== grpcStatus.DEADLINE_EXCEEDED;
    if (refused && !t.failure) t.failure = err;
    if (!(err instanceof RejectError) && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code!)) throw writeError(partial, err);
    throw err;
  } finally {
    await Promise.allSettled([chain, ...outstanding]);
    if (ok) {
      // As for a single stream (see receiveUpload): every block was hashed from the buffer that was
      // written; the size is checked; blocks an earlier connection wrote are verified from disk.
      const expectBytes = head.length + total;
      try {
        await commitFile(partial, path, async (tmp) => {
          const size = await stat(tmp).then((st) => st.size, (e: Error) => e);
          if (size instanceof Error) return size.message;
          if (size !== expectBytes) return `${size} bytes on disk, ${expectBytes} written`;
          if (!t.resumed) return null;
          const found = await tensorFileDigest(tmp).catch((e: Error) => e);
          if (found instanceof Error) return found.message;
          return found.digest === header.digest ? null : `content digest ${found.digest.slice(0, 16)}…, announced ${header.digest.slice(0, 16)}…`;
        });
      } finally {
        await rm(`${path}.blocks`, { force: true });
        await detach(t, path, partial);
      }
    } else {
      await detach(t, path, partial);
    }
  }
}

/** A stream leaves its multi-range transfer; the last one closes the files (and removes them after a refusal). */
async function detach(t: RangeTransfer, path: string, partial: string): Promise<void> {
  if (--t.refs > 0) return;
  t.closed = true; // synchronously with the map entry's removal: no stream attaches to closed files
  rangeTransfers.delete(path);
  await t.fh.close().catch(() => undefined);
  await t.log.close().catch(() => undefined);
  if (t.failure) {
    await rm(partial, { force: true });
    await rm(`${path}.blocks`, { force: true });
  }
}
