// Receiving one update upload: header first, then chunks streamed straight to a spool file
// while the digest and finiteness are checked incrementally. Memory is O(chunk), never
// O(model); nothing reaches the round until the whole update has been verified.
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { UploadMessage, UpdateHeader } from '../shared/gen/fl/v1/federation.js';
import { TensorSetHasher, specMismatch, totalElements, DIGEST_BLOCK_BYTES, type TensorInfo } from '../shared/tensor/tensor-set.js';
import { sha256Hex, MAX_CHUNK_BYTES } from '../shared/transport/chunks.js';
import { fsyncDir } from '../shared/tensor/file.js';
import { fromWireInfos } from './wire.js';
import { invalid } from './errors.js';

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

const MAGIC = 'FLTSET01';

function fileHeader(infos: readonly TensorInfo[], digest: string, meta: Record<string, unknown>): Buffer {
  const json = Buffer.from(JSON.stringify({ infos, digest, meta }), 'utf8');
  const pre = 12 + json.length;
  const out = Buffer.alloc(pre + ((4 - (pre % 4)) % 4));
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  return out;
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
  messages: AsyncIterable<UploadMessage>,
  admit: (header: UpdateHeader) => Admission,
): Promise<{ admission: Admission; update: ReceivedUpdate }> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.part?.$case !== 'header') {
    throw invalid('upload must start with an update header');
  }
  const header = first.value.part.value;
  const admission = admit(header);
  const who = `site "${admission.site}", model "${admission.model}", round ${admission.round}`;
  const infos = fromWireInfos(header.tensors);
  const mismatch = specMismatch(admission.spec, infos);
  if (mismatch) throw invalid(`${who}: update does not match the model spec: ${mismatch}`);
  const total = totalElements(infos) * 4;
  if (header.totalBytes !== total) {
    throw invalid(`${who}: total_bytes ${header.totalBytes} does not match the spec (${total} bytes)`);
  }
  if (!(header.numExamples > 0)) throw invalid(`${who}: num_examples must be positive`);
  if (!/^[0-9a-f]{64}$/.test(header.digest)) throw invalid(`${who}: digest must be 64 hex characters`);

  await mkdir(dirname(admission.spoolPath), { recursive: true });
  const tmp = `${admission.spoolPath}.part-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w');
  let ok = false;
  try {
    await fh.write(fileHeader(infos, header.digest, {
      site: admission.site, model: admission.model, round: admission.round,
      num_examples: header.numExamples, update_id: header.updateId, model_version: header.modelVersion,
    }));
    const hasher = new TensorSetHasher(infos);
    const scratch = new Float32Array(MAX_CHUNK_BYTES / 4);
    let received = 0;
    let blockAligned = true;
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      const part = next.value.part;
      if (part?.$case !== 'chunk') throw invalid(`${who}: unexpected ${part?.$case ?? 'empty'} message after the header`);
      const c = part.value;
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
      if (blockAligned && (c.data.length === DIGEST_BLOCK_BYTES || received + c.data.length === total)) hasher.addBlockHash(c.sha256, c.data.length);
      else {
        blockAligned = false;
        hasher.update(c.data);
      }
      await fh.write(c.data);
      received += c.data.length;
    }
    if (received !== total) throw invalid(`${who}: upload ended after ${received} of ${total} bytes`);
    const digest = hasher.digest();
    if (digest !== header.digest) throw invalid(`${who}: digest mismatch (announced ${header.digest}, content ${digest})`);
    await fh.sync();
    ok = true;
    return { admission, update: { header, infos, digest, path: admission.spoolPath, bytes: received } };
  } finally {
    await fh.close();
    if (ok) {
      await rename(tmp, admission.spoolPath);
      await fsyncDir(dirname(admission.spoolPath));
    } else {
      await rm(tmp, { force: true });
    }
  }
}
