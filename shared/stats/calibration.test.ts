import { describe, expect, it } from 'vitest';
import { calibration, calibrationBins, calibrationCurve, P_CLIP } from './calibration.js';

const y = [0, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1];
const p = [0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.25, 0.9];

describe('calibration', () => {
  it('intercept, slope and Brier match glm / R', () => {
    const c = calibration(y, p);
    // R: coef(glm(y ~ 1, offset = lp, family = binomial)); coef(glm(y ~ lp, family = binomial))
    expect(Math.abs(c.intercept! - 0.19339153674517578)).toBeLessThan(1e-8);
    expect(Math.abs(c.slope! - 2.02629706985296965)).toBeLessThan(1e-8);
    expect(c.brier).toBeCloseTo(0.153125, 14);
    expect(c.reason).toBeUndefined();
  });

  it('complete separation: slope is null with a reason, intercept still estimated', () => {
    const c = calibration([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9]);
    expect(c.slope).toBeNull();
    expect(c.reason).toMatch(/complete separation/);
    expect(c.intercept).not.toBeNull();
    expect(Number.isFinite(c.intercept!)).toBe(true);
  });

  it('one class, or scores that are not probabilities: null with reasons', () => {
    expect(calibration([1, 1], [0.2, 0.4])).toMatchObject({ intercept: null, slope: null, reason: expect.stringMatching(/no negative/) });
    expect(calibration([0, 1], [0.2, 1.4])).toMatchObject({ brier: null, reason: expect.stringMatching(/not probabilities/) });
  });

  it('clips p = 0 and p = 1 before the logit instead of producing infinities, and says so', () => {
    const c = calibration([0, 1, 0, 1, 1], [0, 1, 0.5, 0.4, 0.7]);
    expect(Number.isFinite(c.intercept!)).toBe(true);
    expect(Number.isFinite(c.slope!)).toBe(true);
    expect(c.note).toBe(`2 scores are exactly 0 or 1 (logit infinite): clipped to [${P_CLIP}, 1 - ${P_CLIP}] before logit(p), so the calibration intercept and slope depend on that constant`);
    expect(calibration([0, 1, 0, 1, 1], [0.01, 0.99, 0.5, 0.4, 0.7]).note).toBeUndefined();
  });

  it('few cases: fewer bins (about 10 cases each, 2 to 10), each with a Wilson CI', () => {
    expect([5, 20, 35, 99, 100, 5000].map(calibrationBins)).toEqual([2, 2, 3, 9, 10, 10]);
    const yy = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const pp = yy.map((_, i) => (i + 0.5) / 30);
    const c = calibration(yy, pp);
    expect(c.bins).toBe(3);
    expect(c.curve).toHaveLength(3);
    expect(c.curve.map((b) => b.n)).toEqual([10, 10, 10]);
    for (const b of c.curve) expect(b.ci[0]).toBeLessThanOrEqual(b.observed);
  });

  it('binned curve: equal-width bins, empty bins left out', () => {
    const bins = calibrationCurve(y, p, 5);
    expect(bins.map((b) => b.n)).toEqual([1, 4, 3, 2, 2]); // 0.2 opens the second bin
    expect(bins[0]).toMatchObject({ lower: 0, upper: 0.2, observed: 0 });
    expect(bins.reduce((s, b) => s + b.n, 0)).toBe(y.length);
  });
});
