// Neighbourhood grey tone difference matrix (IBSI 1, NGTDM) and neighbouring grey level dependence
// matrix (IBSI 1, NGLDM), 2D, Chebyshev distance 1 (the 8 neighbours), only neighbours inside the
// region counted; NGLDM coarseness alpha = 0 (a neighbour is dependent when its level is equal).
import type { Quantised } from './discretise.js';
import { Entries } from './zone-features.js';

export const NGT_COUNT = 5;

/** NGTDM features in registry order (ngt_*); a quotient whose denominator is 0 is NaN. */
export function ngtdmFeatures(q: Quantised): number[] {
  const { width: w, height: h, levels, ng } = q;
  const s = new Float64Array(ng + 1);
  const n = new Float64Array(ng + 1);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const g = levels[y * w + x]!;
      if (g === 0) continue;
      let sum = 0;
      let cnt = 0;
      for (let oy = -1; oy <= 1; oy++) {
        const ny = y + oy;
        if (ny < 0 || ny >= h) continue;
        for (let ox = -1; ox <= 1; ox++) {
          if (ox === 0 && oy === 0) continue;
          const nx = x + ox;
          if (nx < 0 || nx >= w) continue;
          const v = levels[ny * w + nx]!;
          if (v === 0) continue;
          sum += v;
          cnt++;
        }
      }
      if (cnt === 0) continue; // no valid neighbour: not part of the matrix
      s[g]! += Math.abs(g - sum / cnt);
      n[g]!++;
    }
  }
  let nvc = 0;
  for (let g = 1; g <= ng; g++) nvc += n[g]!;
  if (nvc === 0) return new Array<number>(NGT_COUNT).fill(NaN);
  const present: number[] = [];
  for (let g = 1; g <= ng; g++) if (n[g]! > 0) present.push(g);
  const p = (g: number) => n[g]! / nvc;
  const ngp = present.length;
  let ps = 0;
  let ssum = 0;
  for (const g of present) {
    ps += p(g) * s[g]!;
    ssum += s[g]!;
  }
  let contrastPairs = 0;
  let busyDen = 0;
  let complexity = 0;
  let strengthNum = 0;
  for (const i of present) {
    for (const j of present) {
      const pi = p(i);
      const pj = p(j);
      contrastPairs += pi * pj * (i - j) ** 2;
      busyDen += Math.abs(i * pi - j * pj);
      complexity += (Math.abs(i - j) * (pi * s[i]! + pj * s[j]!)) / (pi + pj);
      strengthNum += (pi + pj) * (i - j) ** 2;
    }
  }
  const coarseness = ps > 0 ? 1 / ps : NaN;
  const contrast = ngp > 1 ? (contrastPairs / (ngp * (ngp - 1))) * (ssum / nvc) : NaN;
  const busyness = busyDen > 0 ? ps / busyDen : NaN;
  const strength = ssum > 0 ? strengthNum / ssum : NaN;
  return [coarseness, contrast, busyness, complexity / nvc, strength];
}

/** NGLDM entries: (grey level, 1 + number of equal-level neighbours) for every region pixel. */
export function ngldm(q: Quantised): Entries {
  const { width: w, height: h, levels } = q;
  const e = new Entries();
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const g = levels[y * w + x]!;
      if (g === 0) continue;
      let k = 1;
      for (let oy = -1; oy <= 1; oy++) {
        const ny = y + oy;
        if (ny < 0 || ny >= h) continue;
        for (let ox = -1; ox <= 1; ox++) {
          if (ox === 0 && oy === 0) continue;
          const nx = x + ox;
          if (nx < 0 || nx >= w) continue;
          if (levels[ny * w + nx] === g) k++;
        }
      }
      e.push(g, k);
    }
  }
  return e;
}
