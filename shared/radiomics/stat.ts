// Intensity-based statistical features (IBSI 1, "Intensity-based statistical features") and the
// order statistics shared with the intensity histogram family.

/** Percentile of sorted values, linear interpolation between order statistics (R type 7, numpy default). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface Moments {
  readonly n: number;
  readonly mean: number;
  /** Biased (1/n) variance, as IBSI. */
  readonly variance: number;
  readonly skewness: number;
  readonly kurtosis: number;
}

export function moments(x: ArrayLike<number>): Moments {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]!;
  const mean = s / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return { n, mean, variance: m2, skewness: m2 > 0 ? m3 / m2 ** 1.5 : NaN, kurtosis: m2 > 0 ? m4 / (m2 * m2) - 3 : NaN };
}

/** Features shared (same definition) by the intensity statistics and the intensity histogram. */
export interface OrderFeatures {
  mean: number;
  variance: number;
  skewness: number;
  kurtosis: number;
  median: number;
  min: number;
  p10: number;
  p90: number;
  max: number;
  iqr: number;
  range: number;
  mad: number;
  rmad: number;
  medad: number;
  cov: number;
  qcod: number;
}

/** The order/moment features of values (sorted ascending in place). */
export function orderFeatures(sorted: Float64Array): OrderFeatures {
  sorted.sort();
  const n = sorted.length;
  const m = moments(sorted);
  const median = percentile(sorted, 0.5);
  const p10 = percentile(sorted, 0.1);
  const p90 = percentile(sorted, 0.9);
  const p25 = percentile(sorted, 0.25);
  const p75 = percentile(sorted, 0.75);
  let mad = 0;
  let medad = 0;
  let rs = 0;
  let rn = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    mad += Math.abs(v - m.mean);
    medad += Math.abs(v - median);
    if (v >= p10 && v <= p90) {
      rs += v;
      rn++;
    }
  }
  const rmean = rs / rn;
  let rmad = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    if (v >= p10 && v <= p90) rmad += Math.abs(v - rmean);
  }
  return {
    mean: m.mean,
    variance: m.variance,
    skewness: m.skewness,
    kurtosis: m.kurtosis,
    median,
    min: sorted[0] ?? NaN,
    p10,
    p90,
    max: sorted[n - 1] ?? NaN,
    iqr: p75 - p25,
    range: (sorted[n - 1] ?? NaN) - (sorted[0] ?? NaN),
    mad: mad / n,
    rmad: rmad / rn,
    medad: medad / n,
    cov: m.mean !== 0 ? Math.sqrt(m.variance) / m.mean : NaN,
    qcod: p75 + p25 !== 0 ? (p75 - p25) / (p75 + p25) : NaN,
  };
}

/** Intensity statistics in registry order (stat_*). `values` is consumed (sorted in place). */
export function statFeatures(values: Float64Array): number[] {
  if (values.length === 0) return new Array<number>(STAT_COUNT).fill(NaN);
  let energy = 0;
  for (const v of values) energy += v * v;
  const o = orderFeatures(values);
  return [o.mean, o.variance, o.skewness, o.kurtosis, o.median, o.min, o.p10, o.p90, o.max, o.iqr, o.range, o.mad, o.rmad, o.medad, o.cov, o.qcod, energy, Math.sqrt(energy / values.length)];
}
export const STAT_COUNT = 18;
