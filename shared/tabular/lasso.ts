// family: lasso_logistic - glmnet's objective  -loglik/n + lambda * ||beta||_1  on features
// standardised with the pooled mean and 1/n standard deviation, intercept unpenalised.
// Federated: at the current coefficients every site returns the score X'(y - p) and X'WX of its
// standardised rows (the quadratic approximation glmnet's IRLS uses); the coordinator adds them and
// runs coordinate descent on the penalised quadratic; repeat until the coefficients stop moving.
// Several problems (the full data and the K training folds) travel in the same round trip.
// lambda: glmnet's path (lambda_max = max_j |x_j'(y - ybar)| / n, ratio 1e-4, or 1e-2 when n < p,
// log-spaced), chosen by federated K-fold CV on summed held-out deviance (rule min or 1se).
import { FlError } from '../errors/index.js';
import { Federation } from './federation.js';
import { sumGlmReplies, INTERCEPT, type Term } from './logistic.js';
import { pooledMoments } from './stats.js';
import { ALL, type Subset } from './protocol.js';

export interface Standardization { mean: number[]; sd: number[] }

interface Problem {
  subset: Subset;
  st: Standardization;
  /** Standardised-scale coefficients [intercept, ...]. */
  beta: number[];
  /** Columns with zero variance are held at 0. */
  active: boolean[];
}

/** Coordinate descent on (1/2n)(d'Ad - 2 r'd) + lambda * sum_{j>=1} |beta_j|, d = beta - beta0. */
export function coordinateDescent(a: number[][], r: number[], n: number, beta0: number[], lambda: number, active: boolean[], tol = 1e-15, maxSweeps = 100000): number[] {
  const p = beta0.length;
  const beta = [...beta0];
  const ad = new Array<number>(p).fill(0); // A d
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let maxChange = 0;
    for (let j = 0; j < p; j++) {
      if (j > 0 && !active[j - 1]) continue;
      const ajj = a[j]![j]! / n;
      if (!(ajj > 0)) continue;
      const grad = (ad[j]! - r[j]!) / n;
      const u = ajj * beta[j]! - grad;
      const nb = j === 0 ? u / ajj : Math.sign(u) * Math.max(0, Math.abs(u) - lambda) / ajj;
      const delta = nb - beta[j]!;
      if (delta !== 0) {
        beta[j] = nb;
        for (let k = 0; k < p; k++) ad[k]! += a[k]![j]! * delta;
        maxChange = Math.max(maxChange, ajj * delta * delta);
      }
    }
    if (maxChange < tol) break;
  }
  return beta;
}

/** Original-scale coefficients [intercept, ...] from standardised ones. */
export function toOriginalScale(beta: number[], st: Standardization): number[] {
  const out = [beta[0]!];
  for (let j = 1; j < beta.length; j++) {
    const b = st.sd[j - 1]! > 0 ? beta[j]! / st.sd[j - 1]! : 0;
    out.push(b);
    out[0]! -= b * st.mean[j - 1]!;
  }
  return out;
}

export interface PathFit { lambda: number; beta: number[]; iterations: number }

/**
 * Fits every problem along `lambdas` (descending; warm starts), all problems in each round trip.
 * Returns per problem the original-scale coefficients at each lambda.
 */
async function fitPaths(fed: Federation, outcome: string, columns: string[], problems: Problem[], lambdas: number[], tol: number, maxOuter: number): Promise<PathFit[][]> {
  const out: PathFit[][] = problems.map(() => []);
  for (const lambda of lambdas) {
    const done = problems.map(() => false);
    const iters = problems.map(() => 0);
    while (done.some((d) => !d)) {
      const open = problems.map((_, i) => i).filter((i) => !done[i]);
      const replies = await fed.ask({
        kind: 'glm', outcome, columns,
        tasks: open.map((i) => ({ subset: problems[i]!.subset, beta: problems[i]!.beta, standardization: problems[i]!.st })),
      });
      open.forEach((i, t) => {
        const pr = problems[i]!;
        const s = sumGlmReplies(replies, t);
        iters[i]!++;
        const next = coordinateDescent(s.info, s.score, s.n, pr.beta, lambda, pr.active);
        const change = Math.max(...next.map((b, j) => Math.abs(b - pr.beta[j]!) * Math.sqrt(s.info[j]![j]! / s.n)));
        pr.beta = next;
        if (change < tol || iters[i]! >= maxOuter) {
          done[i] = true;
          out[i]!.push({ lambda, beta: toOriginalScale(next, pr.st), iterations: iters[i]! });
        }
      });
    }
  }
  return out;
}

