import { describe, expect, it } from 'vitest';
import { L2NormAccumulator, l2Norm, updateNorms, cellSumsOfSquares, foldCellSums, sumOfSquares, NORM_CELL_ELEMS } from './norms.js';
import type { UpdateReader } from './reader.js';
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

  it('has one summation order (the cell grid): chunks of any length, cells summed piecewise and folded, and the 4-way sums all give the same float64 bits', () => {
    const n = 5 * NORM_CELL_ELEMS + 12_345;
    const x = randomArray(n, 7);
    // The grid, written out plainly: four partial sums per cell by position mod 4, cells added in order.
    let expected = 0;
    for (let c = 0; c < n; c += NORM_CELL_ELEMS) {
      const s = [0, 0, 0, 0];
      for (let i = c; i < Math.min(n, c + NORM_CELL_ELEMS); i++) s[(i - c) % 4]! += x[i]! * x[i]!;
      expected += (s[0]! + s[1]!) + (s[2]! + s[3]!);
    }
    expect(sumOfSquares(x)).toBe(expected);
    let seed = 99;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let trial = 0; trial < 20; trial++) {
      const acc = new L2NormAccumulator();
      for (let s = 0; s < n;) {
        const len = 1 + (rnd() % (trial % 2 ? 70_000 : 9));
        acc.add(x.subarray(s, s + len));
        s += len;
      }
      expect(acc.sumOfSquares).toBe(expected);
    }
    // As the check threads do it: 1 MiB chunks summed cell by cell on their own, the cells folded in order.
    const cells: number[] = [];
    for (let s = 0; s < n; s += 1 << 18) cellSumsOfSquares(x.subarray(s, s + (1 << 18)), cells);
    expect(foldCellSums(cells)).toBe(expected);
    // The plain sequential sum is a different order (it differs in the last bits here): the grid is the definition.
    expect(Math.abs(x.reduce((a, v) => a + v * v, 0) - expected)).toBeLessThan(expected * 1e-12);
  });

  it('takes a sum of squares known from receipt instead of reading the update again', async () => {
    const xs = [randomArray(3000, 3), randomArray(3000, 4)];
    const [a, b] = readersOf(xs, [1, 1]) as UpdateReader[];
    const unreadable: UpdateReader = { ...a!, sumOfSquares: sumOfSquares(xs[0]!), read: async () => { throw new Error('read although the sum was known'); } };
    expect(await updateNorms([unreadable, b!], 3000)).toEqual(xs.map(l2Norm));
  });
});
