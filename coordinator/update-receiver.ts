// Receiving one update upload: header first, then chunks streamed straight to a spool file
// while the digest and finiteness are checked incrementally. Memory is O(chunk), never
// O(model); nothing reaches the round until the whole update has been verified.
import { open, rename, rm, mkdir, readFile, writeFile, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { UploadPart, UpdateHeader } from '../shared/protocol/index.js';
import { TensorSetHasher, specMismatch, totalElements, DIGEST_BLOCK_BYTES, type TensorInfo } from '../shared/tensor/tensor-set.js';
import { sha256Hex, MAX_CHUNK_BYTES } from '../shared/transport/chunks.js';
import { fsyncDir, encodeTensorFileHeader, decodeTensorFileHeader } from '../shared/tensor/file.js';
import { status } from '@grpc/grpc-js';
import { invalid, precondition, RejectError } from './errors.js';

/** What the round engine says about an announced update before any byte is read. */
export interface Admission {
  readonly round: number;
  readonly model: string;
  readonly site: string;
  readonly spec: readonly TensorInfo[];
  readonly spoolPath: string;
}

export interface ReceivedUpdate {
  readonly header: UpdateHeader;
  readonly infos: TensorInfo[];
  readonly digest: string;
  readonly path: string;
  readonly bytes: number;
}

/** Finite check over raw little-endian float32 bytes (copied into an aligned scratch view). */
function firstNonFinite(bytes: Uint8Array, scratch: Float32Array): number {
  const n = bytes.length >> 2;
  const view = new Uint8Array(scratch.buffer, 0, n * 4);
  view.set(bytes.subarray(0, n * 4));
  for (let i = 0; i < n; i++) {
    const v = scratch[i]!;
    if (v - v !== 0) return i; // NaN and ±Infinity give NaN here
  }
  return -1;
}

/**
 * Reads an upload stream. `admit` validates the header against the round (throws a RejectError
 * otherwise). Returns the verified update spooled at `admission.spoolPath`.
 */
export async function receiveUpload(
  messages: AsyncIterable<UploadPart>,
  admit: (header: UpdateHeader) => Admission | Promise<Admission>,
): Promise<{ admission: Admission; update: ReceivedUpdate }> {
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
  try {
    const scratch = new Float32Array(MAX_CHUNK_BYTES / 4);
    let pos = head.length + received;
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      const part = next.value;
      if (part.type !== 'chunk') throw invalid(`${who}: unexpected ${part.type} message after the header`);
      const c = part.chunk;
      if (c.offset !== received) throw invalid(`${who}: chunk at offset ${c.offset}, expected ${received}`);
      if (c.data.length === 0 || c.data.length > MAX_CHUNK_BYTES || c.data.length % 4 !== 0) {
        throw invalid(`${who}: chunk at offset ${c.offset} has ${c.data.length} bytes (must be a positive multiple of 4, at most ${MAX_CHUNK_BYTES})`);
      }
      if (received + c.data.length > total) throw invalid(`${who}: more data than the announced ${total} bytes`);
      if (sha256Hex(c.data) !== c.sha256) throw invalid(`${who}: chunk at offset ${c.offset} fails its SHA-256 check`);
      const bad = firstNonFinite(c.data, scratch);
      if (bad >= 0) {
        throw invalid(`${who}: non-finite value at element ${(received >> 2) + bad}`);
      }
      // A verified 1 MiB block-aligned chunk's SHA-256 is its digest block hash: no second pass.
      const isBlock = blockAligned && (c.data.length === DIGEST_BLOCK_BYTES || received + c.data.length === total);
      if (isBlock) hasher.addBlockHash(c.sha256, c.data.length);
      else {
        blockAligned = false;
        hasher.update(c.data);
      }
      await fh.write(c.data, 0, c.data.length, pos);
      pos += c.data.length;
      received += c.data.length;
      if (isBlock && c.data.length === DIGEST_BLOCK_BYTES) await blockLog.write(`${c.sha256}\n`);
    }
    if (received !== total) throw invalid(`${who}: upload ended after ${received} of ${total} bytes`);
    const digest = hasher.digest();
    if (digest !== header.digest) throw invalid(`${who}: digest mismatch (announced ${header.digest}, content ${digest})`);
    await fh.sync();
    ok = true;
    return { admission, update: { header, infos, digest, path: admission.spoolPath, bytes: received } };
  } catch (err) {
    // A refused update leaves nothing; a stream that broke or went quiet keeps its verified
    // blocks for a resume (the round engine removes what is still there when the round closes).
    refused = err instanceof RejectError && err.code !== status.DEADLINE_EXCEEDED;
    throw err;
  } finally {
    await fh.close();
    await blockLog.close();
    if (ok) {
      await rename(partial, admission.spoolPath);
      await fsyncDir(dirname(admission.spoolPath));
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
