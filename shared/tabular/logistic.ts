// family: logistic - Newton/IRLS on the score vectors and information matrices summed across sites
// (DataSHIELD ds.glm's scheme): the result is the maximum-likelihood fit of the pooled rows.
// Aliased columns (exact collinearity) are dropped as R's glm does (later column aliased, estimate
// null); complete or quasi-complete separation is reported instead of returning huge coefficients.
import { twoSidedP, qnorm } from '../stats/distributions.js';
import { Federation, type OkReply } from './federation.js';
import { cholesky, choleskyInverse, choleskySolve, independentColumns, type Matrix } from './linalg.js';
import { ALL } from './protocol.js';

export interface Term {
  term: string;
  estimate: number | null;
  std_error: number | null;
  z: number | null;
  p: number | null;
  ci: [number, number] | null;
}

export interface LogisticResult {
  family: 'logistic';
  n: number; events: number;
  terms: Term[];
  deviance: number; null_deviance: number; aic: number;
  iterations: number; converged: boolean;
  aliased: string[];
  separation: { detected: boolean; message?: string };
  /** Covariance of the estimates (kept terms, in `terms` order without aliased ones). */
  covariance: Matrix | null;
}

export interface LogisticOptions { maxIterations?: number; epsilon?: number; level?: number }

export const INTERCEPT = '(Intercept)';

function addGlm(replies: OkReply<'glm'>[], task = 0) {
  const first = replies[0]!.tasks[task]!;
  const p = first.score.length;
  const score = new Array<number>(p).fill(0);
  const info = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  let n = 0, events = 0, deviance = 0, saturated = 0;
  for (const r of replies) {
    const t = r.tasks[task]!;
    n += t.n; events += t.events; deviance += t.deviance; saturated += t.saturated;
    for (let i = 0; i < p; i++) {
      score[i]! += t.score[i]!;
      for (let j = 0; j < p; j++) info[i]![j]! += t.information[i]![j]!;
    }
  }
  return { n, events, deviance, saturated, score, info };
}
export { addGlm as sumGlmReplies };

export function nullDeviance(n: number, events: number): number {
  const q = events / n;
  const ll = (events > 0 ? events * Math.log(q) : 0) + (n - events > 0 ? (n - events) * Math.log(1 - q) : 0);
  return -2 * ll;
}

export async function fitLogistic(fed: Federation, outcome: string, columns: string[], options: LogisticOptions = {}): Promise<LogisticResult> {
  const maxIt = options.maxIterations ?? 50;
  const eps = options.epsilon ?? 1e-12;
  const level = options.level ?? 0.95;
  const p = columns.length + 1;
  const names = [INTERCEPT, ...columns];
  let beta = new Array<number>(p).fill(0);
  const ask = async (b: number[], screening = false) => addGlm(await fed.ask({ kind: 'glm', outcome, columns, tasks: [{ subset: ALL, beta: b }] }, { screening }));
  let s = await ask(beta, true);
  const n = s.n, events = s.events;
  // Aliasing from X'X (the information at beta = 0 is X'X / 4), scaled to unit diagonal.
  const d = s.info.map((row, i) => Math.sqrt(row[i]!) || 1);
  const keep = independentColumns(s.info.map((row, i) => row.map((v, j) => v / (d[i]! * d[j]!))), 1e-9);
  const aliased = names.filter((_, i) => !keep.includes(i));
  const sub = (m: Matrix) => keep.map((i) => keep.map((j) => m[i]![j]!));
  let iterations = 0, converged = false, devOld = Infinity;
  let lastInfo: Matrix | null = null;
  while (iterations < maxIt) {
    iterations++;
    const l = cholesky(sub(s.info), 1e-14);
    if (!l) break;
    lastInfo = sub(s.info);
    const step = choleskySolve(l, keep.map((i) => s.score[i]!));
    const next = [...beta];
    keep.forEach((i, k) => { next[i] = beta[i]! + step[k]!; });
    devOld = s.deviance;
    let trial = await ask(next);
    // Step halving if the deviance went up (rare for the logistic likelihood).
    let halvings = 0;
    let cand = next;
    while (!(trial.deviance <= devOld + 1e-9 * Math.abs(devOld)) && halvings < 30) {
      halvings++;
      cand = cand.map((b, i) => (b + beta[i]!) / 2);
      trial = await ask(cand);
    }
    beta = cand;
    s = trial;
    if (Math.abs(s.deviance - devOld) / (Math.abs(s.deviance) + 0.1) < eps) { converged = true; break; }
  }
  const info = sub(s.info);
  const lf = cholesky(info, 1e-14);
  const separated = !converged || s.saturated > 0 || lf === null;
  const z975 = qnorm(1 - (1 - level) / 2);
  const cov = lf ? choleskyInverse(lf) : null;
  void lastInfo;
  const terms: Term[] = names.map((term, i) => {
    const k = keep.indexOf(i);
    if (k < 0 || separated || !cov) return { term, estimate: null, std_error: null, z: null, p: null, ci: null };
    const est = beta[i]!, se = Math.sqrt(cov[k]![k]!);
    return { term, estimate: est, std_error: se, z: est / se, p: twoSidedP(est / se), ci: [est - z975 * se, est + z975 * se] };
  });
  return {
    family: 'logistic', n, events, terms,
    deviance: s.deviance, null_deviance: nullDeviance(n, events), aic: s.deviance + 2 * keep.length,
    iterations, converged: converged && !separated, aliased,
    separation: separated
      ? { detected: true, message: `complete or quasi-complete separation: ${s.saturated} of ${n} pooled cases have a fitted probability within 1e-10 of 0 or 1 and the likelihood has no finite maximum; estimates are not reported (remove or merge the separating term, or use lasso_logistic)` }
      : { detected: false },
    covariance: separated ? null : cov,
  };
}
