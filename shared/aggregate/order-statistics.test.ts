import { describe, expect, it } from 'vitest';
import { median, sortColumn, streamCoordinateMedian, streamTrimmedMean, trimCount } from './order-statistics.js';
import { randomArray, readersOf } from '../../test/helpers/aggregate-testing.js';

/** Reference: sort every coordinate's values with Array.prototype.sort. */
function reference(xs: Float32Array[], reduce: (sorted: number[]) => number): Float64Array {
  const out = new Float64Array(xs[0]!.length);
  for (let i = 0; i < out.length; i++) out[i] = reduce(xs.map((x) => x[i]!).sort((a, b) => a - b));
  return out;
}

async function collect(fn: (sink: (s: number, len: number, agg: Float64Array) => void) => Promise<void>, n: number): Promise<Float64Array> {
  const out = new Float64Array(n);
  await fn((s, len, agg) => out.set(agg.subarray(0, len), s));
  return out;
}

describe('coordinate-wise order statistics', () => {
  const n = 5003;
  for (const k of [1, 2, 5, 6, 30]) {
    const xs = Array.from({ length: k }, (_, j) => randomArray(n, 100 + j));
    // A few ties, so equal values are exercised.
    if (k > 1) for (let i = 0; i < n; i += 7) xs[1]![i] = xs[0]![i]!;
    it(`median of ${k} updates equals the sorted reference`, async () => {
      const got = await collect((sink) => streamCoordinateMedian(readersOf(xs, xs.map(() => 1)), n, sink, 1000), n);
      const ref = reference(xs, (s) => (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2));
      expect(Array.from(got)).toEqual(Array.from(ref));
    });
    if (k >= 5) {
      it(`trimmed mean of ${k} updates (trim 2) equals the sorted reference`, async () => {
        const got = await collect((sink) => streamTrimmedMean(readersOf(xs, xs.map(() => 1)), n, 2, sink, 777), n);
        const ref = reference(xs, (s) => s.slice(2, s.length - 2).reduce((a, b) => a + b, 0) / (s.length - 4));
        expect(Array.from(got)).toEqual(Array.from(ref));
      });
    }
  }

  it('does not depend on the order of the updates', async () => {
    const xs = Array.from({ length: 7 }, (_, j) => randomArray(999, j + 1));
    const a = await collect((sink) => streamTrimmedMean(readersOf(xs, xs.map(() => 1)), 999, 1, sink), 999);
    const b = await collect((sink) => streamTrimmedMean(readersOf([...xs].reverse(), xs.map(() => 1)), 999, 1, sink), 999);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it('computes trim counts and refuses trimming everything', () => {
    expect(trimCount(10, { beta: 0.2 })).toBe(2);
    expect(trimCount(4, { beta: 0.2 })).toBe(0);
    expect(trimCount(5, { count: 2 })).toBe(2);
    expect(() => trimCount(4, { count: 2 })).toThrow(/cannot trim 2 update\(s\) from each end of 4/);
    expect(() => streamTrimmedMean(readersOf([new Float32Array(3)], [1]), 3, 1, () => {})).toThrow(/cannot trim 1/);
  });

  it('sorts small and large columns and takes medians of lists', () => {
    const col = Float64Array.from([3, -1, 2, 2, 0]);
    sortColumn(col, 5);
    expect(Array.from(col)).toEqual([-1, 0, 2, 2, 3]);
    const big = Float64Array.from(randomArray(100, 5));
    sortColumn(big, 100);
    for (let i = 1; i < 100; i++) expect(big[i]!).toBeGreaterThanOrEqual(big[i - 1]!);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
