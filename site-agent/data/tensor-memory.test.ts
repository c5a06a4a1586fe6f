import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageCache } from './image-cache.js';
import { TensorMemory } from './tensor-memory.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-tmem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TensorMemory', () => {
  const cache = new ImageCache(dir);
  const n = 100; // 400 bytes per tensor
  for (let k = 0; k < 10; k++) cache.writeTensor(`t${k}`, Float32Array.from({ length: n }, (_, i) => k * 1000 + i));

  it('keeps tensors up to its byte budget, in the order first read, and serves them from memory after', () => {
    const mem = new TensorMemory(1000); // room for two tensors of 400 bytes
    for (let pass = 0; pass < 3; pass++) {
      for (let k = 0; k < 10; k++) {
        const t = mem.get(cache, `t${k}`, n);
        expect(t[5]).toBe(k * 1000 + 5);
      }
    }
    expect(mem.count).toBe(2);
    expect(mem.bytes).toBe(800);
    expect(mem.bytes).toBeLessThanOrEqual(mem.budgetBytes);
    // the first two are read from disk once, the other eight every pass
    expect(mem.reads).toEqual({ memory: 4, disk: 2 + 8 * 3 });
  });

  it('copies into a batch array at an offset', () => {
    const mem = new TensorMemory();
    const into = new Float32Array(3 * n);
    mem.read(cache, 't3', n, into, n);
    mem.read(cache, 't3', n, into, 2 * n);
    expect(into[0]).toBe(0);
    expect(into[n]).toBe(3000);
    expect(into[2 * n + 99]).toBe(3099);
    expect(mem.reads).toEqual({ memory: 1, disk: 1 });
  });

  it('a zero budget keeps nothing; a wrong length is refused by the disk cache', () => {
    const mem = new TensorMemory(0);
    mem.get(cache, 't1', n);
    mem.get(cache, 't1', n);
    expect(mem.count).toBe(0);
    expect(mem.reads.disk).toBe(2);
    expect(() => new TensorMemory(1000).get(cache, 't1', n + 1)).toThrow(/expected 404/);
    expect(() => new TensorMemory(-1)).toThrow(/non-negative/);
  });
});
