import { describe, expect, it } from 'vitest';
import { aucMannWhitney, rocCurve, thinRoc } from './roc.js';

describe('ROC curve', () => {
  it('one vertex per distinct score, ties move diagonally, from (0,0) to (1,1)', () => {
    const c = rocCurve([1, 0, 1, 0], [0.8, 0.5, 0.5, 0.2])!;
    expect(c.map((p) => [p.fpr, p.tpr])).toEqual([[0, 0], [0, 0.5], [0.5, 1], [1, 1]]);
    expect(c[0]!.threshold).toBe(Infinity);
    expect(c[2]!.threshold).toBe(0.5);
    expect(aucMannWhitney([1, 0, 1, 0], [0.8, 0.5, 0.5, 0.2])).toBe(0.875);
  });

  it('is undefined with one class', () => {
    expect(rocCurve([1, 1], [0.2, 0.3])).toBeNull();
    expect(aucMannWhitney([0, 0], [0.2, 0.3])).toBeNull();
  });

  it('thinning keeps the ends and at most the requested number of vertices', () => {
    const n = 5000;
    const y = Array.from({ length: n }, (_, i) => i % 2);
    const s = Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) + (i % 2) * 0.5);
    const full = rocCurve(y, s)!;
    const thin = thinRoc(full, 200);
    expect(thin.length).toBeLessThanOrEqual(200);
    expect(thin[0]).toEqual(full[0]);
    expect(thin[thin.length - 1]).toEqual(full[full.length - 1]);
  });
});
