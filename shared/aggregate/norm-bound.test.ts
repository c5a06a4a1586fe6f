import { describe, expect, it } from 'vitest';
import { clipFactors } from './norm-bound.js';
import { l2Norm } from './norms.js';
import { randomArray } from '../../test/helpers/aggregate-testing.js';

describe('norm bounding', () => {
  it('clipped updates have norm <= the bound and small ones are untouched', () => {
    const xs = [randomArray(1000, 1), Float32Array.from(randomArray(1000, 2), (v) => v * 100), Float32Array.from(randomArray(1000, 3), (v) => v * 0.01)];
    const norms = xs.map(l2Norm);
    const bound = 5;
    const c = clipFactors(norms, bound);
    expect(c[2]).toBe(1);
    for (let k = 0; k < 3; k++) {
      const clipped = Float32Array.from(xs[k]!, (v) => v * c[k]!);
      expect(l2Norm(clipped)).toBeLessThanOrEqual(bound * (1 + 1e-6));
      if (norms[k]! > bound) expect(l2Norm(clipped)).toBeCloseTo(bound, 4);
    }
  });

  it('refuses a bad bound or a non-finite norm', () => {
    expect(() => clipFactors([1], 0)).toThrow(/max norm 0/);
    expect(() => clipFactors([1, NaN], 1)).toThrow(/update 1: L2 norm NaN/);
  });
});
