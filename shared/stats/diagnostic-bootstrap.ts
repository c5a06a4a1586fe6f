// Fast paired bootstrap of NPV and specificity for several models at once. Each replicate is the
// same stratified resample as forEachResample (same seed, same cases), but instead of evaluating
// each statistic over the resampled indices it counts the resampled cases per pattern of
// (label, model calls), so one pass over a replicate serves every model and every pair.
// n = 20 000 cases, 3 models, 2000 replicates: about a second.
import { DEFAULT_REPLICATES, forEachResample, summarisePaired, type BootstrapOptions, type PairedBootstrap } from './bootstrap.js';

export interface DiagnosticReplicates {
  /** Per model: NPV and specificity on the full sample (null when undefined) and per replicate (NaN when undefined). */
  readonly npv: { readonly full: number | null; readonly reps: Float64Array }[];
  readonly specificity: { readonly full: number | null; readonly reps: Float64Array }[];
}

/**
 * labels[i] in {0, 1}; called[k][i] = 1 when model k calls case i positive (score >= its threshold).
 */
export function diagnosticReplicates(labels: ArrayLike<number>, called: readonly ArrayLike<number>[], o: BootstrapOptions = {}): DiagnosticReplicates {
  const n = labels.length;
  const k = called.length;
  // Pattern id per case: the label and the calls of all models.
  const ids = new Map<string, number>();
  const patternOf = new Int32Array(n);
  const patterns: { label: number; calls: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const calls = Uint8Array.from({ length: k }, (_, m) => (called[m]![i] ? 1 : 0));
    const key = `${labels[i]}:${calls.join('')}`;
    let id = ids.get(key);
    if (id === undefined) { id = patterns.length; ids.set(key, id); patterns.push({ label: labels[i]!, calls }); }
    patternOf[i] = id;
  }
  const P = patterns.length;
  const stats = (count: Float64Array, m: number): { npv: number; spec: number } => {
    let tn = 0, fn = 0, neg = 0;
    for (let p = 0; p < P; p++) {
      const c = count[p]!;
      if (c === 0) continue;
      const pat = patterns[p]!;
      if (pat.label === 0) { neg += c; if (!pat.calls[m]) tn += c; } else if (!pat.calls[m]) fn += c;
    }
    return { npv: tn + fn ? tn / (tn + fn) : NaN, spec: neg ? tn / neg : NaN };
  };
  const fullCount = new Float64Array(P);
  for (let i = 0; i < n; i++) fullCount[patternOf[i]!]++;
  const reps = o.replicates ?? DEFAULT_REPLICATES;
  const npv = Array.from({ length: k }, (_, m) => ({ full: nullIfNaN(stats(fullCount, m).npv), reps: new Float64Array(reps) }));
  const specificity = Array.from({ length: k }, (_, m) => ({ full: nullIfNaN(stats(fullCount, m).spec), reps: new Float64Array(reps) }));
  const count = new Float64Array(P);
  let r = 0;
  forEachResample(labels, o, (idx) => {
    count.fill(0);
    for (let j = 0; j < idx.length; j++) count[patternOf[idx[j]!]!]++;
    for (let m = 0; m < k; m++) {
      const s = stats(count, m);
      npv[m]!.reps[r] = s.npv;
      specificity[m]!.reps[r] = s.spec;
    }
    r++;
  });
  return { npv, specificity };
}

function nullIfNaN(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

/** The paired NPV and specificity differences of models a and b (indices into `called`). */
export function pairedDiagnosticDifferences(rep: DiagnosticReplicates, a: number, b: number, o: BootstrapOptions = {}): { npv: PairedBootstrap; specificity: PairedBootstrap } {
  return {
    npv: summarisePaired(rep.npv[a]!.full, rep.npv[b]!.full, rep.npv[a]!.reps, rep.npv[b]!.reps, o),
    specificity: summarisePaired(rep.specificity[a]!.full, rep.specificity[b]!.full, rep.specificity[a]!.reps, rep.specificity[b]!.reps, o),
  };
}
