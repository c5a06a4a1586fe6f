import { describe, expect, it } from 'vitest';
import { coordinateMedian } from './median.js';
import { randomArray, readersOf } from '../../test/helpers/aggregate-testing.js';
import { tensorSetDigest } from '../tensor/tensor-set.js';

const digest = (a: Float32Array) => tensorSetDigest({ infos: [], data: a });

describe('coordinate-wise median strategy', () => {
  const global = Float32Array.from([1, 2, 3]);
  const d = [Float32Array.from([1, 0, -2]), Float32Array.from([3, 4, 2]), Float32Array.from([0, -8, 1]), Float32Array.from([5, 1, -1])];

  it('moves every coordinate by the median delta (odd count), ignoring example weights', async () => {
    // columns: [1,3,0] -> 1, [0,4,-8] -> 0, [-2,2,1] -> 1
    const out = await coordinateMedian().aggregateFit(global, readersOf(d.slice(0, 3), [1, 1000, 1]), {});
    expect(Array.from(out.global)).toEqual([2, 2, 4]);
    expect(out.metrics.total_examples).toBe(1002);
    expect(out.metrics.step_norm).toBeCloseTo(Math.SQRT2, 6);
    expect(Array.from(global)).toEqual([1, 2, 3]);
  });

  it('uses the mean of the two middle deltas for an even count', async () => {
    // columns sorted: [0,1,3,5] -> 2, [-8,0,1,4] -> 0.5, [-2,-1,1,2] -> 0
    const out = await coordinateMedian().aggregateFit(global, readersOf(d, [1, 1, 1, 1]), {});
    expect(Array.from(out.global)).toEqual([3, 2.5, 3]);
  });

  it('streamed in small blocks equals one block and the sorted reference', async () => {
    const n = 4099;
    const g = randomArray(n, 7);
    const xs = Array.from({ length: 5 }, (_, k) => randomArray(n, 20 + k));
    const small = await coordinateMedian(13).aggregateFit(g, readersOf(xs, [1, 2, 3, 4, 5]), {});
    const one = await coordinateMedian(n).aggregateFit(g, readersOf(xs, [1, 2, 3, 4, 5]), {});
    expect(digest(small.global)).toBe(digest(one.global));
    const ref = Float32Array.from(g, (v, i) => v + xs.map((x) => x[i]!).sort((a, b) => a - b)[2]!);
    expect(digest(small.global)).toBe(digest(ref));
  });

  it('accepts any site count and refuses a wrong length', async () => {
    coordinateMedian().validate({ minSites: 1, expectedSites: 1 });
    await expect(coordinateMedian().aggregateFit(global, readersOf([new Float32Array(2)], [1]), {})).rejects.toThrow(/has 2 values, the model has 3/);
  });
});
