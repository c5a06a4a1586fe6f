import { describe, expect, it } from 'vitest';
import { firstNonFinite, firstNonFiniteInUpdate, isAllFinite } from './finite.js';
import { randomArray, readersOf } from '../../test/helpers/aggregate-testing.js';

describe('finiteness', () => {
  it('finds NaN and infinities anywhere, including the unrolled tail', async () => {
    const x = randomArray(1003, 3);
    expect(isAllFinite(x)).toBe(true);
    expect(firstNonFinite(x)).toBe(-1);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 500, 1001, 1002]) {
        const y = Float32Array.from(x);
        y[at] = bad;
        expect(isAllFinite(y)).toBe(false);
        expect(firstNonFinite(y)).toBe(at);
        expect(await firstNonFiniteInUpdate(readersOf([y], [1])[0]!, 100)).toBe(at);
      }
    }
    expect(isAllFinite(Float32Array.from([3.4e38, -3.4e38]))).toBe(true);
    expect(isAllFinite(new Float32Array(0))).toBe(true);
  });
});
