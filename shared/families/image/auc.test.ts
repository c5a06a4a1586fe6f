import { describe, expect, it } from 'vitest';
import { mannWhitneyAuc } from './auc.js';

function bruteForce(s: number[], y: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < s.length; i++) {
    for (let j = 0; j < s.length; j++) {
      if (y[i] === 1 && y[j] === 0) {
        den++;
        num += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
  }
  return num / den;
}

describe('Mann-Whitney AUC', () => {
  it('matches the pairwise definition, ties counting one half', () => {
    const s = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9, 0.05];
    const y = [0, 0, 1, 1, 1, 0, 1, 0];
    expect(mannWhitneyAuc(s, y)).toBeCloseTo(bruteForce(s, y), 12);
    expect(mannWhitneyAuc([1, 2, 3], [0, 1, 1])).toBe(1);
    expect(mannWhitneyAuc([1, 2, 3], [1, 0, 0])).toBe(0);
    expect(mannWhitneyAuc([1, 2], [1, 1])).toBeNaN();
  });
});
