import { describe, expect, it } from 'vitest';
import { bootstrapCi, forEachResample, pairedBootstrapDifference, quantile7, type Statistic } from './bootstrap.js';

const labels = Array.from({ length: 120 }, (_, i) => (i % 4 === 0 ? 1 : 0));
const mean = (x: number[]): Statistic => (idx) => { let s = 0; for (const i of idx) s += x[i]!; return s / idx.length; };

describe('bootstrap', () => {
  it('quantile type 7 as R', () => {
    const s = Float64Array.from([3, 1, 4, 1, 5, 9, 2, 6]).sort();
    expect(quantile7(s, 0.025)).toBeCloseTo(1, 15);
    expect(quantile7(s, 0.975)).toBeCloseTo(8.475, 13);
  });

  it('stratified: every resample keeps the numbers of positives and negatives', () => {
    let reps = 0;
    forEachResample(labels, { replicates: 50, seed: 1 }, (idx) => {
      reps++;
      expect(Array.from(idx).filter((i) => labels[i] === 1)).toHaveLength(30);
      expect(idx.length).toBe(120);
    });
    expect(reps).toBe(50);
  });

  it('is reproducible from the seed and changes with it', () => {
    const x = labels.map((_, i) => Math.sin(i));
    const a = bootstrapCi(labels, mean(x), { replicates: 300, seed: 42 });
    const b = bootstrapCi(labels, mean(x), { replicates: 300, seed: 42 });
    const c = bootstrapCi(labels, mean(x), { replicates: 300, seed: 43 });
    expect(a).toEqual(b);
    expect(a.ci).not.toEqual(c.ci);
    expect(a.ci![0]).toBeLessThan(a.estimate!);
    expect(a.ci![1]).toBeGreaterThan(a.estimate!);
  });

  it('paired differences: identical models give P = 1, clearly different ones a small P', () => {
    const x = labels.map((l, i) => l + (i % 7) / 10);
    const same = pairedBootstrapDifference(labels, mean(x), mean(x), { replicates: 200, seed: 3 });
    expect(same).toMatchObject({ estimate: 0, p: 1, ci: [0, 0] });
    const shifted = x.map((v) => v + 0.5);
    const diff = pairedBootstrapDifference(labels, mean(shifted), mean(x), { replicates: 200, seed: 3 });
    expect(diff.estimate).toBeCloseTo(0.5, 12);
    expect(diff.p).toBeCloseTo(2 / 201, 12);
  });

  it('undefined statistics are null with a reason', () => {
    const never: Statistic = () => null;
    expect(bootstrapCi(labels, never, { replicates: 10 })).toMatchObject({ estimate: null, ci: null, reason: expect.any(String) });
    expect(pairedBootstrapDifference(labels, never, never, { replicates: 10 })).toMatchObject({ p: null, reason: expect.any(String) });
  });
});
