import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensorFileDigest, writeTensorSetFile } from './file.js';
import { tensorSetDigest, DIGEST_BLOCK_BYTES } from './tensor-set.js';

describe('tensorFileDigest (streamed, hashed off the event loop)', () => {
  it('equals the one-pass digest for whole, partial and sub-block sizes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfd-'));
    try {
      for (const elements of [1, 1000, DIGEST_BLOCK_BYTES / 4, (DIGEST_BLOCK_BYTES / 4) * 2 + 17, (DIGEST_BLOCK_BYTES / 4) * 3]) {
        const data = new Float32Array(elements);
        for (let i = 0; i < elements; i++) data[i] = Math.sin(i) * 1e3;
        const set = { infos: [{ name: 'a', shape: [elements], dtype: 'float32' as const }], data };
        const path = join(dir, `t${elements}.flt`);
        const written = await writeTensorSetFile(path, set);
        const got = await tensorFileDigest(path);
        expect(got.digest).toBe(tensorSetDigest(set));
        expect(got.header).toBe(written);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a short file naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfd-'));
    try {
      const path = join(dir, 'short.flt');
      await writeTensorSetFile(path, { infos: [{ name: 'a', shape: [600_000], dtype: 'float32' }], data: new Float32Array(600_000) });
      truncateSync(path, statSync(path).size - 8);
      await expect(tensorFileDigest(path)).rejects.toThrow(/short\.flt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
