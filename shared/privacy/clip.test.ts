import { describe, expect, it } from 'vitest';
import { clipL2, l2Norm } from './clip.js';
import { GaussianSampler } from './gaussian-noise.js';

describe('L2 clipping', () => {
  it('bounds the norm exactly (after float32 rounding) for updates of any scale', () => {
    const g = new GaussianSampler('clip-test');
    for (const [n, scale, clip] of [
      [10, 1e3, 1],
      [1000, 1, 0.5],
      [100_000, 0.01, 0.1],
      [7, 1e30, 1e-3],
    ] as const) {
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = scale * g.standard();
      const before = l2Norm(v);
      const r = clipL2(v, clip);
      expect(r.clipped).toBe(true);
      expect(r.norm).toBe(before);
      expect(l2Norm(v)).toBeLessThanOrEqual(clip);
      expect(l2Norm(v)).toBeGreaterThan(clip * (1 - 1e-6));
    }
  });

  it('leaves an update within the bound untouched and refuses non-finite entries', () => {
    const v = new Float32Array([0.3, -0.4]);
    expect(clipL2(v, 1)).toEqual({ norm: expect.closeTo(0.5, 7), scale: 1, clipped: false });
    expect([...v]).toEqual([Math.fround(0.3), Math.fround(-0.4)]);
    expect(() => clipL2(new Float32Array([1, NaN]), 1)).toThrow(/non-finite/);
    expect(() => clipL2(v, 0)).toThrow(/positive/);
  });
});
