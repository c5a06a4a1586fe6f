import { describe, expect, it } from 'vitest';
import { normBounding } from './norm-bounding.js';
import { fedAvg } from './fedavg.js';
import { randomArray, readersOf } from '../../test/helpers/aggregate-testing.js';
import { l2Norm } from '../aggregate/norms.js';
import { tensorSetDigest } from '../tensor/tensor-set.js';

const digest = (a: Float32Array) => tensorSetDigest({ infos: [], data: a });

describe('norm bounding strategy', () => {
  it('clips each delta to max_norm, then takes the example-weighted mean (hand-computed)', async () => {
    // ||[3,4]|| = 5 (kept), ||[6,8]|| = 10 -> [3,4], ||[0,-1]|| = 1 (kept); weights 1, 1, 2:
    // ([3,4] + [3,4] + 2 [0,-1]) / 4 = [1.5, 1.5]
    const ds = [[3, 4], [6, 8], [0, -1]].map((p) => Float32Array.from(p));
    const out = await normBounding(5).aggregateFit(Float32Array.from([1, -1]), readersOf(ds, [1, 1, 2]), {});
    expect(Array.from(out.global)).toEqual([2.5, 0.5]);
    expect(out.metrics.clipped).toBe(1);
    expect(out.metrics.max_update_norm).toBe(10);
    expect(out.metrics.total_examples).toBe(4);
  });

  it('equals FedAvg when no delta exceeds the bound', async () => {
    const g = randomArray(500, 1);
    const ds = [randomArray(500, 2), randomArray(500, 3)];
    const a = await normBounding(1e6).aggregateFit(g, readersOf(ds, [2, 3]), {});
    const b = await fedAvg().aggregateFit(g, readersOf(ds, [2, 3]), {});
    expect(digest(a.global)).toBe(digest(b.global));
    expect(a.metrics.clipped).toBe(0);
  });

  it('the step never exceeds max_norm, and small blocks equal one block', async () => {
    const n = 2003;
    const g = randomArray(n, 5);
    const ds = [0.01, 50, 1, 1000, 3].map((s, k) => Float32Array.from(randomArray(n, 60 + k), (v) => v * s));
    const bound = 2;
    const small = await normBounding(bound, 17).aggregateFit(g, readersOf(ds, [10, 1, 4, 7, 2]), {});
    const one = await normBounding(bound, n).aggregateFit(g, readersOf(ds, [10, 1, 4, 7, 2]), {});
    expect(digest(small.global)).toBe(digest(one.global));
    // Norms ~ 25.8 x scale (uniform [-1, 1) over 2003 values): only the 0.01-scaled delta is within the bound.
    expect(ds.map((x) => l2Norm(x) > bound)).toEqual([false, true, true, true, true]);
    expect(small.metrics.clipped).toBe(4);
    const step = l2Norm(Float32Array.from(small.global, (v, i) => v - g[i]!));
    expect(step).toBeLessThanOrEqual(bound * (1 + 1e-5));
    expect(small.metrics.step_norm).toBeLessThanOrEqual(bound * (1 + 1e-5));
  });

  it('refuses a bound that is not a positive finite number, naming the field', () => {
    expect(() => normBounding(0)).toThrow(/^strategy\.max_norm: 0 must be a finite number > 0/);
    expect(() => normBounding(Number.NaN)).toThrow(/strategy\.max_norm/);
  });
});
