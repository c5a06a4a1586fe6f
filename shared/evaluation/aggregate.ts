// `privacy: aggregate` evaluation: a site sends, per cohort and model, only confusion counts on a
// fixed threshold grid (0.00, 0.01, ..., 1.00), the counts at the frozen threshold, and the Brier
// sum: no per-case score or pseudonym leaves the site. From these the coordinator computes the
// threshold-based figures with exact CIs, the decision curve exactly (its thresholds are on the
// grid), a ROC polygon and its trapezoid AUC; figures that need per-case scores (DeLong CI and
// test, bootstrap, calibration slope) are reported unavailable with the reason.
import { z } from 'zod';

export const GRID = Array.from({ length: 101 }, (_, k) => k / 100);
export type Counts = [tp: number, fp: number, tn: number, fn: number];

const count = z.number().int().min(0);
export const modelSummarySchema = z.strictObject({
  n: count,
  positives: count,
  /** 101 x [tp, fp, tn, fn], flattened, at thresholds k/100 (positive when score >= k/100). */
  grid: z.array(count).length(GRID.length * 4),
  /** [tp, fp, tn, fn] at the model's frozen threshold (absent for validation). */
  at: z.array(count).length(4).optional(),
  brier_sum: z.number().min(0),
});
export const aggregateSchema = z.strictObject({
  v: z.literal(1),
  cohorts: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.record(z.string(), modelSummarySchema)),
});
export type ModelSummary = z.output<typeof modelSummarySchema>;
export type AggregateEvaluation = z.output<typeof aggregateSchema>;

export function countsAt(labels: readonly number[], scores: readonly number[], t: number): Counts {
  const c: Counts = [0, 0, 0, 0];
  for (let i = 0; i < labels.length; i++) {
    const pos = scores[i]! >= t;
    if (labels[i] === 1) pos ? c[0]++ : c[3]++;
    else pos ? c[1]++ : c[2]++;
  }
  return c;
}

/** The site side: summarise one cohort's scores for one model. */
export function summarise(labels: readonly number[], scores: readonly number[], threshold?: number): ModelSummary {
  const grid: number[] = [];
  for (const t of GRID) grid.push(...countsAt(labels, scores, t));
  let brier = 0;
  for (let i = 0; i < labels.length; i++) brier += (scores[i]! - labels[i]!) ** 2;
  return {
    n: labels.length, positives: labels.filter((l) => l === 1).length, grid, brier_sum: brier,
    ...(threshold !== undefined ? { at: countsAt(labels, scores, threshold) } : {}),
  };
}

/** Sums summaries of the same model over sites (pooled cohorts). */
export function pool(parts: readonly ModelSummary[]): ModelSummary {
  const out: ModelSummary = { n: 0, positives: 0, grid: new Array<number>(GRID.length * 4).fill(0), brier_sum: 0 };
  let at: number[] | undefined = parts.every((p) => p.at) ? [0, 0, 0, 0] : undefined;
  for (const p of parts) {
    out.n += p.n;
    out.positives += p.positives;
    out.brier_sum += p.brier_sum;
    p.grid.forEach((v, i) => (out.grid[i]! += v));
    if (at && p.at) p.at.forEach((v, i) => (at![i]! += v));
  }
  if (at) out.at = at;
  else at = undefined;
  return out;
}

export function gridCounts(s: ModelSummary, k: number): Counts {
  return s.grid.slice(k * 4, k * 4 + 4) as Counts;
}

/** Threshold on the grid by rule, from pooled validation counts. */
export function gridThreshold(s: ModelSummary, rule: 'youden' | 'target_sensitivity' | 'target_npv', target: number): { threshold: number | null; fractionBelow: number | null; reason?: string } {
  let best: number | null = null;
  let bestJ = -Infinity;
  for (let k = 0; k < GRID.length; k++) {
    const [tp, fp, tn, fn] = gridCounts(s, k);
    const sens = tp + fn > 0 ? tp / (tp + fn) : NaN;
    const spec = tn + fp > 0 ? tn / (tn + fp) : NaN;
    const npv = tn + fn > 0 ? tn / (tn + fn) : NaN;
    if (rule === 'youden') {
      const j = sens + spec - 1;
      if (j > bestJ) { bestJ = j; best = k; }
    } else if ((rule === 'target_sensitivity' ? sens : npv) >= target) {
      best = k; // highest grid threshold that still reaches the target
    }
  }
  if (best === null) return { threshold: null, fractionBelow: null, reason: `no grid threshold reaches ${rule} ${target}` };
  const [, , tn, fn] = gridCounts(s, best);
  return { threshold: GRID[best]!, fractionBelow: s.n > 0 ? (tn + fn) / s.n : null };
}

/** ROC polygon from the grid (plus (0,0) and (1,1)) and its trapezoid area. */
export function gridRoc(s: ModelSummary): { roc: [number, number][]; auc: number | null } {
  const neg = s.n - s.positives;
  if (s.positives === 0 || neg === 0) return { roc: [], auc: null };
  const pts: [number, number][] = [[1, 1]];
  for (let k = 0; k < GRID.length; k++) {
    const [tp, fp] = gridCounts(s, k);
    pts.push([fp / neg, tp / s.positives]);
  }
  pts.push([0, 0]);
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let auc = 0;
  for (let i = 1; i < pts.length; i++) auc += (pts[i]![0] - pts[i - 1]![0]) * (pts[i]![1] + pts[i - 1]![1]) / 2;
  return { roc: pts, auc };
}
