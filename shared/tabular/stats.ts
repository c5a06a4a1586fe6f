// Federated descriptive statistics from sums only: pooled means and standard deviations (1/n and
// 1/(n-1)), Pearson correlations and covariance (hence PCA), and ICC(2,1) between two delineations.
import { FlError } from '../errors/index.js';
import { Federation } from './federation.js';
import { symmetricEigen, type Matrix } from './linalg.js';
import { ALL, type Subset } from './protocol.js';

export interface PooledMoments {
  n: number; events: number;
  mean: number[];
  /** Standard deviation with divisor n (glmnet's standardisation). */
  sd: number[];
  /** Standard deviation with divisor n - 1. */
  sdSample: number[];
  /** Covariance (divisor n - 1), when asked for. */
  cov?: Matrix;
}

/**
 * Pooled moments of `columns` on each subset: one round for the means, one for the sums of squares
 * (and cross-products) about the pooled means, so nothing cancels catastrophically.
 */
export async function pooledMoments(fed: Federation, outcome: string, columns: string[], subsets: Subset[] = [ALL],
  options: { crossProducts?: boolean; screening?: boolean } = {}): Promise<PooledMoments[]> {
  const first = await fed.ask({ kind: 'moments', outcome, columns, subsets }, { screening: options.screening });
  const means = subsets.map((_, s) => {
    const n = first.reduce((a, r) => a + r.subsets[s]!.n, 0);
    return columns.map((_, j) => first.reduce((a, r) => a + r.subsets[s]!.sum[j]!, 0) / n);
  });
  const out: PooledMoments[] = [];
  const second = await fed.ask({ kind: 'moments', outcome, columns, subsets, shifts: means, crossProducts: options.crossProducts });
  subsets.forEach((_, k) => {
    const replies = second.map((r) => ({ subsets: [r.subsets[k]!] }));
    const n = replies.reduce((a, r) => a + r.subsets[0]!.n, 0);
    const events = replies.reduce((a, r) => a + r.subsets[0]!.events, 0);
    const mean = means[k]!.map((m, j) => m + replies.reduce((a, r) => a + r.subsets[0]!.sum[j]!, 0) / n);
    const ss = columns.map((_, j) => {
      const s1 = replies.reduce((a, r) => a + r.subsets[0]!.sum[j]!, 0);
      return replies.reduce((a, r) => a + r.subsets[0]!.sumSq[j]!, 0) - (s1 * s1) / n;
    });
    const m: PooledMoments = {
      n, events, mean,
      sd: ss.map((v) => Math.sqrt(Math.max(0, v) / n)),
      sdSample: ss.map((v) => Math.sqrt(Math.max(0, v) / (n - 1))),
    };
    if (options.crossProducts) {
      const s1 = columns.map((_, j) => replies.reduce((a, r) => a + r.subsets[0]!.sum[j]!, 0));
      m.cov = columns.map((_, i) => columns.map((_, j) =>
        (replies.reduce((a, r) => a + r.subsets[0]!.cross![i]![j]!, 0) - (s1[i]! * s1[j]!) / n) / (n - 1)));
    }
    out.push(m);
  });
  return out;
}

/** Pearson correlation matrix and covariance (divisor n - 1) of the pooled complete cases. */
export async function pooledCorrelation(fed: Federation, outcome: string, columns: string[]): Promise<{ n: number; mean: number[]; cov: Matrix; r: Matrix }> {
  const [m] = await pooledMoments(fed, outcome, columns, [ALL], { crossProducts: true });
  const cov = m!.cov!;
  const r = cov.map((row, i) => row.map((c, j) => (i === j ? 1 : c / Math.sqrt(cov[i]![i]! * cov[j]![j]!))));
  return { n: m!.n, mean: m!.mean, cov, r };
}

export interface Pca {
  n: number; mean: number[];
  /** Variances of the components (eigenvalues of the covariance with divisor n - 1, as R's prcomp). */
  variances: number[];
  /** Loadings: column k is component k (sign: largest-magnitude entry positive). */
  loadings: Matrix;
  explained: number[];
}

/** PCA of the pooled covariance; `scale` uses the correlation matrix instead. */
export async function pooledPca(fed: Federation, outcome: string, columns: string[], scale = false): Promise<Pca> {
  const c = await pooledCorrelation(fed, outcome, columns);
  const { values, vectors } = symmetricEigen(scale ? c.r : c.cov);
  for (let k = 0; k < values.length; k++) {
    let big = 0;
    for (let i = 0; i < values.length; i++) if (Math.abs(vectors[i]![k]!) > Math.abs(vectors[big]![k]!)) big = i;
    if (vectors[big]![k]! < 0) for (let i = 0; i < values.length; i++) vectors[i]![k] = -vectors[i]![k]!;
  }
  const total = values.reduce((a, v) => a + v, 0);
  return { n: c.n, mean: c.mean, variances: values, loadings: vectors, explained: values.map((v) => v / total) };
}

/**
 * ICC(2,1) (two-way random effects, absolute agreement, single measurement; Shrout & Fleiss) of each
 * pair of delineations, from the ANOVA sums of squares added across sites.
 */
export async function pooledIcc(fed: Federation, outcome: string, pairs: [string, string][]): Promise<{ pair: [string, string]; n: number; icc: number }[]> {
  const [m] = await pooledMoments(fed, outcome, pairs.flat());
  const shift = pairs.map((_, k) => (m!.mean[2 * k]! + m!.mean[2 * k + 1]!) / 2);
  const replies = await fed.ask({ kind: 'icc', outcome, columns: pairs.flat(), pairs, shift });
  return pairs.map((pair, k) => {
    const add = (f: 'n' | 's1' | 's2' | 'ss' | 'subjectSq') => replies.reduce((a, r) => a + r.pairs[k]![f], 0);
    const n = add('n'), s1 = add('s1'), s2 = add('s2'), ss = add('ss'), subjectSq = add('subjectSq');
    if (n < 2) throw new FlError('tabular.icc', `ICC of ${pair.join('/')}: fewer than 2 complete cases`);
    const correction = ((s1 + s2) * (s1 + s2)) / (2 * n);
    const sst = ss - correction;
    const ssr = subjectSq / 2 - correction;
    const ssc = (s1 * s1 + s2 * s2) / n - correction;
    const sse = sst - ssr - ssc;
    const msr = ssr / (n - 1), msc = ssc, mse = sse / (n - 1);
    const icc = (msr - mse) / (msr + mse + (2 * (msc - mse)) / n);
    return { pair, n, icc };
  });
}
