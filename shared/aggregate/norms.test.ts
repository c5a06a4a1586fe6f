import { describe, expect, it } from 'vitest';
import { L2NormAccumulator, l2Norm, updateNorms } from './norms.js';
import { randomArray, readersOf } from '../../test/helpers/aggregate-testing.js';

describe('L2 norms', () => {
  it('equals the hand-computed norm and does not depend on chunking or block size', async () => {
    expect(l2Norm(Float32Array.from([3, 4]))).toBe(5);
    const xs = [randomArray(10_001, 1), randomArray(10_001, 2), Float32Array.from({ length: 10_001 }, () => 0)];
    const ref = xs.map((x) => l2Norm(x));
    expect(await updateNorms(readersOf(xs, [1, 1, 1]), 10_001, 333)).toEqual(ref);
    const acc = new L2NormAccumulator();
    for (let s = 0; s < 10_001; s += 4096) acc.add(xs[0]!.subarray(s, s + 4096));
    expect(acc.norm).toBe(ref[0]);
    expect(ref[2]).toBe(0);
  });

  it('is NaN when an update holds a NaN', async () => {
    const x = new Float32Array(10);
    x[4] = NaN;
    expect(Number.isNaN((await updateNorms(readersOf([x], [1]), 10))[0])).toBe(true);
  });
});