export interface LassoOptions {
  /** Fixed lambda(s); otherwise the path with CV. */
  lambda?: number[];
  folds?: number;
  rule?: 'min' | '1se';
  seed?: number;
  nlambda?: number;
  lambdaMinRatio?: number;
  tol?: number;
  maxOuter?: number;
}

export interface LassoResult {
  family: 'lasso_logistic';
  n: number; events: number;
  terms: Term[];
  lambda: number;
  lambda_rule: 'min' | '1se' | 'fixed';
  standardization: Record<string, { mean: number; sd: number }>;
  iterations: number; converged: boolean;
  /** Features with a non-zero coefficient, in input order. */
  nonzero: string[];
  deviance: number;
  lambda_max: number;
  path?: { lambda: number; cvm: number; cvsd: number; nonzero: number }[];
  lambda_min?: number; lambda_1se?: number;
  fits: { lambda: number; coefficients: number[] }[];
}

export async function fitLasso(fed: Federation, outcome: string, columns: string[], options: LassoOptions = {}): Promise<LassoResult> {
  const tol = options.tol ?? 1e-10;
  const maxOuter = options.maxOuter ?? 100;
  const folds = options.folds ?? 10;
  const cv = options.lambda === undefined;
  if (cv && folds < 3) throw new FlError('tabular.folds', `lasso: folds must be at least 3 (glmnet's minimum), got ${folds}`);
  const seed = options.seed ?? 1;
  const foldSubsets: Subset[] = cv ? Array.from({ length: folds }, (_, k) => ({ kind: 'fold' as const, fold: k, folds, seed, part: 'train' as const })) : [];
  const mom = await pooledMoments(fed, outcome, columns, [ALL, ...foldSubsets], { screening: true });
  const full = mom[0]!;
  if (full.events === 0 || full.events === full.n) throw new FlError('tabular.outcome', `lasso: the pooled outcome "${outcome}" has a single class (${full.events} events in ${full.n})`);
  const mk = (m: typeof full, subset: Subset): Problem => {
    const st = { mean: m.mean, sd: m.sd.map((s) => (s > 0 ? s : 1)) };
    const ybar = m.events / m.n;
    return { subset, st, beta: [Math.log(ybar / (1 - ybar)), ...columns.map(() => 0)], active: m.sd.map((s) => s > 0) };
  };
  const problems = [mk(full, ALL), ...foldSubsets.map((s, k) => mk(mom[k + 1]!, s))];
  // lambda_max from the score at the null model on the full data.
  const s0 = sumGlmReplies(await fed.ask({ kind: 'glm', outcome, columns, tasks: [{ subset: ALL, beta: problems[0]!.beta, standardization: problems[0]!.st }] }));
  const lambdaMax = Math.max(...s0.score.slice(1).map((r, j) => (problems[0]!.active[j] ? Math.abs(r) / s0.n : 0)));
  const n = full.n, p = columns.length;
  let lambdas: number[];
  if (!cv) lambdas = [...options.lambda!].sort((a, b) => b - a);
  else {
    const nl = options.nlambda ?? 100;
    const ratio = options.lambdaMinRatio ?? (n < p ? 0.01 : 1e-4);
    lambdas = Array.from({ length: nl }, (_, k) => lambdaMax * Math.exp((Math.log(ratio) * k) / (nl - 1)));
  }
  const paths = await fitPaths(fed, outcome, columns, cv ? problems : [problems[0]!], lambdas, tol, maxOuter);
  let chosen = lambdas.length - 1;
  let rule: LassoResult['lambda_rule'] = 'fixed';
  let pathOut: LassoResult['path'];
  let lambdaMin: number | undefined, lambda1se: number | undefined;
  if (cv) {
    rule = options.rule ?? 'min';
    const replies = await fed.ask({
      kind: 'deviance', outcome, columns,
      tasks: foldSubsets.map((s, k) => ({ subset: { ...s, part: 'test' as const }, betas: paths[k + 1]!.map((f) => f.beta) })),
    });
    const nk = foldSubsets.map((_, k) => replies.reduce((a, r) => a + r.tasks[k]!.n, 0));
    const N = nk.reduce((a, b) => a + b, 0);
    const cvm: number[] = [], cvsd: number[] = [];
    lambdas.forEach((_, l) => {
      const mk2 = foldSubsets.map((_, k) => replies.reduce((a, r) => a + r.tasks[k]!.deviance[l]!, 0) / nk[k]!);
      const m = mk2.reduce((a, v, k) => a + v * nk[k]!, 0) / N;
      const v = mk2.reduce((a, x, k) => a + nk[k]! * (x - m) ** 2, 0) / N;
      cvm.push(m); cvsd.push(Math.sqrt(v / (folds - 1)));
    });
    let iMin = 0;
    cvm.forEach((m, l) => { if (m < cvm[iMin]!) iMin = l; });
    let i1se = iMin;
    for (let l = 0; l <= iMin; l++) if (cvm[l]! <= cvm[iMin]! + cvsd[iMin]!) { i1se = l; break; }
    lambdaMin = lambdas[iMin]; lambda1se = lambdas[i1se];
    chosen = rule === 'min' ? iMin : i1se;
    pathOut = lambdas.map((lambda, l) => ({ lambda, cvm: cvm[l]!, cvsd: cvsd[l]!, nonzero: paths[0]![l]!.beta.slice(1).filter((b) => b !== 0).length }));
  }
  const fit = paths[0]![chosen]!;
  // Deviance of the chosen fit on the full data (one more round trip).
  const dev = await fed.ask({ kind: 'deviance', outcome, columns, tasks: [{ subset: ALL, betas: [fit.beta] }] });
  const names = [INTERCEPT, ...columns];
  const maxIterations = Math.max(...paths[0]!.map((f) => f.iterations));
  return {
    family: 'lasso_logistic', n, events: full.events,
    terms: names.map((term, i) => ({ term, estimate: fit.beta[i]!, std_error: null, z: null, p: null, ci: null })),
    lambda: fit.lambda, lambda_rule: rule,
    standardization: Object.fromEntries(columns.map((c, j) => [c, { mean: full.mean[j]!, sd: full.sd[j]! }])),
    iterations: fit.iterations, converged: maxIterations < maxOuter,
    nonzero: columns.filter((_, j) => fit.beta[j + 1] !== 0),
    deviance: dev.reduce((a, r) => a + r.tasks[0]!.deviance[0]!, 0),
    lambda_max: lambdaMax,
    ...(pathOut ? { path: pathOut, lambda_min: lambdaMin, lambda_1se: lambda1se } : {}),
    fits: paths[0]!.map((f) => ({ lambda: f.lambda, coefficients: f.beta })),
  };
}

/** The Rad-score of a case: the linear predictor of a lasso_logistic model (original scale). */
export function radScore(model: Pick<LassoResult, 'terms'>, row: Record<string, number>): number {
  let s = 0;
  for (const t of model.terms) {
    if (t.estimate === null || t.estimate === 0) continue;
    if (t.term === INTERCEPT) { s += t.estimate; continue; }
    const v = row[t.term];
    if (v === undefined || !Number.isFinite(v)) throw new FlError('tabular.radscore', `Rad-score: the case has no value for "${t.term}"`);
    s += t.estimate * v;
  }
  return s;
}
