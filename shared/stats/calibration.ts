// Calibration of predicted probabilities:
//   intercept: glm(y ~ 1, offset = logit(p), family = binomial)  (calibration-in-the-large)
//   slope:     glm(y ~ logit(p), family = binomial)              (coefficient of logit(p))
//   Brier score mean((p - y)^2), and a binned calibration curve with Wilson CIs.
// p is clipped to [1e-6, 1 - 1e-6] before the logit (as the R reference does); when some p are
// exactly 0 or 1 the intercept and slope depend on that constant, and the result says so (note). Maximum likelihood by Newton-Raphson with
// step halving, to a tighter tolerance than R's glm (so R's figures are matched to ~1e-8).
// Where the maximum likelihood estimate does not exist (one class only, complete or
// quasi-complete separation by logit(p)) the figure is null with a reason, not R's huge number.
import { wilsonCi } from './proportions.js';

export const P_CLIP = 1e-6;

export function clippedLogit(p: number): number {
  const q = Math.min(1 - P_CLIP, Math.max(P_CLIP, p));
  return Math.log(q / (1 - q));
}

export type CalibrationBin = {
  readonly lower: number;
  readonly upper: number;
  readonly n: number;
  readonly mean_predicted: number;
  readonly observed: number;
  readonly ci: readonly [number, number];
};

export type Calibration = {
  readonly intercept: number | null;
  readonly slope: number | null;
  readonly brier: number | null;
  /** Why intercept, slope or Brier is null (joined when several are). */
  readonly reason?: string;
  /** Set when scores of exactly 0 or 1 were clipped: the intercept and slope then depend on P_CLIP. */
  readonly note?: string;
  /** Bins of the calibration curve (fewer with few cases: about 10 cases per bin, 2 to 10 bins). */
  readonly bins: number;
  readonly curve: CalibrationBin[];
};

function logLik(y: ArrayLike<number>, x: Float64Array, a: number, b: number, offset: boolean): number {
  let ll = 0;
  for (let i = 0; i < x.length; i++) {
    const eta = offset ? a + x[i]! : a + b * x[i]!;
    // log(1 + e^eta) computed stably
    const l1p = eta > 0 ? eta + Math.log1p(Math.exp(-eta)) : Math.log1p(Math.exp(eta));
    ll += y[i]! * eta - l1p;
  }
  return ll;
}

/** Newton-Raphson for logistic regression with intercept a and either slope b on x or x as an offset. */
function fitLogistic(y: ArrayLike<number>, x: Float64Array, offset: boolean): { a: number; b: number } | string {
  let a = 0;
  let b = offset ? 1 : 0;
  let ll = logLik(y, x, a, b, offset);
  for (let iter = 0; iter < 200; iter++) {
    let g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0;
    for (let i = 0; i < x.length; i++) {
      const eta = offset ? a + x[i]! : a + b * x[i]!;
      const mu = 1 / (1 + Math.exp(-eta));
      const w = mu * (1 - mu);
      const r = y[i]! - mu;
      g0 += r; h00 += w;
      if (!offset) { g1 += r * x[i]!; h01 += w * x[i]!; h11 += w * x[i]! * x[i]!; }
    }
    let da: number, db: number;
    if (offset) {
      if (!(h00 > 0)) return 'the information matrix is singular';
      da = g0 / h00; db = 0;
    } else {
      const det = h00 * h11 - h01 * h01;
      if (!(det > 0)) return 'the information matrix is singular';
      da = (h11 * g0 - h01 * g1) / det;
      db = (h00 * g1 - h01 * g0) / det;
    }
    let step = 1;
    let na = a + da, nb = b + db, nll = logLik(y, x, na, nb, offset);
    while (nll < ll - 1e-12 * Math.abs(ll) && step > 1e-10) {
      step /= 2;
      na = a + step * da; nb = b + step * db;
      nll = logLik(y, x, na, nb, offset);
    }
    const change = Math.abs(na - a) + Math.abs(nb - b);
    a = na; b = nb; ll = nll;
    if (change < 1e-12 * (1 + Math.abs(a) + Math.abs(b))) return { a, b };
  }
  return 'the maximum likelihood iterations did not converge';
}

