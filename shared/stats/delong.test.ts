import { describe, expect, it } from 'vitest';
import { aucDelong, aucDelongNaive, delongPaired } from './delong.js';
import { aucMannWhitney } from './roc.js';
import { StatsRng } from './rng.js';

function data(n: number, seed: number, levels: number): { y: number[]; a: number[]; b: number[] } {
  const r = new StatsRng(seed);
  const y: number[] = [], a: number[] = [], b: number[] = [];
  for (let i = 0; i < n; i++) {
    const yi = r.below(3) === 0 ? 1 : 0;
    y.push(yi);
    a.push((r.below(levels) + yi * levels * 0.4) / (1.4 * levels));
    b.push((r.below(levels) + yi * levels * 0.2) / (1.2 * levels));
  }
  return { y, a, b };
}

describe('DeLong', () => {
  it('fast placements agree with the O(n^2) computation, with many ties', () => {
    const d = data(3000, 7, 40);
    const fast = aucDelong(d.y, d.a);
    const slow = aucDelongNaive(d.y, d.a);
    expect(Math.abs(fast.estimate! - slow.auc)).toBeLessThan(1e-13);
    expect(Math.abs(fast.variance! - slow.variance) / slow.variance).toBeLessThan(1e-10);
    expect(fast.estimate!).toBeCloseTo(aucMannWhitney(d.y, d.a)!, 14);
  });

  it('matches pROC on a small example (ci.auc, var)', () => {
    const y = [0, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1];
    const p = [0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.25, 0.9];
    const r = aucDelong(y, p);
    expect(r.estimate).toBeCloseTo(0.88888888888888884, 14);
    expect(r.variance).toBeCloseTo(0.009876543209876543, 14);
    expect(r.ci![0]).toBeCloseTo(0.69410610209409296, 12);
    expect(r.ci![1]).toBe(1); // clipped like pROC
  });

  it('never flips the direction: AUC below 0.5 stays below 0.5', () => {
    const d = data(400, 3, 1000);
    const flipped = d.a.map((x) => 1 - x);
    const r = aucDelong(d.y, flipped);
    expect(r.estimate!).toBeLessThan(0.5);
    expect(r.estimate! + aucDelong(d.y, d.a).estimate!).toBeCloseTo(1, 12);
  });

  it('identical scores: Z = 0 and P = 1; a perfect score has zero variance and CI [1, 1]', () => {
    const d = data(200, 5, 50);
    expect(delongPaired(d.y, d.a, d.a.slice())).toMatchObject({ auc_difference: 0, z: 0, p: 1 });
    const perfect = d.y.map((y, i) => y + i * 1e-6);
    const r = aucDelong(d.y, perfect);
    expect(r).toMatchObject({ estimate: 1, variance: 0, ci: [1, 1] });
  });

  it('paired test is antisymmetric and its P-value two-sided', () => {
    const d = data(500, 11, 100);
    const ab = delongPaired(d.y, d.a, d.b);
    const ba = delongPaired(d.y, d.b, d.a);
    expect(ab.z!).toBeCloseTo(-ba.z!, 12);
    expect(ab.p!).toBeCloseTo(ba.p!, 14);
    expect(ab.p!).toBeGreaterThan(0);
    expect(ab.p!).toBeLessThan(1);
  });

  it('undefined cases are null with a reason, never NaN', () => {
    expect(aucDelong([1, 1, 1], [0.1, 0.2, 0.3])).toMatchObject({ estimate: null, ci: null, reason: expect.stringMatching(/no negative/) });
    const one = aucDelong([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3]);
    expect(one.estimate).toBe(1);
    expect(one.ci).toBeNull();
    expect(one.reason).toMatch(/at least 2/);
    expect(delongPaired([0, 0], [0.1, 0.2], [0.3, 0.4])).toMatchObject({ z: null, p: null });
  });

  it('rejects labels other than 0/1 and non-finite scores', () => {
    expect(() => aucDelong([0, 2], [0.1, 0.2])).toThrow(/index 1/);
    expect(() => aucDelong([0, 1], [0.1, NaN])).toThrow(/index 1/);
  });
});
