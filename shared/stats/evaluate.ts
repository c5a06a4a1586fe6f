// The evaluation of a predictions table: per cohort (and per subgroup), per model AUC with
// DeLong CI, diagnostic proportions at the threshold with Wilson or exact CIs, calibration,
// decision curve and ROC points; per pair of models the paired DeLong test and paired bootstrap
// P-values for the differences in NPV and specificity. The JSON shape is the one `fl evaluate
// --json` prints and the study report embeds. Undefined figures are null with a reason.
// An empty score cell (or the text NA, as R and pandas write it) leaves that case out for that
// model only (the model's n says how many it scored); a comparison uses the cases both models
// scored. A case whose label is empty or NA is left out of every figure (settings.missing_labels).
import { DEFAULT_REPLICATES, DEFAULT_SEED, type PairedBootstrap } from './bootstrap.js';
import { diagnosticReplicates, pairedDiagnosticDifferences } from './diagnostic-bootstrap.js';
import { calibration, type Calibration } from './calibration.js';
import { confusionAt, diagnosticMetrics, type Confusion } from './confusion.js';
import { decisionCurveChecked, type DecisionPoint } from './decision-curve.js';
import { aucFromPlacements, delongPlacements, delongTestFromPlacements, type Placements } from './delong.js';
import type { ProportionEstimate } from './estimate.js';
import type { ProportionCiMethod } from './proportions.js';
import { rocCurve, thinRoc } from './roc.js';
import { FlError } from '../errors/index.js';

/** One row of a predictions table, as read from CSV: column name -> text. */
export type PredictionRow = Readonly<Record<string, string>>;

export type EvaluateOptions = {
  readonly label: string;
  readonly scores: readonly string[];
  /** Positive when score >= threshold; one for all models or one per model. Default 0.5. */
  readonly threshold?: number | Readonly<Record<string, number>>;
  readonly proportionCi?: ProportionCiMethod;
  readonly cohortCol?: string;
  readonly subgroupCol?: string;
  /** Paired bootstrap of NPV and specificity differences; replicates 0 turns it off. */
  readonly bootstrap?: { readonly replicates?: number; readonly seed?: number };
  /** How to name row i in error messages (default "data row i+1"), e.g. the CSV line number. */
  readonly rowName?: (index: number) => string;
};

export class EvaluationInputError extends FlError {
  constructor(message: string, readonly row?: number, readonly column?: string) {
    super('evaluate.input', message);
  }
}

export type AucEstimate = {
  readonly estimate: number | null;
  readonly ci: readonly [number, number] | null;
  readonly se: number | null;
  readonly method: 'delong';
  readonly reason?: string;
};

/** [fpr, tpr]. */
export type RocVertex = readonly [number, number];

/** Vertices of the ROC curve kept in the report (enough to draw it from the JSON alone). */
export const ROC_REPORT_POINTS = 200;

export type ModelReport = {
  /** Cases with a score from this model (rows with an empty score cell are left out). */
  readonly n: number;
  readonly positives: number;
  readonly auc: AucEstimate;
  readonly threshold: number;
  readonly confusion: Confusion;
  readonly sensitivity: ProportionEstimate;
  readonly specificity: ProportionEstimate;
  readonly ppv: ProportionEstimate;
  readonly npv: ProportionEstimate;
  readonly accuracy: ProportionEstimate;
  /** Fraction of patients with score < threshold (e.g. spared a biopsy). */
  readonly fraction_below_threshold: number | null;
  readonly fraction_below_threshold_reason?: string;
  readonly calibration: Calibration;
  /** null when undefined (scores not probabilities, no cases): see decision_curve_reason. */
  readonly decision_curve: DecisionPoint[] | null;
  readonly decision_curve_reason?: string;
  /** ROC vertices [fpr, tpr] for plotting (at most ROC_REPORT_POINTS), from (0, 0) to (1, 1); empty when undefined. */
  readonly roc: RocVertex[];
  readonly roc_reason?: string;
};

export type DifferenceTest = {
  readonly estimate: number | null;
  readonly ci: readonly [number, number] | null;
  /** Two-sided: min(1, 2 * min(1 + #{d* <= 0}, 1 + #{d* >= 0}) / (1 + B)). */
  readonly p: number | null;
  /** Replicates in which both figures were defined. */
  readonly valid: number;
  readonly reason?: string;
};

