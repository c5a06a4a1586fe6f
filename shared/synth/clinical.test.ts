import { describe, expect, it } from 'vitest';
import { drawClinicalCase, STUDY_NAMES, STUDY_PROFILES } from './clinical.js';
import { Rng } from './rng.js';

function cases(study: (typeof STUDY_NAMES)[number], n: number) {
  return Array.from({ length: n }, (_, i) => drawClinicalCase(study, new Rng(7, 'site-1', `c${i}`, 'clinical')));
}
const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;

describe('seed-study clinical variables', () => {
  it('prevalences close to the profiles (N+, >= 3 nodes among N+, NSLN among 1-2 positive SLN)', () => {
    for (const s of STUDY_NAMES) {
      const c = cases(s, 4000);
      const pos = c.filter((x) => x.n_positive_nodes > 0);
      expect(Math.abs(pos.length / c.length - STUDY_PROFILES[s].nodePositive), s).toBeLessThan(0.05);
      expect(Math.abs(pos.filter((x) => x.n_positive_nodes >= 3).length / pos.length - STUDY_PROFILES[s].highBurden), s).toBeLessThan(0.08);
    }
    const car = cases('car', 4000).filter((x) => x.n_positive_sln >= 1 && x.n_positive_sln <= 2);
    const nsln = mean(car.map((x) => x.label));
    expect(nsln).toBeGreaterThan(0.15);
    expect(nsln).toBeLessThan(0.45);
    expect(car.length).toBeGreaterThan(1000);
  });

  it('associations go the papers\' way and the counts are consistent', () => {
    const c = cases('nodal-burden', 4000);
    const n0 = c.filter((x) => x.n_positive_nodes === 0), np = c.filter((x) => x.n_positive_nodes > 0);
    expect(mean(np.map((x) => x.tumor_size_mm))).toBeGreaterThan(mean(n0.map((x) => x.tumor_size_mm)));
    expect(mean(np.map((x) => x.ki67))).toBeGreaterThan(mean(n0.map((x) => x.ki67)));
    expect(mean(np.map((x) => x.aus_suspicious))).toBeGreaterThan(mean(n0.map((x) => x.aus_suspicious)) + 0.25);
    expect(mean(np.map((x) => x.aln_class))).toBeGreaterThan(mean(n0.map((x) => x.aln_class)) + 0.5);
    expect(mean(c.map((x) => (x.er === 'positive' ? 1 : 0)))).toBeCloseTo(0.76, 1);
    for (const x of c) {
      expect(x.n_positive_sln + x.nsln_positive).toBe(x.n_positive_nodes);
      expect(x.label).toBe(x.n_positive_nodes > 0 ? 1 : 0);
    }
  });
});
