// Agreement with R (pROC 1.18 ci.auc / roc.test DeLong, binom.test, prop.test(correct = FALSE),
// glm) on the datasets of fixtures/make-fixtures.R; the reference values are committed, R is not needed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aucDelong, delongPaired } from './delong.js';
import { confusionAt } from './confusion.js';
import { wilsonCi, exactCi } from './proportions.js';
import { calibration } from './calibration.js';
import { evaluatePredictions } from './evaluate.js';

interface Ci { x: number; n: number; wilson: [number, number] | null; exact: [number, number] | null }
interface Ref {
  n: number; positives: number;
  auc_a: { estimate: number; ci: [number, number]; variance: number };
  auc_b: { estimate: number; ci: [number, number]; variance: number };
  delong: { z: number; p: number };
  confusion_a_05: { tp: number; fp: number; tn: number; fn: number };
  proportions_a_05: Record<string, Ci>;
  calibration_a: { intercept: number; slope: number | null; brier: number; separated: boolean };
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  data: Record<string, { y: number[]; a: number[]; b: number[] } | { formula: string }>;
  reference: Record<string, Ref>;
};

/** The n = 20 000 dataset, bit-exact with formula20000() in make-fixtures.R. */
function formula20000(): { y: number[]; a: number[]; b: number[] } {
  const m = 2147483647;
  const y: number[] = [], a: number[] = [], b: number[] = [];
  for (let i = 1; i <= 20000; i++) {
    const lcg = (c1: number, c2: number) => (((i * c1) % m) * c2) % m / m;
    const u1 = lcg(48271, 16807), u2 = lcg(69621, 48271), u3 = lcg(16807, 69621);
    const yi = u3 < 0.3 ? 1 : 0;
    y.push(yi); a.push((u1 + yi * 0.3) / 1.3); b.push((u1 * 0.5 + u2 * 0.5 + yi * 0.2) / 1.2);
  }
  return { y, a, b };
}

function close(actual: number | null | undefined, expected: number, rel: number): void {
  expect(actual).not.toBeNull();
  const tol = rel * Math.max(Math.abs(expected), 1e-300) + 1e-300;
  if (Math.abs(actual! - expected) > tol) expect.fail(`${actual} vs R ${expected} (relative ${Math.abs(actual! - expected) / Math.abs(expected)})`);
}

/** p-values: relative 1e-6 down to 1e-12, absolute below. */
function closeP(actual: number | null | undefined, expected: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(Math.max(1e-6 * expected, 1e-14));
}

describe('agreement with R', () => {
  for (const [name, ref] of Object.entries(fixture.reference)) {
    it(name, () => {
      const raw = fixture.data[name]!;
      const d = 'formula' in raw ? formula20000() : raw;
      expect(d.y.length).toBe(ref.n);
      expect(d.y.reduce((s, v) => s + v, 0)).toBe(ref.positives);
      for (const s of ['a', 'b'] as const) {
        const r = aucDelong(d.y, d[s]);
        const rr = ref[`auc_${s}`];
        close(r.estimate, rr.estimate, 1e-6);
        if (rr.variance === 0) expect(r.variance).toBe(0); else close(r.variance, rr.variance, 1e-6);
        close(r.ci![0], rr.ci[0], 1e-6);
        close(r.ci![1], rr.ci[1], 1e-6);
      }
      const t = delongPaired(d.y, d.a, d.b);
      close(t.z, ref.delong.z, 1e-6);
      closeP(t.p, ref.delong.p);
      const c = confusionAt(d.y, d.a, 0.5);
      expect(c).toEqual(ref.confusion_a_05);
      for (const [what, pc] of Object.entries(ref.proportions_a_05)) {
        if (pc.n === 0) continue;
        const w = wilsonCi(pc.x, pc.n);
        const e = exactCi(pc.x, pc.n);
        for (const k of [0, 1]) {
          if (pc.wilson![k] === 0) expect(w[k], what).toBe(0); else close(w[k], pc.wilson![k]!, 1e-6);
          if (pc.exact![k] === 0) expect(e[k], what).toBe(0); else close(e[k], pc.exact![k]!, 1e-6);
        }
      }
      const cal = calibration(d.y, d.a);
      close(cal.intercept, ref.calibration_a.intercept, 1e-4);
      close(cal.brier, ref.calibration_a.brier, 1e-6);
      if (ref.calibration_a.slope === null) {
        expect(cal.slope).toBeNull();
        expect(cal.reason).toMatch(/separation/);
      } else close(cal.slope, ref.calibration_a.slope, 1e-4);
    });
  }
});

describe('evaluatePredictions end to end agrees with R', () => {
  for (const [name, ref] of Object.entries(fixture.reference)) {
    it(name, () => {
      const raw = fixture.data[name]!;
      const d = 'formula' in raw ? formula20000() : raw;
      const rows = d.y.map((y, i) => ({ label: String(y), a: String(d.a[i]), b: String(d.b[i]) }));
      const r = evaluatePredictions(rows, { label: 'label', scores: ['a', 'b'], bootstrap: { replicates: 0, seed: 1 } });
      const c = r.cohorts.all!;
      expect(c.n).toBe(ref.n);
      expect(c.positives).toBe(ref.positives);
      const a = c.models.a!;
      close(a.auc.estimate, ref.auc_a.estimate, 1e-6);
      close(a.auc.ci![0], ref.auc_a.ci[0], 1e-6);
      close(a.auc.ci![1], ref.auc_a.ci[1], 1e-6);
      close(c.models.b!.auc.estimate, ref.auc_b.estimate, 1e-6);
      expect(a.confusion).toEqual(ref.confusion_a_05);
      for (const what of ['sensitivity', 'specificity', 'ppv', 'npv', 'accuracy'] as const) {
        const pc = ref.proportions_a_05[what]!;
        if (pc.n === 0) { expect(a[what].estimate).toBeNull(); expect(a[what].reason).toBeTruthy(); continue; }
        expect(a[what].method).toBe('wilson');
        for (const k of [0, 1]) {
          if (pc.wilson![k] === 0) expect(a[what].ci![k]).toBe(0); else close(a[what].ci![k], pc.wilson![k]!, 1e-6);
        }
      }
      const cmp = c.comparisons[0]!;
      close(cmp.delong.z, ref.delong.z, 1e-6);
      closeP(cmp.delong.p, ref.delong.p);
      close(a.calibration.intercept, ref.calibration_a.intercept, 1e-4);
      if (ref.calibration_a.slope === null) expect(a.calibration.slope).toBeNull(); else close(a.calibration.slope, ref.calibration_a.slope, 1e-4);
      expect(JSON.stringify(r)).not.toMatch(/NaN|Infinity/);
    });
  }
});
