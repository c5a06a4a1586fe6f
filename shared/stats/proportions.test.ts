import { describe, expect, it } from 'vitest';
import { exactCi, proportion, wilsonCi } from './proportions.js';
import { confusionAt, diagnosticMetrics } from './confusion.js';

// Reference values printed by R 4.2 with options(digits = 17).
describe('proportions', () => {
  it('Wilson = prop.test(correct = FALSE), exact = binom.test', () => {
    const w = wilsonCi(7, 20);
    expect(w[0]).toBeCloseTo(0.18119182410108206, 12);
    expect(w[1]).toBeCloseTo(0.56714572331476365, 12);
    const e = exactCi(7, 20);
    expect(e[0]).toBeCloseTo(0.15390920478454115, 10);
    expect(e[1]).toBeCloseTo(0.59218853453282816, 10);
    expect(exactCi(0, 15)[0]).toBe(0);
    expect(exactCi(0, 15)[1]).toBeCloseTo(0.21801936091053398, 10);
    const w15 = wilsonCi(15, 15);
    expect(w15[0]).toBeCloseTo(0.79611669896415138, 12);
    expect(w15[1]).toBe(1);
  });

  it('zero denominator is null with a reason', () => {
    expect(proportion(0, 0, 'exact', 'NPV')).toMatchObject({ estimate: null, ci: null, reason: expect.stringMatching(/NPV undefined/) });
    expect(() => proportion(3, 2)).toThrow(/0 <= x <= n/);
  });

  it('confusion at a threshold counts score >= threshold as positive', () => {
    const c = confusionAt([1, 1, 0, 0, 1], [0.5, 0.49, 0.5, 0.1, 0.9], 0.5);
    expect(c).toEqual({ tp: 2, fn: 1, fp: 1, tn: 1 });
    const m = diagnosticMetrics({ tp: 3, fp: 0, tn: 0, fn: 2 }, 'wilson');
    expect(m.sensitivity.estimate).toBeCloseTo(0.6, 15);
    expect(m.specificity).toMatchObject({ estimate: null, reason: 'specificity undefined: no negative cases' });
    expect(m.npv).toMatchObject({ estimate: 0, numerator: 0, denominator: 2 });
  });
});
