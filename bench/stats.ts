// DeLong AUC + 95% CI by the fast O(n log n) algorithm (Sun & Xu 2014) at n = 1 000 000 cases,
// beside the naive O(n^2) pairwise computation at n = 20 000 measured in the same run; the ratio
// compares per-case-pair throughput and the projected naive time at n = 1 000 000.
import { aucDelong, aucDelongNaive } from '../shared/stats/delong.js';
import type { Bench } from './types.js';

/** Deterministic scores: label ~ Bernoulli(0.3), score = uniform + 0.35 label (ties from rounding to 1e-4). */
function dataset(n: number, seed: number): { labels: Uint8Array; scores: Float64Array } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const labels = new Uint8Array(n);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = next() < 0.3 ? 1 : 0;
    scores[i] = Math.round((next() + 0.35 * labels[i]!) * 1e4) / 1e4;
  }
  return { labels, scores };
}

function best(reps: number, fn: () => void): number {
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

export const statsBench: Bench = {
  name: 'stats',
  description: 'DeLong AUC + CI: fast O(n log n) at n = 1 000 000 vs naive O(n^2) at n = 20 000',
  async run() {
    const big = dataset(1_000_000, 1);
    const small = dataset(20_000, 2);
    let ciBig: readonly [number, number] | null = null;
    let aucBig: number | null = null;
    const tFast = best(3, () => { const r = aucDelong(big.labels, big.scores); aucBig = r.estimate; ciBig = r.ci; });
    const tFastSmall = best(5, () => void aucDelong(small.labels, small.scores));
    let naive = { auc: NaN, variance: NaN };
    const tNaive = best(1, () => { naive = aucDelongNaive(small.labels, small.scores); });
    const fastSmall = aucDelong(small.labels, small.scores);
    const agree = Math.abs(naive.auc - fastSmall.estimate!) < 1e-12 && Math.abs(naive.variance - fastSmall.variance!) < 1e-12 * naive.variance;
    const projected = tNaive * (1_000_000 / 20_000) ** 2;
    console.log(`fast DeLong  n = 1 000 000: ${tFast.toFixed(3)} s  (AUC ${aucBig!.toFixed(4)}, 95% CI ${ciBig![0].toFixed(4)}–${ciBig![1].toFixed(4)}; target < 2 s: ${tFast < 2 ? 'met' : 'MISSED'})`);
    console.log(`fast DeLong  n =    20 000: ${(tFastSmall * 1000).toFixed(2)} ms`);
    console.log(`naive O(n^2) n =    20 000: ${tNaive.toFixed(3)} s  (same AUC and variance as fast: ${agree ? 'yes' : 'NO'})`);
    console.log(`ratio naive/fast at n = 20 000: ${(tNaive / tFastSmall).toFixed(0)}x; naive projected to n = 1 000 000: ${(projected / 60).toFixed(0)} min = ${(projected / tFast).toFixed(0)}x the fast run`);
  },
};
