// Rényi-DP accountant for the (subsampled) Gaussian mechanism.
//
// Per step, a Gaussian mechanism with noise multiplier σ (noise std / L2 sensitivity) has
// RDP ε(α) = α / (2σ²) (Mironov 2017). With Poisson sampling rate q < 1 the RDP is
// log(A_α)/(α−1), A_α computed as in Mironov, Talwar & Zhang 2019 ("Rényi Differential Privacy
// of the Sampled Gaussian Mechanism", §3.3) — the same analysis as TF-Privacy and Opacus.
// RDP composes additively over steps; conversion to (ε, δ) uses Balle et al. 2020, Thm 21:
//   ε = min_α  RDP(α) + log((α−1)/α) − (log δ + log α)/(α−1).
//
// In federated learning with noise added by each site to its own clipped update, every round
// is one step with q = 1 for that site (the coordinator knows who took part, so there is no
// amplification by sampling). q < 1 is only sound for secret Poisson sampling.
import { logErfc } from './log-erfc.js';

/** Opacus' default grid: 1.1, 1.2, …, 10.9, then 12, 13, …, 63. */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
]);

function logAdd(x: number, y: number): number {
  const a = Math.min(x, y);
  const b = Math.max(x, y);
  if (a === -Infinity) return b;
  return Math.log1p(Math.exp(a - b)) + b;
}

function logSub(x: number, y: number): number {
  if (x < y) throw new Error('log-space subtraction would be negative');
  if (y === -Infinity) return x;
  if (x === y) return -Infinity;
  const d = x - y;
  return d > 700 ? x : Math.log(Math.expm1(d)) + y;
}

function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0; // log C(alpha, 0)
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i);
    const s = logBinom + i * Math.log(q) + (alpha - i) * Math.log1p(-q) + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, s);
  }
  return logA;
}

function logAFrac(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  let coef = 1; // C(alpha, i) for real alpha, built incrementally
  for (let i = 0; ; i++) {
    if (i > 0) coef *= (alpha - i + 1) / i;
    const logCoef = Math.log(Math.abs(coef));
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * Math.log1p(-q);
    const logT1 = logCoef + j * Math.log(q) + i * Math.log1p(-q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / (Math.SQRT2 * sigma));
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / (Math.SQRT2 * sigma));
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (coef > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30 || i > 100_000) break;
  }
  return logAdd(logA0, logA1);
}

/** RDP at order `alpha` of one step of the Gaussian mechanism sampled with rate `q`. */
export function gaussianRdp(q: number, noiseMultiplier: number, alpha: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`sampling rate must be in [0, 1], got ${q}`);
  if (!(noiseMultiplier >= 0)) throw new Error(`noise multiplier must be ≥ 0, got ${noiseMultiplier}`);
  if (!(alpha > 1)) throw new Error(`RDP order must be > 1, got ${alpha}`);
  if (q === 0) return 0;
  if (noiseMultiplier === 0) return Infinity;
  if (q === 1) return alpha / (2 * noiseMultiplier * noiseMultiplier);
  if (alpha === Infinity) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInt(q, noiseMultiplier, alpha) : logAFrac(q, noiseMultiplier, alpha);
  return logA / (alpha - 1);
}

export function computeRdp(q: number, noiseMultiplier: number, steps: number, orders: readonly number[] = DEFAULT_ORDERS): number[] {
  return orders.map((a) => steps * gaussianRdp(q, noiseMultiplier, a));
}

export interface PrivacySpent {
  readonly epsilon: number;
  readonly delta: number;
  /** The order at which the bound was attained. */
  readonly order: number;
  /** True when the optimum sits at the edge of the grid (a wider grid might give a smaller ε). */
  readonly atGridEdge: boolean;
}

/** (ε, δ) from RDP values over `orders` (Balle et al. 2020, Theorem 21). */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): PrivacySpent {
  if (orders.length !== rdp.length || orders.length === 0) throw new Error('orders and rdp must be non-empty and of equal length');
  if (!(delta > 0 && delta < 1)) throw new Error(`delta must be in (0, 1), got ${delta}`);
  let best = Infinity;
  let bestIdx = -1;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i]!;
    const eps = rdp[i]! + Math.log((a - 1) / a) - (Math.log(delta) + Math.log(a)) / (a - 1);
    if (eps < best) {
      best = eps;
      bestIdx = i;
    }
  }
  if (bestIdx < 0) return { epsilon: Infinity, delta, order: NaN, atGridEdge: false };
  return { epsilon: Math.max(0, best), delta, order: orders[bestIdx]!, atGridEdge: bestIdx === 0 || bestIdx === orders.length - 1 };
}

export interface AccountantStep {
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly steps: number;
}

/** Accumulates Gaussian-mechanism steps; serialisable (`history`) so a restarted coordinator can resume. */
export class RdpAccountant {
  private readonly steps: AccountantStep[] = [];

  constructor(
    history: readonly AccountantStep[] = [],
    readonly orders: readonly number[] = DEFAULT_ORDERS,
  ) {
    for (const h of history) this.step(h.noiseMultiplier, h.sampleRate, h.steps);
  }

  /** Record `count` applications of the mechanism (one per round for site-level noise, q = 1). */
  step(noiseMultiplier: number, sampleRate = 1, count = 1): void {
    if (!(noiseMultiplier > 0) || !Number.isFinite(noiseMultiplier)) throw new Error(`noise multiplier must be positive, got ${noiseMultiplier}`);
    if (!(sampleRate > 0 && sampleRate <= 1)) throw new Error(`sampling rate must be in (0, 1], got ${sampleRate}`);
    if (!Number.isInteger(count) || count < 1) throw new Error(`step count must be a positive integer, got ${count}`);
    const last = this.steps.at(-1);
    if (last && last.noiseMultiplier === noiseMultiplier && last.sampleRate === sampleRate) {
      this.steps[this.steps.length - 1] = { ...last, steps: last.steps + count };
    } else {
      this.steps.push({ noiseMultiplier, sampleRate, steps: count });
    }
  }

  get totalSteps(): number {
    return this.steps.reduce((n, s) => n + s.steps, 0);
  }

  get history(): readonly AccountantStep[] {
    return this.steps.map((s) => ({ ...s }));
  }

  rdp(): number[] {
    const total = this.orders.map(() => 0);
    for (const s of this.steps) {
      const r = computeRdp(s.sampleRate, s.noiseMultiplier, s.steps, this.orders);
      for (let i = 0; i < total.length; i++) total[i]! += r[i]!;
    }
    return total;
  }

  /** Privacy spent so far at `delta`; ε = 0 before any step. */
  spent(delta: number): PrivacySpent {
    if (this.steps.length === 0) return { epsilon: 0, delta, order: NaN, atGridEdge: false };
    return epsilonFromRdp(this.orders, this.rdp(), delta);
  }
}
