import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensorSetDigest, specMismatch, splitTensors, TensorSetHasher, bytesOf, digestedBlockHashes, DIGEST_BLOCK_BYTES, type TensorSet } from './tensor-set.js';
import { createHash } from 'node:crypto';
import { writeTensorSetFile, readTensorSetFile, readTensorFileLayout } from './file.js';
import { chunkBytes, ChunkAssembler } from '../transport/chunks.js';

const set = (): TensorSet => ({
  infos: [
    { name: 'conv/kernel', shape: [3, 3, 1, 4], dtype: 'float32' },
    { name: 'conv/bias', shape: [4], dtype: 'float32' },
  ],
  data: Float32Array.from({ length: 40 }, (_, i) => Math.sin(i) * 10),
});

describe('tensor sets', () => {
  it('digest covers names, shapes and bytes', () => {
    const a = set();
    const d = tensorSetDigest(a);
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(tensorSetDigest(set())).toBe(d);
    const renamed = { ...a, infos: [{ ...a.infos[0]!, name: 'x' }, a.infos[1]!] };
    expect(tensorSetDigest(renamed)).not.toBe(d);
    const reshaped = { ...a, infos: [{ ...a.infos[0]!, shape: [9, 1, 4] }, a.infos[1]!] };
    expect(tensorSetDigest(reshaped)).not.toBe(d);
    const b = set();
    b.data[7] = b.data[7]! + 1e-6;
    expect(tensorSetDigest(b)).not.toBe(d);
  });

  it('incremental hashing over chunks equals the one-shot digest', () => {
    const a = set();
    const h = new TensorSetHasher(a.infos);
    for (const c of chunkBytes(bytesOf(a.data), 12)) h.update(c.data);
    expect(h.digest()).toBe(tensorSetDigest(a));
  });

  it('splits into named views and reports the first spec difference', () => {
    const a = set();
    const parts = splitTensors(a);
    expect(parts.get('conv/bias')!.length).toBe(4);
    expect(parts.get('conv/bias')![0]).toBe(a.data[36]);
    expect(specMismatch(a.infos, a.infos)).toBeNull();
    expect(specMismatch(a.infos, [a.infos[0]!])).toMatch(/expected 2 tensors, got 1/);
    expect(specMismatch(a.infos, [a.infos[0]!, { ...a.infos[1]!, shape: [5] }])).toMatch(/"conv\/bias": expected shape \[4\], got \[5\]/);
  });
});

describe('tensor files', () => {
  it('round-trips through disk with its digest and metadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flt-'));
    const path = join(dir, 'a', 'm.flt');
    const a = set();
    const digest = await writeTensorSetFile(path, a, { round: 3 });
    const back = await readTensorSetFile(path);
    expect(back.digest).toBe(digest);
    expect(back.meta).toEqual({ round: 3 });
    expect(Array.from(back.set.data)).toEqual(Array.from(a.data));
    const layout = await readTensorFileLayout(path);
    expect(layout.dataOffset % 4).toBe(0);
  });

  it('detects corruption and truncation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flt-'));
    const path = join(dir, 'm.flt');
    await writeTensorSetFile(path, set());
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(path, bytes);
    await expect(readTensorSetFile(path)).rejects.toThrow(/digest mismatch/);
    writeFileSync(path, bytes.subarray(0, bytes.length - 4));
    await expect(readTensorSetFile(path)).rejects.toThrow(/expected \d+ bytes/);
    writeFileSync(path, Buffer.from('garbage'));
    await expect(readTensorSetFile(path)).rejects.toThrow(/bad magic/);
  });
});

describe('wire chunks', () => {
  it('reassembles in order, verifies each chunk, and refuses gaps and overruns', () => {
    const bytes = bytesOf(set().data);
    const chunks = [...chunkBytes(bytes, 64)];
    expect(chunks.length).toBe(3);
    const asm = new ChunkAssembler(bytes.length);
    for (const c of chunks) asm.add(c);
    expect(asm.complete).toBe(true);
    expect(Buffer.from(asm.bytes).equals(Buffer.from(bytes))).toBe(true);

    const gap = new ChunkAssembler(bytes.length);
    expect(() => gap.add(chunks[1]!)).toThrow(/expected offset 0/);
    const bad = new ChunkAssembler(bytes.length);
    expect(() => bad.add({ ...chunks[0]!, sha256: '0'.repeat(64) })).toThrow(/SHA-256 mismatch/);
    const small = new ChunkAssembler(10);
    expect(() => small.add(chunks[0]!)).toThrow(/beyond the announced 10 bytes/);
  });

  it('resumes from an offset', () => {
    const bytes = bytesOf(set().data);
    const resumed = [...chunkBytes(bytes, 64, 64)];
    expect(resumed[0]!.offset).toBe(64);
  });
});

describe('digestedBlockHashes', () => {
  it('keeps the 1 MiB block hashes of the last digest of an array, equal to the streamed digest', () => {
    const n = 2 * (DIGEST_BLOCK_BYTES / 4) + 333; // two whole blocks and a short third
    const data = new Float32Array(n).map((_, i) => Math.sin(i));
    const s: TensorSet = { infos: [{ name: 'w', shape: [n], dtype: 'float32' }], data };
    const bytes = bytesOf(data);
    // The streaming hasher fed in odd pieces is the reference for the digest.
    const h = new TensorSetHasher(s.infos);
    for (let off = 0; off < bytes.length; off += 777_777) h.update(bytes.subarray(off, off + 777_777));
    const digest = tensorSetDigest(s);
    expect(digest).toBe(h.digest());
    const blocks = digestedBlockHashes(data, digest)!;
    expect(blocks.map((x) => x)).toEqual([0, 1, 2].map((i) => createHash('sha256').update(bytes.subarray(i * DIGEST_BLOCK_BYTES, (i + 1) * DIGEST_BLOCK_BYTES)).digest('hex')));
    expect(digestedBlockHashes(data, '0'.repeat(64))).toBeNull();
    expect(digestedBlockHashes(new Float32Array(n), digest)).toBeNull();
  });
});
