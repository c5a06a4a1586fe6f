import { describe, expect, it } from 'vitest';
import { trimmedMean } from './trimmed-mean.js';
import { ConfigError } from '../config/load.js';
import { randomArray, readersOf } from '../../test/helpers/aggregate-testing.js';
import { tensorSetDigest } from '../tensor/tensor-set.js';

const digest = (a: Float32Array) => tensorSetDigest({ infos: [], data: a });

describe('coordinate-wise trimmed mean strategy', () => {
  const global = Float32Array.from([10, 0]);
  // column 0: [1, 2, 3, 4, 100] -> trim 1 each end -> mean(2, 3, 4) = 3
  // column 1: [-50, -1, 0, 1, 7] -> mean(-1, 0, 1) = 0
  const d = [[1, 0], [100, -50], [3, 1], [2, 7], [4, -1]].map((p) => Float32Array.from(p));

  it('drops trim_count lowest and highest per coordinate and averages the rest (unweighted)', async () => {
    const out = await trimmedMean({ count: 1 }).aggregateFit(global, readersOf(d, [5, 1, 1, 1, 1]), {});
    expect(Array.from(out.global)).toEqual([13, 0]);
    expect(out.metrics.trimmed_per_side).toBe(1);
  });

  it('with beta trims floor(beta * K) per side', async () => {
    // K = 5, beta 0.2 -> 1 per side, as above; beta 0.4 -> 2 per side = the median
    expect(Array.from((await trimmedMean({ beta: 0.2 }).aggregateFit(global, readersOf(d, [1, 1, 1, 1, 1]), {})).global)).toEqual([13, 0]);
    const med = await trimmedMean({ beta: 0.4 }).aggregateFit(global, readersOf(d, [1, 1, 1, 1, 1]), {});
    expect(Array.from(med.global)).toEqual([13, 0]);
    expect(med.metrics.trimmed_per_side).toBe(2);
  });

  it('streamed in small blocks equals one block and the sorted reference', async () => {
    const n = 3001;
    const g = randomArray(n, 3);
    const xs = Array.from({ length: 7 }, (_, k) => randomArray(n, 40 + k));
    const w = xs.map(() => 1);
    const small = await trimmedMean({ count: 2 }, 11).aggregateFit(g, readersOf(xs, w), {});
    const one = await trimmedMean({ count: 2 }, n).aggregateFit(g, readersOf(xs, w), {});
    expect(digest(small.global)).toBe(digest(one.global));
    const ref = Float32Array.from(g, (v, i) => {
      const s = xs.map((x) => x[i]!).sort((a, b) => a - b).slice(2, 5);
      return v + (s[0]! + s[1]! + s[2]!) / 3;
    });
    expect(digest(small.global)).toBe(digest(ref));
  });

  it('validate() refuses trimming that leaves no update, naming the field', () => {
    const refuse = (spec: { count: number } | { beta: number }, minSites: number, expectedSites: number) => {
      try {
        trimmedMean(spec).validate({ minSites, expectedSites });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refuse({ count: 2 }, 3, 5)).toBe('strategy.trim_count: trimming 2 update(s) from each end needs at least 5 sites per round, but min_sites is 3');
    expect(refuse({ count: 1 }, 2, 2)).toMatch(/^strategy\.trim_count: .*at least 3 sites/);
    expect(refuse({ beta: 0.2 }, 4, 10)).toMatch(/^strategy\.beta: 0\.2 trims no update when 4 site/);
    trimmedMean({ count: 2 }).validate({ minSites: 5, expectedSites: 5 });
    trimmedMean({ beta: 0.2 }).validate({ minSites: 5, expectedSites: 8 });
  });

  it('a round with too few updates for the trim fails with the field named', async () => {
    await expect(trimmedMean({ count: 2 }).aggregateFit(global, readersOf(d.slice(0, 4), [1, 1, 1, 1]), {})).rejects.toThrow(/strategy\.trim_count = 2: cannot trim 2 update\(s\) from each end of 4/);
  });
});
