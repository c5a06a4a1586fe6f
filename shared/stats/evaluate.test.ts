import { describe, expect, it } from 'vitest';
import { evaluatePredictions, EvaluationInputError, type PredictionRow } from './evaluate.js';
import { aucDelong, delongPaired } from './delong.js';
import { StatsRng } from './rng.js';

function rows(n: number, seed: number): PredictionRow[] {
  const r = new StatsRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const y = r.below(4) === 0 ? 1 : 0;
    const a = Math.min(0.99, (r.below(1000) / 1000) * 0.7 + y * 0.3);
    const b = Math.min(0.99, (r.below(1000) / 1000) * 0.8 + y * 0.15);
    return { label: String(y), ddfn: String(a), gsus: String(b), cohort: i % 3 === 0 ? 'prospective' : 'test', sex: i % 2 ? 'F' : 'M' };
  });
}

/** Every number in the report is finite (JSON.stringify would silently turn NaN into null). */
function allFinite(x: unknown, path = '$'): string[] {
  if (typeof x === 'number') return Number.isFinite(x) ? [] : [path];
  if (Array.isArray(x)) return x.flatMap((v, i) => allFinite(v, `${path}[${i}]`));
  if (x && typeof x === 'object') return Object.entries(x).flatMap(([k, v]) => allFinite(v, `${path}.${k}`));
  return [];
}