export type Comparison = {
  readonly a: string;
  readonly b: string;
  /** Cases both models scored. */
  readonly n: number;
  /** AUC(a) - AUC(b). */
  readonly auc_difference: number | null;
  readonly auc_difference_ci: readonly [number, number] | null;
  readonly delong: { readonly z: number | null; readonly p: number | null; readonly reason?: string };
  /**
   * NPV(a) - NPV(b) and specificity(a) - specificity(b) at the models' thresholds, paired
   * stratified bootstrap; absent when the bootstrap is turned off (0 replicates).
   */
  readonly bootstrap?: {
    readonly method: 'paired stratified bootstrap';
    readonly replicates: number;
    readonly seed: number;
    readonly npv_difference: DifferenceTest;
    readonly specificity_difference: DifferenceTest;
  };
};

export type GroupReport = {
  readonly n: number;
  readonly positives: number;
  readonly negatives: number;
  readonly prevalence: number | null;
  readonly models: Record<string, ModelReport>;
  readonly comparisons: Comparison[];
};

export type CohortReport = GroupReport & {
  readonly subgroups: Record<string, GroupReport>;
};

export type EvaluationReport = {
  readonly cohorts: Record<string, CohortReport>;
  readonly settings: {
    readonly label: string;
    readonly scores: string[];
    readonly thresholds: Record<string, number>;
    readonly proportion_ci: ProportionCiMethod;
    readonly cohort_col: string | null;
    readonly subgroup_col: string | null;
    readonly bootstrap: { readonly replicates: number; readonly seed: number };
    readonly positive_when: 'score >= threshold';
    /** Rows left out because their label cell was empty or NA. */
    readonly missing_labels: number;
  };
};

/** An empty cell or the text NA (R, pandas): no value. */
export function isMissingCell(v: string | undefined): boolean {
  const t = (v ?? '').trim();
  return t === '' || t === 'NA';
}

interface Parsed {
  readonly missingLabels: number;
  readonly labels: Uint8Array;
  readonly scores: Record<string, Float64Array>;
  readonly cohort: string[] | null;
  readonly subgroup: string[] | null;
}

function parseRows(rows: readonly PredictionRow[], o: EvaluateOptions): Parsed {
  const name = o.rowName ?? ((i: number) => `data row ${i + 1}`);
  if (rows.length === 0) throw new EvaluationInputError('the predictions table has no data rows');
  if (o.scores.length === 0) throw new EvaluationInputError('no score column given');
  const cols = [o.label, ...o.scores, ...(o.cohortCol ? [o.cohortCol] : []), ...(o.subgroupCol ? [o.subgroupCol] : [])];
  for (const c of cols) {
    if (!(c in rows[0]!)) throw new EvaluationInputError(`column "${c}" is missing (columns: ${Object.keys(rows[0]!).join(', ')})`, undefined, c);
  }
  if (new Set(o.scores).size !== o.scores.length) throw new EvaluationInputError(`a score column is named twice: ${o.scores.join(', ')}`);
  const kept: number[] = [];
  rows.forEach((r, i) => { if (!isMissingCell(r[o.label])) kept.push(i); });
  if (kept.length === 0) throw new EvaluationInputError(`every label in column "${o.label}" is empty or NA: nothing to evaluate`, undefined, o.label);
  const labels = new Uint8Array(kept.length);
  const scores: Record<string, Float64Array> = Object.fromEntries(o.scores.map((s) => [s, new Float64Array(kept.length)]));
  kept.forEach((i, k) => {
    const r = rows[i]!;
    const l = Number((r[o.label] ?? '').trim());
    if (l !== 0 && l !== 1) throw new EvaluationInputError(`${name(i)}, column "${o.label}": label ${JSON.stringify(r[o.label] ?? '')} is not 0 or 1 (empty or NA: missing)`, i, o.label);
    labels[k] = l;
    for (const s of o.scores) {
      if (isMissingCell(r[s])) { scores[s]![k] = NaN; continue; } // no score from this model: left out for it
      const x = Number((r[s] ?? '').trim());
      if (!Number.isFinite(x)) throw new EvaluationInputError(`${name(i)}, column "${s}": score ${JSON.stringify(r[s] ?? '')} is not a finite number (empty or NA: missing)`, i, s);
      scores[s]![k] = x;
    }
  });
  const col = (c: string | undefined) => (c ? kept.map((i) => rows[i]![c] ?? '') : null);
  return { missingLabels: rows.length - kept.length, labels, scores, cohort: col(o.cohortCol), subgroup: col(o.subgroupCol) };
}

