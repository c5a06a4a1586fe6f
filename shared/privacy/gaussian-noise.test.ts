import { describe, expect, it } from 'vitest';
import { privatiseUpdate } from './dp-update.js';
import { GaussianSampler } from './gaussian-noise.js';

describe('Gaussian noise', () => {
  it('is reproducible for a seed, different across seeds, and standard normal', () => {
    const a = new GaussianSampler('site-a-secret');
    const b = new GaussianSampler('site-a-secret');
    const c = new GaussianSampler('site-b-secret');
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    let same = true;
    let differs = false;
    for (let i = 0; i < n; i++) {
      const x = a.standard();
      if (x !== b.standard()) same = false;
      if (x !== c.standard()) differs = true;
      sum += x;
      sq += x * x;
    }
    expect(same).toBe(true);
    expect(differs).toBe(true);
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
  });

  it('privatiseUpdate clips to C then adds noise of std σ·C', () => {
    const n = 100_000;
    const delta = new Float32Array(n).fill(1); // norm √n ≫ C
    const report = privatiseUpdate(delta, { clip: 2, noiseMultiplier: 1.5 }, new GaussianSampler('dp'));
    expect(report).toMatchObject({ normBeforeClip: Math.sqrt(n), clipped: true, noiseStd: 3 });
    const clippedValue = 2 / Math.sqrt(n);
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (delta[i]! - clippedValue) ** 2;
    expect(Math.sqrt(sq / n)).toBeCloseTo(3, 1);
  });
});