describe('evaluatePredictions', () => {
  const data = rows(300, 9);

  it('reports per cohort the issue shape, consistent with the underlying functions', () => {
    const rep = evaluatePredictions(data, { label: 'label', scores: ['ddfn', 'gsus'], threshold: { ddfn: 0.5, gsus: 0.4 }, cohortCol: 'cohort', subgroupCol: 'sex', bootstrap: { replicates: 200, seed: 1 } });
    expect(Object.keys(rep.cohorts)).toEqual(['prospective', 'test']);
    const test = rep.cohorts.test!;
    const sel = data.filter((r) => r.cohort === 'test');
    expect(test.n).toBe(sel.length);
    expect(test.positives).toBe(sel.filter((r) => r.label === '1').length);
    const y = sel.map((r) => Number(r.label));
    const a = sel.map((r) => Number(r.ddfn));
    const b = sel.map((r) => Number(r.gsus));
    const m = test.models.ddfn!;
    expect(m.auc.estimate).toBe(aucDelong(y, a).estimate);
    expect(m.auc.ci).toEqual(aucDelong(y, a).ci);
    expect(m.auc.method).toBe('delong');
    expect(m.threshold).toBe(0.5);
    expect(test.models.gsus!.threshold).toBe(0.4);
    const c = m.confusion;
    expect(c.tp + c.fp + c.tn + c.fn).toBe(sel.length);
    expect(m.npv).toMatchObject({ estimate: c.tn / (c.tn + c.fn), method: 'wilson' });
    expect(m.calibration.intercept).not.toBeNull();
    expect(m.decision_curve).toHaveLength(99);
    expect(m.roc[0]).toEqual([0, 0]);
    expect(m.roc[m.roc.length - 1]).toEqual([1, 1]);
    expect(m.roc.length).toBeLessThanOrEqual(200);
    expect(m.n).toBe(sel.length);
    expect(test.comparisons).toHaveLength(1);
    const cmp = test.comparisons[0]!;
    const t = delongPaired(y, a, b);
    expect(cmp).toMatchObject({ a: 'ddfn', b: 'gsus', auc_difference: t.auc_difference, delong: { z: t.z, p: t.p } });
    expect(cmp.n).toBe(sel.length);
    expect(cmp.bootstrap).toMatchObject({ replicates: 200, seed: 1 });
    expect(cmp.bootstrap!.npv_difference.p).toBeGreaterThan(0);
    expect(cmp.bootstrap!.specificity_difference.valid).toBe(200);
    expect(Object.keys(test.subgroups).sort()).toEqual(['F', 'M']);
    expect(test.subgroups.F!.n + test.subgroups.M!.n).toBe(test.n);
    expect(allFinite(JSON.parse(JSON.stringify(rep)))).toEqual([]);
    expect(allFinite(rep)).toEqual([]);
  });

  it('is deterministic for a seed', () => {
    const o = { label: 'label', scores: ['ddfn', 'gsus'], bootstrap: { replicates: 100, seed: 5 } };
    expect(JSON.stringify(evaluatePredictions(data, o))).toBe(JSON.stringify(evaluatePredictions(data, o)));
  });

  it('an empty score cell leaves the case out for that model only; comparisons use the common cases', () => {
    const holes = data.map((r, i) => (i % 10 === 0 ? { ...r, gsus: '' } : i % 10 === 1 ? { ...r, ddfn: ' ' } : r));
    const rep = evaluatePredictions(holes, { label: 'label', scores: ['ddfn', 'gsus'], bootstrap: { replicates: 50, seed: 2 } });
    const all = rep.cohorts.all!;
    expect(all.n).toBe(300);
    expect(all.models.ddfn!.n).toBe(270);
    expect(all.models.gsus!.n).toBe(270);
    const keep = holes.filter((r) => r.ddfn!.trim() !== '');
    expect(all.models.ddfn!.auc.estimate).toBe(aucDelong(keep.map((r) => Number(r.label)), keep.map((r) => Number(r.ddfn))).estimate);
    const both = holes.filter((r) => r.ddfn!.trim() !== '' && r.gsus !== '');
    expect(all.comparisons[0]!.n).toBe(240);
    expect(all.comparisons[0]!.delong.z).toBe(delongPaired(both.map((r) => Number(r.label)), both.map((r) => Number(r.ddfn)), both.map((r) => Number(r.gsus))).z);
    expect(all.comparisons[0]!.bootstrap!.replicates).toBe(50);
    expect(allFinite(rep)).toEqual([]);
    expect(evaluatePredictions(data, { label: 'label', scores: ['ddfn', 'gsus'], bootstrap: { replicates: 0 } }).cohorts.all!.comparisons[0]!.bootstrap).toBeUndefined();
  });

  it('one-class cohorts give nulls with reasons, never NaN', () => {
    const neg = data.filter((r) => r.label === '0').slice(0, 20);
    const rep = evaluatePredictions(neg, { label: 'label', scores: ['ddfn', 'gsus'], proportionCi: 'exact', bootstrap: { replicates: 50 } });
    const m = rep.cohorts.all!.models.ddfn!;
    expect(m.auc).toMatchObject({ estimate: null, reason: expect.stringMatching(/no positive/) });
    expect(m.sensitivity).toMatchObject({ estimate: null, reason: expect.any(String) });
    expect(m.calibration.slope).toBeNull();
    expect(m.roc).toEqual([]);
    expect(rep.cohorts.all!.comparisons[0]!.delong).toMatchObject({ z: null, p: null, reason: expect.any(String) });
    expect(allFinite(rep)).toEqual([]);
  });

  it('the text NA (R, pandas) in a score column is missing like an empty cell; an NA or empty label leaves the case out', () => {
    const withNa = data.slice(0, 60).map((r, i) => (i === 3 ? { ...r, ddfn: 'NA' } : i === 5 ? { ...r, label: 'NA' } : i === 7 ? { ...r, label: ' ' } : r));
    const rep = evaluatePredictions(withNa, { label: 'label', scores: ['ddfn', 'gsus'], bootstrap: { replicates: 0 } });
    expect(rep.settings.missing_labels).toBe(2);
    const all = rep.cohorts.all!;
    expect(all.n).toBe(58);
    expect(all.models.ddfn!.n).toBe(57);
    expect(all.models.gsus!.n).toBe(58);
    const keep = withNa.filter((_, i) => i !== 3 && i !== 5 && i !== 7);
    expect(all.models.ddfn!.auc.estimate).toBe(aucDelong(keep.map((r) => Number(r.label)), keep.map((r) => Number(r.ddfn))).estimate);
  });

  it('a model with no scored cases: every null field carries a reason', () => {
    const none = data.slice(0, 40).map((r) => ({ ...r, ddfn: 'NA' }));
    const m = evaluatePredictions(none, { label: 'label', scores: ['ddfn', 'gsus'], bootstrap: { replicates: 20 } }).cohorts.all!.models.ddfn!;
    expect(m.n).toBe(0);
    const unexplained: string[] = [];
    const walk = (o: Record<string, unknown>, path: string): void => {
      for (const [k, v] of Object.entries(o)) {
        if (v === null && !(`${k}_reason` in o) && !('reason' in o)) unexplained.push(`${path}.${k}`);
        else if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${path}.${k}`);
      }
    };
    walk(m as unknown as Record<string, unknown>, 'ddfn');
    expect(unexplained).toEqual([]);
    expect(m.auc.reason).toBe('AUC undefined: the model scored no cases');
    expect(m.decision_curve).toBeNull();
    expect(m.roc_reason).toMatch(/scored no cases/);
  });

  it('logit scores (threshold 0): decision curve and calibration null with reasons, AUC defined', () => {
    const logits = data.slice(0, 80).map((r) => ({ ...r, ddfn: String(Math.log(Number(r.ddfn) / (1 - Number(r.ddfn)))) }));
    const m = evaluatePredictions(logits, { label: 'label', scores: ['ddfn'], threshold: 0, bootstrap: { replicates: 0 } }).cohorts.all!.models.ddfn!;
    expect(m.auc.estimate).not.toBeNull();
    expect(m.decision_curve).toBeNull();
    expect(m.decision_curve_reason).toMatch(/not probabilities/);
    expect(m.calibration.reason).toMatch(/not probabilities/);
  });

  it('bad input names the row and the column', () => {
    const base = { label: 'label', scores: ['ddfn'], bootstrap: { replicates: 0 } };
    const bad = (rs: PredictionRow[], o: Partial<typeof base> & { rowName?: (i: number) => string } = {}) => () => evaluatePredictions(rs, { ...base, ...o });
    expect(bad([])).toThrow(/no data rows/);
    expect(bad(data, { scores: ['nope'] })).toThrow(/column "nope" is missing/);
    expect(bad([data[0]!, { ...data[1]!, label: '2' }])).toThrow(/data row 2, column "label": label "2" is not 0 or 1/);
    expect(bad([data[0]!, { ...data[1]!, ddfn: 'abc' }], { rowName: (i) => `line ${i + 2}` })).toThrow(/line 3, column "ddfn": score "abc"/);
    let err: unknown;
    try { bad([{ ...data[0]!, ddfn: 'n/a' }])(); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EvaluationInputError);
    expect((err as EvaluationInputError).column).toBe('ddfn');
    expect((err as EvaluationInputError).row).toBe(0);
  });
});
