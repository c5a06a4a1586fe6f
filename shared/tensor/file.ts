// On-disk tensor sets (checkpoints, spooled updates): crash-safe writes and block reads.
//
// Format: 8-byte magic "FLTSET01", u32 LE header length, UTF-8 JSON header
// `{ infos, digest, meta }`, zero padding to a multiple of 4 bytes from the file start,
// then the raw little-endian float32 data. The data offset is therefore 4-aligned, so a
// block can be read straight into a Float32Array.
import { open, readFile } from 'node:fs/promises';
import { webcrypto } from 'node:crypto';
import { atomicWriteFile, fsyncDir } from '../util/atomic-write.js';
import { type TensorInfo, type TensorSet, bytesOf, tensorSetDigest, totalElements, TensorSetHasher, DIGEST_BLOCK_BYTES } from './tensor-set.js';

export const TENSOR_FILE_MAGIC = 'FLTSET01';
const MAGIC = TENSOR_FILE_MAGIC;

export interface TensorFileHeader {
  readonly infos: TensorInfo[];
  readonly digest: string;
  readonly meta: Record<string, unknown>;
}

export interface TensorFileLayout {
  readonly header: TensorFileHeader;
  /** Byte offset of the float32 data in the file. */
  readonly dataOffset: number;
  /** Number of float32 elements. */
  readonly length: number;
}

export class TensorFileError extends Error {
  override name = 'TensorFileError';
}

/** Magic, header length, JSON header, zero padding: the bytes before the float32 data. */
export function encodeTensorFileHeader(header: TensorFileHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = 8 + 4 + json.length;
  const pad = (4 - (pre % 4)) % 4;
  const out = Buffer.alloc(pre + pad);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  return out;
}

/** Bytes before the data for a header whose JSON is `jsonLength` bytes long (magic, length, JSON, padding). */
export function tensorFileDataOffset(jsonLength: number): number {
  return 12 + jsonLength + ((4 - ((12 + jsonLength) % 4)) % 4);
}

/**
 * Parses the header at the start of `bytes` (the one parser of the format): returns the header and
 * the data offset, or throws a TensorFileError naming `where`. `bytes` may hold more than the
 * header (a partial upload, a whole file).
 */
export function decodeTensorFileHeader(bytes: Buffer, where: string): { header: TensorFileHeader; dataOffset: number } {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) throw new TensorFileError(`${where}: not a tensor set file (bad magic)`);
  const len = bytes.readUInt32LE(8);
  if (12 + len > bytes.length) throw new TensorFileError(`${where}: truncated header`);
  let header: TensorFileHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + len)) as TensorFileHeader;
  } catch (err) {
    throw new TensorFileError(`${where}: header is not valid JSON`, { cause: err });
  }
  return { header, dataOffset: tensorFileDataOffset(len) };
}

export { fsyncDir };

/**
 * Writes a tensor set atomically (shared/util/atomic-write.ts: temp file, fsync, read back and
 * check size and SHA-256, rename, fsync of the folder). Returns the digest written in the header;
 * a full disk or an I/O error is an AtomicWriteError naming the path, the previous file is kept.
 */
export async function writeTensorSetFile(path: string, set: TensorSet, meta: Record<string, unknown> = {}): Promise<string> {
  const digest = tensorSetDigest(set);
  const header = encodeTensorFileHeader({ infos: set.infos.map((t) => ({ ...t, shape: [...t.shape] })), digest, meta });
  await atomicWriteFile(path, [header, bytesOf(set.data)]);
  return digest;
}

/** Reads only the header and layout of a tensor file. */
export async function readTensorFileLayout(path: string): Promise<TensorFileLayout> {
  const fh = await open(path, 'r');
  try {
    const pre = Buffer.alloc(12);
    const { bytesRead } = await fh.read(pre, 0, 12, 0);
    const stat = await fh.stat();
    let head = pre.subarray(0, bytesRead);
    if (bytesRead === 12 && head.toString('latin1', 0, 8) === MAGIC) {
      const len = Math.min(head.readUInt32LE(8), Math.max(0, stat.size - 12));
      head = Buffer.alloc(12 + len);
      await fh.read(head, 0, 12 + len, 0);
      if (12 + pre.readUInt32LE(8) > stat.size) throw new TensorFileError(`${path}: truncated header`);
    }
    const { header, dataOffset } = decodeTensorFileHeader(head, path);
    const length = totalElements(header.infos);
    if (stat.size !== dataOffset + length * 4) {
      throw new TensorFileError(
        `${path}: expected ${dataOffset + length * 4} bytes for ${length} float32 values, file has ${stat.size}`,
      );
    }
    return { header, dataOffset, length };
  } finally {
    await fh.close();
  }
}

/**
 * The content digest of a tensor file, read block by block (two 1 MiB buffers, each block hashed
 * on the thread pool while the next is read): O(1 MiB) memory and no hashing on the event loop,
 * whatever the model size. Returns the digest and the one announced in the header (the caller
 * compares them); a short or malformed file is a TensorFileError.
 */
export async function tensorFileDigest(path: string): Promise<{ digest: string; header: string }> {
  const layout = await readTensorFileLayout(path);
  const fh = await open(path, 'r');
  try {
    const hasher = new TensorSetHasher(layout.header.infos);
    const bufs = [Buffer.allocUnsafe(DIGEST_BLOCK_BYTES), Buffer.allocUnsafe(DIGEST_BLOCK_BYTES)];
    const total = layout.length * 4;
    let pending: Promise<ArrayBuffer> | null = null;
    let pendingLength = 0;
    for (let off = 0, i = 0; off < total; off += DIGEST_BLOCK_BYTES, i ^= 1) {
      const want = Math.min(DIGEST_BLOCK_BYTES, total - off);
      const buf = bufs[i]!;
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, layout.dataOffset + off + got);
        if (bytesRead === 0) throw new TensorFileError(`${path}: file ended at data byte ${off + got} of ${total}`);
        got += bytesRead;
      }
      // The previous block's hash must be in before its buffer is read into again (next pass).
      if (pending) hasher.addBlockHash(Buffer.from(await pending).toString('hex'), pendingLength);
      pending = webcrypto.subtle.digest('SHA-256', buf.subarray(0, want));
      pendingLength = want;
    }
    if (pending) hasher.addBlockHash(Buffer.from(await pending).toString('hex'), pendingLength);
    return { digest: hasher.digest(), header: layout.header.digest };
  } finally {
    await fh.close();
  }
}

/** Reads a whole tensor file and verifies its digest. */
export async function readTensorSetFile(path: string): Promise<{ set: TensorSet; meta: Record<string, unknown>; digest: string }> {
  const layout = await readTensorFileLayout(path);
  const buf = await readFile(path);
  const data = new Float32Array(layout.length);
  new Uint8Array(data.buffer).set(buf.subarray(layout.dataOffset, layout.dataOffset + layout.length * 4));
  const set: TensorSet = { infos: layout.header.infos, data };
  const digest = new TensorSetHasher(set.infos).update(bytesOf(data)).digest();
  if (digest !== layout.header.digest) {
    throw new TensorFileError(`${path}: digest mismatch (header ${layout.header.digest}, content ${digest})`);
  }
  return { set, meta: layout.header.meta, digest };
}
