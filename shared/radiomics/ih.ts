// Intensity histogram features (IBSI 1, "Intensity histogram features") on discretised grey levels.
import { orderFeatures } from './stat.js';

/** Intensity histogram features in registry order (ih_*); `levels` are the region's grey levels (1..ng). */
export function ihFeatures(levels: ArrayLike<number>, ng: number): number[] {
  const n = levels.length;
  if (n === 0) return new Array<number>(IH_COUNT).fill(NaN);
  const hist = new Float64Array(ng + 1);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    hist[levels[i]!]!++;
    values[i] = levels[i]!;
  }
  const o = orderFeatures(values);
  // Mode: the most frequent level; among ties, the one closest to the mean (then the lower).
  let mode = 1;
  for (let g = 1; g <= ng; g++) {
    if (hist[g]! > hist[mode]! || (hist[g] === hist[mode] && Math.abs(g - o.mean) < Math.abs(mode - o.mean))) mode = g;
  }
  let entropy = 0;
  let uniformity = 0;
  for (let g = 1; g <= ng; g++) {
    const p = hist[g]! / n;
    if (p > 0) entropy -= p * Math.log2(p);
    uniformity += p * p;
  }
  // Histogram gradient (counts): one-sided at both ends, central inside.
  let maxGrad = -Infinity;
  let maxGradAt = NaN;
  let minGrad = Infinity;
  let minGradAt = NaN;
  for (let g = 1; g <= ng; g++) {
    const grad = ng === 1 ? 0 : g === 1 ? hist[2]! - hist[1]! : g === ng ? hist[ng]! - hist[ng - 1]! : (hist[g + 1]! - hist[g - 1]!) / 2;
    if (grad > maxGrad) {
      maxGrad = grad;
      maxGradAt = g;
    }
    if (grad < minGrad) {
      minGrad = grad;
      minGradAt = g;
    }
  }
  return [o.mean, o.variance, o.skewness, o.kurtosis, o.median, o.min, o.p10, o.p90, o.max, mode, o.iqr, o.range, o.mad, o.rmad, o.medad, o.cov, o.qcod, entropy, uniformity, maxGrad, maxGradAt, minGrad, minGradAt];
}
export const IH_COUNT = 23;