/** Binned calibration curve: equal-width bins of predicted risk over [0, 1], empty bins omitted. */
export function calibrationCurve(labels: ArrayLike<number>, probs: ArrayLike<number>, bins = 10): CalibrationBin[] {
  const n = new Float64Array(bins), sp = new Float64Array(bins), sy = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const k = Math.min(bins - 1, Math.max(0, Math.floor(probs[i]! * bins)));
    n[k]++; sp[k] += probs[i]!; sy[k] += labels[i]!;
  }
  const out: CalibrationBin[] = [];
  for (let k = 0; k < bins; k++) {
    if (n[k] === 0) continue;
    out.push({ lower: k / bins, upper: (k + 1) / bins, n: n[k]!, mean_predicted: sp[k]! / n[k]!, observed: sy[k]! / n[k]!, ci: wilsonCi(sy[k]!, n[k]!) });
  }
  return out;
}

/** Bins for a calibration curve of n cases: about 10 cases per bin, at least 2 and at most 10. */
export function calibrationBins(n: number): number {
  return Math.max(2, Math.min(10, Math.floor(n / 10)));
}

export function calibration(labels: ArrayLike<number>, probs: ArrayLike<number>, bins = calibrationBins(labels.length)): Calibration {
  const len = labels.length;
  for (let i = 0; i < len; i++) {
    if (!(probs[i]! >= 0 && probs[i]! <= 1)) {
      return { intercept: null, slope: null, brier: null, reason: `calibration undefined: scores are not probabilities in [0, 1] (index ${i}: ${probs[i]})`, bins, curve: [] };
    }
  }
  if (len === 0) return { intercept: null, slope: null, brier: null, reason: 'calibration undefined: no cases', bins, curve: [] };
  let extreme = 0;
  for (let i = 0; i < len; i++) if (probs[i] === 0 || probs[i] === 1) extreme++;
  let brier = 0;
  let pos = 0;
  const x = new Float64Array(len);
  let min1 = Infinity, max1 = -Infinity, min0 = Infinity, max0 = -Infinity;
  for (let i = 0; i < len; i++) {
    const y = labels[i]!;
    brier += (probs[i]! - y) ** 2;
    pos += y;
    x[i] = clippedLogit(probs[i]!);
    if (y === 1) { min1 = Math.min(min1, x[i]!); max1 = Math.max(max1, x[i]!); } else { min0 = Math.min(min0, x[i]!); max0 = Math.max(max0, x[i]!); }
  }
  brier /= len;
  const reasons: string[] = [];
  let intercept: number | null = null;
  let slope: number | null = null;
  if (pos === 0 || pos === len) {
    reasons.push(`calibration intercept and slope undefined: ${pos === 0 ? 'no positive' : 'no negative'} cases`);
  } else {
    const fi = fitLogistic(labels, x, true);
    if (typeof fi === 'string') reasons.push(`calibration intercept undefined: ${fi}`); else intercept = fi.a;
    if (max0 <= min1 || max1 <= min0) {
      reasons.push(min0 === max0 && min1 === max1 && min0 === min1
        ? 'calibration slope undefined: all predictions are equal'
        : 'calibration slope undefined: complete separation of the classes by logit(p) (the maximum likelihood estimate does not exist)');
    } else {
      const fs = fitLogistic(labels, x, false);
      if (typeof fs === 'string') reasons.push(`calibration slope undefined: ${fs}`); else slope = fs.b;
    }
  }
  const note = extreme > 0 && (intercept !== null || slope !== null)
    ? `${extreme} score${extreme === 1 ? ' is' : 's are'} exactly 0 or 1 (logit infinite): clipped to [${P_CLIP}, 1 - ${P_CLIP}] before logit(p), so the calibration intercept and slope depend on that constant`
    : undefined;
  return { intercept, slope, brier, ...(reasons.length ? { reason: reasons.join('; ') } : {}), ...(note ? { note } : {}), bins, curve: calibrationCurve(labels, probs, bins) };
}
