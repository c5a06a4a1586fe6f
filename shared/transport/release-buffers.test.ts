// Buffers freed at once (release-buffers.ts): only an ArrayBuffer a view owns alone is released,
// it reads as empty afterwards, and the memory leaves Node's ArrayBuffer count without a collection.
import { describe, expect, it } from 'vitest';
import { ownsArrayBuffer, releaseBuffer } from './release-buffers.js';

describe('releaseBuffer', () => {
  it('frees an ArrayBuffer of its own now, and never a view, a pooled buffer or a small one', async () => {
    expect(ownsArrayBuffer(Buffer.allocUnsafeSlow(65536))).toBe(true);
    const big = Buffer.allocUnsafeSlow(65536);
    expect(releaseBuffer(big.subarray(10))).toBe(false); // a view of a larger buffer
    expect(releaseBuffer(big.subarray(0, 1000))).toBe(false);
    expect(releaseBuffer(Buffer.allocUnsafe(100))).toBe(false); // Node's shared pool
    expect(big.length).toBe(65536);

    const before = process.memoryUsage().arrayBuffers;
    const bufs = Array.from({ length: 64 }, () => Buffer.allocUnsafeSlow(1 << 20).fill(1));
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(48 << 20);
    for (const b of bufs) expect(releaseBuffer(b)).toBe(true);
    expect(bufs.every((b) => b.buffer.byteLength === 0)).toBe(true); // detached at once
    // Freed once the batches' channels have closed: no garbage collection is asked for.
    for (let i = 0; i < 50 && process.memoryUsage().arrayBuffers - before >= 32 << 20; i++) await new Promise((r) => setTimeout(r, 10));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 << 20);
  });
});
