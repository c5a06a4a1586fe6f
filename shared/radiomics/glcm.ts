// Grey level co-occurrence matrix (IBSI 1, "Grey level co-occurrence based features"): symmetric,
// Chebyshev distance 1, the four 2D directions (1,0), (1,1), (0,1), (-1,1).
import type { Quantised } from './discretise.js';

export const DIRECTIONS_2D: readonly (readonly [dx: number, dy: number])[] = [
  [1, 0],
  [1, 1],
  [0, 1],
  [-1, 1],
];

/** Symmetric co-occurrence counts (ng x ng, row-major, level 1 at index 0) along (dx, dy). */
export function glcm(q: Quantised, dx: number, dy: number): Float64Array {
  const { width, height, levels, ng } = q;
  const m = new Float64Array(ng * ng);
  for (let y = 0; y < height; y++) {
    const y2 = y + dy;
    if (y2 < 0 || y2 >= height) continue;
    for (let x = 0; x < width; x++) {
      const a = levels[y * width + x]!;
      if (a === 0) continue;
      const x2 = x + dx;
      if (x2 < 0 || x2 >= width) continue;
      const b = levels[y2 * width + x2]!;
      if (b === 0) continue;
      m[(a - 1) * ng + (b - 1)]!++;
      m[(b - 1) * ng + (a - 1)]!++;
    }
  }
  return m;
}

export const CM_COUNT = 25;

/** GLCM features in registry order (cm_*) from a count matrix; all NaN for an empty matrix. */
export function glcmFeatures(counts: Float64Array, ng: number): number[] {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return new Array<number>(CM_COUNT).fill(NaN);
  const p = new Float64Array(counts.length);
  for (let k = 0; k < p.length; k++) p[k] = counts[k]! / total;
  const pi = new Float64Array(ng); // row marginal (= column marginal: symmetric)
  const pdiff = new Float64Array(ng);
  const psum = new Float64Array(2 * ng + 1);
  let jmax = 0;
  let javg = 0;
  let jent = 0;
  let energy = 0;
  let contrast = 0;
  let dissim = 0;
  let invDiff = 0;
  let invDiffN = 0;
  let idm = 0;
  let idmN = 0;
  let auto = 0;
  for (let i = 1; i <= ng; i++) {
    for (let j = 1; j <= ng; j++) {
      const v = p[(i - 1) * ng + (j - 1)]!;
      if (v === 0) continue;
      pi[i - 1]! += v;
      const d = Math.abs(i - j);
      pdiff[d]! += v;
      psum[i + j]! += v;
      if (v > jmax) jmax = v;
      javg += i * v;
      jent -= v * Math.log2(v);
      energy += v * v;
      contrast += d * d * v;
      dissim += d * v;
      invDiff += v / (1 + d);
      invDiffN += v / (1 + d / ng);
      idm += v / (1 + d * d);
      idmN += v / (1 + (d * d) / (ng * ng));
      auto += i * j * v;
    }
  }
  let mu = 0; // marginal mean (= javg)
  let hx = 0;
  for (let i = 1; i <= ng; i++) {
    const v = pi[i - 1]!;
    mu += i * v;
    if (v > 0) hx -= v * Math.log2(v);
  }
  let jvar = 0;
  let cov = 0;
  let tend = 0;
  let shade = 0;
  let prom = 0;
  let hxy1 = 0;
  let hxy2 = 0;
  for (let i = 1; i <= ng; i++) {
    for (let j = 1; j <= ng; j++) {
      const pij = pi[i - 1]! * pi[j - 1]!;
      if (pij > 0) hxy2 -= pij * Math.log2(pij);
      const v = p[(i - 1) * ng + (j - 1)]!;
      if (v === 0) continue;
      jvar += (i - javg) * (i - javg) * v;
      cov += (i - mu) * (j - mu) * v;
      const s = i + j - 2 * mu;
      tend += s * s * v;
      shade += s * s * s * v;
      prom += s * s * s * s * v;
      hxy1 -= v * Math.log2(pij);
    }
  }
  let sigma2 = 0;
  for (let i = 1; i <= ng; i++) sigma2 += (i - mu) * (i - mu) * pi[i - 1]!;
  let davg = 0;
  let dent = 0;
  let invVar = 0;
  for (let k = 0; k < ng; k++) {
    const v = pdiff[k]!;
    davg += k * v;
    if (v > 0) dent -= v * Math.log2(v);
    if (k > 0) invVar += v / (k * k);
  }
  let dvar = 0;
  for (let k = 0; k < ng; k++) dvar += (k - davg) * (k - davg) * pdiff[k]!;
  let savg = 0;
  let sent = 0;
  for (let k = 2; k <= 2 * ng; k++) {
    const v = psum[k]!;
    savg += k * v;
    if (v > 0) sent -= v * Math.log2(v);
  }
  let svar = 0;
  for (let k = 2; k <= 2 * ng; k++) svar += (k - savg) * (k - savg) * psum[k]!;
  const corr = sigma2 > 0 ? cov / sigma2 : NaN;
  const ic1 = hx > 0 ? (jent - hxy1) / hx : NaN;
  const ic2 = Math.sqrt(Math.max(0, 1 - Math.exp(-2 * (hxy2 - jent))));
  return [jmax, javg, jvar, jent, davg, dvar, dent, savg, svar, sent, energy, contrast, dissim, invDiff, invDiffN, idm, idmN, invVar, corr, auto, tend, shade, prom, ic1, ic2];
}
