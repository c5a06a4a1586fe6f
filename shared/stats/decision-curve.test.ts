import { describe, expect, it } from 'vitest';
import { decisionCurve, decisionCurveChecked, decisionThresholds } from './decision-curve.js';

describe('decision curve', () => {
  it('uses exact decimal thresholds 0.01..0.99', () => {
    const t = decisionThresholds();
    expect(t).toHaveLength(99);
    expect(t[14]).toBe(0.15);
    expect(t[28]).toBe(0.29);
    expect(t[98]).toBe(0.99);
  });

  it('net benefit = TP/n - FP/n * pt/(1-pt), treat-all from the prevalence', () => {
    const y = [1, 1, 0, 0, 0];
    const s = [0.9, 0.15, 0.15, 0.5, 0.1];
    const dc = decisionCurve(y, s);
    const at15 = dc[14]!; // score 0.15 counts as treated at pt = 0.15
    expect(at15.threshold).toBe(0.15);
    expect(at15.net_benefit).toBeCloseTo(2 / 5 - (2 / 5) * (0.15 / 0.85), 15);
    expect(at15.treat_all).toBeCloseTo(0.4 - 0.6 * (0.15 / 0.85), 15);
    const at60 = dc[59]!;
    expect(at60.net_benefit).toBeCloseTo(1 / 5, 15);
  });

  it('scores that are not probabilities (logits, threshold 0) have no decision curve: null with the reason', () => {
    const r = decisionCurveChecked([1, 0, 1, 0], [2.1, -0.4, 0.3, -3]);
    expect(r.points).toBeNull();
    expect(r.reason).toMatch(/not probabilities in \[0, 1\].*index 0: 2\.1/);
    expect(decisionCurveChecked([], [])).toEqual({ points: null, reason: 'decision curve undefined: no cases' });
    expect(decisionCurveChecked([1, 0], [0, 1]).points).toHaveLength(99);
  });
});
