import { describe, expect, it } from 'vitest';
import { selectThreshold } from './threshold.js';

const y = [0, 0, 0, 0, 1, 0, 1, 1, 0, 1];
const s = [0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9];

describe('threshold selection', () => {
  it('Youden picks the threshold maximising sensitivity + specificity - 1', () => {
    const r = selectThreshold(y, s, { rule: 'youden' });
    // at 0.45: sens 4/4, spec 4/6 -> J = 0.667; at 0.6: sens 3/4, spec 5/6 -> J = 0.583
    expect(r.threshold).toBe(0.45);
    expect(r.fractionBelow).toBeCloseTo(0.4, 15);
    expect(r.sensitivity).toBe(1);
  });

  it('target sensitivity: the highest threshold reaching it', () => {
    expect(selectThreshold(y, s, { rule: 'target_sensitivity', target: 0.75 }).threshold).toBe(0.6);
    expect(selectThreshold(y, s, { rule: 'target_sensitivity', target: 1 }).threshold).toBe(0.45);
  });

  it('target NPV: the highest threshold reaching it, with the fraction spared', () => {
    const r = selectThreshold(y, s, { rule: 'target_npv', target: 1 });
    expect(r.threshold).toBe(0.45);
    expect(r.npv).toBe(1);
    expect(r.fractionBelow).toBeCloseTo(0.4, 15);
    const lower = selectThreshold(y, s, { rule: 'target_npv', target: 0.8 });
    expect(lower.threshold).toBe(0.6); // below 0.6: 5 negatives of 6 called negative -> NPV 5/6
  });

  it('an unreachable target or a missing class gives null with a reason', () => {
    expect(selectThreshold([0, 1], [0.9, 0.1], { rule: 'target_npv', target: 0.99 })).toMatchObject({ threshold: null, reason: expect.stringMatching(/NPV/) });
    expect(selectThreshold([0, 0], [0.9, 0.1], { rule: 'youden' })).toMatchObject({ threshold: null, reason: expect.stringMatching(/no positive/) });
    expect(() => selectThreshold(y, s, { rule: 'target_npv', target: 1.5 })).toThrow(/not in \[0, 1\]/);
  });
});