function thresholdsFor(o: EvaluateOptions): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of o.scores) {
    const t = typeof o.threshold === 'number' ? o.threshold : o.threshold === undefined ? 0.5 : o.threshold[s];
    if (t === undefined) throw new EvaluationInputError(`no threshold given for score column "${s}"`, undefined, s);
    if (!Number.isFinite(t)) throw new EvaluationInputError(`threshold for "${s}" is not a finite number: ${t}`, undefined, s);
    out[s] = t;
  }
  return out;
}

function modelReport(labels: Uint8Array, scores: Float64Array, placements: Placements | string, threshold: number, ci: ProportionCiMethod): ModelReport {
  if (labels.length === 0) placements = 'the model scored no cases';
  const auc: AucEstimate = typeof placements === 'string'
    ? { estimate: null, ci: null, se: null, method: 'delong', reason: `AUC undefined: ${placements}` }
    : (({ estimate, ci, se, reason }) => ({ estimate, ci, se, method: 'delong' as const, ...(reason ? { reason } : {}) }))(aucFromPlacements(placements));
  const confusion = confusionAt(labels, scores, threshold);
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i]!;
  const roc = rocCurve(labels, scores);
  const dc = decisionCurveChecked(labels, scores);
  return {
    n,
    positives,
    auc,
    threshold,
    confusion,
    ...diagnosticMetrics(confusion, ci),
    fraction_below_threshold: n ? (confusion.tn + confusion.fn) / n : null,
    ...(n ? {} : { fraction_below_threshold_reason: 'fraction below threshold undefined: the model scored no cases' }),
    calibration: calibration(labels, scores),
    decision_curve: dc.points,
    ...(dc.reason ? { decision_curve_reason: dc.reason } : {}),
    roc: roc ? thinRoc(roc, ROC_REPORT_POINTS).map((p) => [p.fpr, p.tpr] as const) : [],
    ...(roc ? {} : { roc_reason: typeof placements === 'string' ? `ROC curve undefined: ${placements}` : 'ROC curve undefined: needs positive and negative cases' }),
  };
}

function difference(b: PairedBootstrap): DifferenceTest {
  return { estimate: b.estimate, ci: b.ci, p: b.p, valid: b.valid, ...(b.reason ? { reason: b.reason } : {}) };
}

