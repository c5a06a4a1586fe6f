// Receiving one update upload: header first, then chunks streamed straight to a spool file
// while the digest and finiteness are checked incrementally. Memory is O(chunk), never
// O(model); nothing reaches the round until the whole update has been verified.
import { open, rm, mkdir, readFile, writeFile, truncate, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { UploadPart, UpdateHeader } from '../shared/protocol/index.js';
import { TensorSetHasher, specMismatch, totalElements, DIGEST_BLOCK_BYTES, type TensorInfo } from '../shared/tensor/tensor-set.js';
import { MAX_CHUNK_BYTES } from '../shared/transport/chunks.js';
import { uploadBlockPool } from '../shared/transport/block-pool.js';
import type { BlockResult } from '../shared/transport/block-check.js';
import { encodeTensorFileHeader, decodeTensorFileHeader, tensorFileDigest } from '../shared/tensor/file.js';
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
}

/** Chunks of one upload being hashed and written at the same time (bounded memory: 4 MiB). */
export const UPLOAD_PIPELINE = 4;

interface InFlight {
  readonly offset: number;
  readonly sha256: string;
  /** Check and write of the chunk (block pool): resolves once it is checked and written, or with the problem. */
  readonly done: Promise<BlockResult>;
  readonly logBlock: boolean;
}

export interface ReceiveOptions {
  /**
   * The chunks' buffers belong to this upload alone (grpc-js decodes every message into a buffer of
   * its own): a chunk that is the whole of its buffer is moved to a worker thread instead of copied,
   * and reads as empty afterwards. Leave it off when the chunks are views the caller still uses.
   */
  readonly transferChunks?: boolean;
}

/**
 * Reads an upload stream. `admit` validates the header against the round (throws a RejectError
 * otherwise). Returns the verified update spooled at `admission.spoolPath`.
 */
export async function receiveUpload(
  messages: AsyncIterable<UploadPart>,
  admit: (header: UpdateHeader) => Admission | Promise<Admission>,
  opts: ReceiveOptions = {},
): Promise<{ admission: Admission; update: ReceivedUpdate }> {
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
  const hasher = new TensorSetHasher(infos);
  let received = 0;
  let blockAligned = true;
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
    if (f.logBlock) await blockLog.write(`${f.sha256}\n`);
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
      // The chunk's buffer moves to the worker (a message buffer of its own from grpc-js): c.data is not used after this.
      const done = pool.run({ data: c.data, sha256: c.sha256, finite: !admission.masked, fd: fh.fd, position: pos }, transferChunks);
      outstanding.add(done);
      const f: InFlight = { offset: c.offset, sha256: c.sha256, done, logBlock: isBlock && length === DIGEST_BLOCK_BYTES };
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
    return { admission, update: { header, infos, digest, path: admission.spoolPath, bytes: received } };
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

/** What an interrupted upload left: verified bytes (whole blocks) and their hashes; null when none. */
export async function partialState(spoolPath: string, expectedHead?: Buffer): Promise<{ bytes: number; hashes: string[]; site: string | null } | null> {
  const partial = `${spoolPath}.partial`;
  let data: Buffer;
  let hashesText: string;
  try {
    [data, hashesText] = await Promise.all([readFile(partial), readFile(`${spoolPath}.blocks`, 'utf8')]);
  } catch {
    return null;
  }
  let parsed;
  try {
    parsed = decodeTensorFileHeader(data, partial);
  } catch {
    return null;
  }
  const aligned = parsed.dataOffset;
  if (expectedHead && (aligned !== expectedHead.length || !data.subarray(0, aligned).equals(expectedHead))) return null;
  const hashes = hashesText.split('\n').filter((h) => /^[0-9a-f]{64}$/.test(h));
  const bytes = Math.min(hashes.length, Math.floor((data.length - aligned) / DIGEST_BLOCK_BYTES)) * DIGEST_BLOCK_BYTES;
  const meta = parsed.header.meta as { site?: unknown } | undefined;
  const site = typeof meta?.site === 'string' ? meta.site : null;
  return { bytes, hashes: hashes.slice(0, bytes / DIGEST_BLOCK_BYTES), site };
}