/** Indices of the cases where every given score is present. */
function scored(n: number, cols: readonly Float64Array[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (cols.every((c) => !Number.isNaN(c[i]!))) out.push(i);
  return out;
}

function take<T extends Uint8Array | Float64Array>(a: T, idx: readonly number[] | null): T {
  if (idx === null) return a;
  const out = new (a.constructor as new (n: number) => T)(idx.length);
  for (let k = 0; k < idx.length; k++) out[k] = a[idx[k]!]!;
  return out;
}

function groupReport(labels: Uint8Array, scores: Record<string, Float64Array>, names: readonly string[], th: Record<string, number>, o: EvaluateOptions): GroupReport {
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i]!;
  const ci = o.proportionCi ?? 'wilson';
  // Per model: the cases it scored (null = all of them).
  const own: Record<string, number[] | null> = {};
  const placements: Record<string, Placements | string> = {};
  const models: Record<string, ModelReport> = {};
  for (const s of names) {
    const idx = scored(n, [scores[s]!]);
    own[s] = idx.length === n ? null : idx;
    const y = take(labels, own[s]!), x = take(scores[s]!, own[s]!);
    placements[s] = delongPlacements(y, x);
    models[s] = modelReport(y, x, placements[s]!, th[s]!, ci);
  }
  const reps = o.bootstrap?.replicates ?? DEFAULT_REPLICATES;
  const seed = o.bootstrap?.seed ?? DEFAULT_SEED;
  const boot = { replicates: reps, seed };
  const calls = (s: string, idx: number[] | null) => Uint8Array.from(take(scores[s]!, idx), (x) => (x >= th[s]! ? 1 : 0));
  const complete = names.every((s) => own[s] === null);
  // With every score present one pass of replicates serves all pairs; otherwise each pair resamples its common cases.
  const shared = reps > 0 && names.length > 1 && complete ? diagnosticReplicates(labels, names.map((s) => calls(s, null)), boot) : null;
  const comparisons: Comparison[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = names[i]!, b = names[j]!;
      let common: number[] | null = null;
      let pa = placements[a]!, pb = placements[b]!;
      if (!complete) {
        const idx = scored(n, [scores[a]!, scores[b]!]);
        common = idx.length === n ? null : idx;
        if (common !== null) {
          const y = take(labels, common);
          pa = delongPlacements(y, take(scores[a]!, common));
          pb = delongPlacements(y, take(scores[b]!, common));
        }
      }
      const t = typeof pa === 'string' || typeof pb === 'string'
        ? { auc_difference: null, ci: null, z: null, p: null, reason: `AUC undefined on the cases both models scored: ${typeof pa === 'string' ? pa : pb}` }
        : delongTestFromPlacements(pa, pb);
      let diffs: ReturnType<typeof pairedDiagnosticDifferences> | null = null;
      if (shared) diffs = pairedDiagnosticDifferences(shared, i, j, boot);
      else if (reps > 0) diffs = pairedDiagnosticDifferences(diagnosticReplicates(take(labels, common), [calls(a, common), calls(b, common)], boot), 0, 1, boot);
      comparisons.push({
        a, b,
        n: common === null ? n : common.length,
        auc_difference: t.auc_difference,
        auc_difference_ci: t.ci,
        delong: { z: t.z, p: t.p, ...(t.reason ? { reason: t.reason } : {}) },
        ...(diffs ? { bootstrap: { method: 'paired stratified bootstrap' as const, replicates: reps, seed, npv_difference: difference(diffs.npv), specificity_difference: difference(diffs.specificity) } } : {}),
      });
    }
  }
  return { n, positives, negatives: n - positives, prevalence: n ? positives / n : null, models, comparisons };
}

function groupsOf(keys: readonly string[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  keys.forEach((k, i) => { const g = m.get(k); if (g) g.push(i); else m.set(k, [i]); });
  return m;
}

/** Evaluates every score column against the label, per cohort and subgroup (see the module comment). */
export function evaluatePredictions(rows: readonly PredictionRow[], o: EvaluateOptions): EvaluationReport {
  const p = parseRows(rows, o);
  const th = thresholdsFor(o);
  const names = [...o.scores];
  const sub = (idx: readonly number[]) => ({
    labels: take(p.labels, idx),
    scores: Object.fromEntries(names.map((s) => [s, take(p.scores[s]!, idx)])),
  });
  const cohorts: Record<string, CohortReport> = {};
  const cohortGroups = p.cohort ? groupsOf(p.cohort) : new Map([['all', Array.from({ length: p.labels.length }, (_, i) => i)]]);
  for (const [cohort, idx] of cohortGroups) {
    const c = sub(idx);
    const subgroups: Record<string, GroupReport> = {};
    if (p.subgroup) {
      for (const [g, gi] of groupsOf(idx.map((i) => p.subgroup![i]!))) {
        const s = sub(gi.map((k) => idx[k]!));
        subgroups[g] = groupReport(s.labels, s.scores, names, th, o);
      }
    }
    cohorts[cohort] = { ...groupReport(c.labels, c.scores, names, th, o), subgroups };
  }
  return {
    cohorts,
    settings: {
      label: o.label,
      scores: names,
      thresholds: th,
      proportion_ci: o.proportionCi ?? 'wilson',
      cohort_col: o.cohortCol ?? null,
      subgroup_col: o.subgroupCol ?? null,
      bootstrap: { replicates: o.bootstrap?.replicates ?? DEFAULT_REPLICATES, seed: o.bootstrap?.seed ?? DEFAULT_SEED },
      positive_when: 'score >= threshold',
      missing_labels: p.missingLabels,
    },
  };
}
