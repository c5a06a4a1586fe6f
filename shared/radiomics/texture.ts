// The 2D texture families over one or more planes (slices) and their aggregation (IBSI 1,
// "Aggregating features"): "average" computes the features of every directional matrix and
// averages them over directions and slices (IBSI 2D:AVG, BTW3; PyRadiomics' default); "merge" sums
// each slice's directional matrices into one before computing (IBSI 2D:MRG, SUJT) and averages over
// slices. GLSZM, GLDZM, NGTDM and NGLDM have no directions: per slice, averaged over slices.
import type { Quantised } from './discretise.js';
import { DIRECTIONS_2D, glcm, glcmFeatures } from './glcm.js';
import { glrlm } from './glrlm.js';
import { zones } from './glszm.js';
import { ngldm, ngtdmFeatures } from './ngtdm.js';
import { Entries, zoneFeatures } from './zone-features.js';

export type Aggregation = 'average' | 'merge';
export const TEXTURE_FAMILIES = ['cm', 'rlm', 'szm', 'dzm', 'ngt', 'ngl'] as const;
export type TextureFamily = (typeof TEXTURE_FAMILIES)[number];

/**
 * Element-wise mean of feature rows. A row that is NaN throughout comes from an empty matrix (e.g.
 * no pixel pair along a direction in a one-pixel-wide region) and is left out; a NaN in a row that
 * has values (an undefined feature) makes the mean NaN.
 */
export function meanRows(rows: readonly number[][], width: number): number[] {
  const used = rows.filter((r) => r.some((v) => !Number.isNaN(v)));
  if (used.length === 0) return new Array<number>(width).fill(NaN);
  const out = new Array<number>(width).fill(0);
  for (const r of used) for (let k = 0; k < width; k++) out[k]! += r[k]!;
  return out.map((v) => v / used.length);
}

function count(q: Quantised): number {
  let n = 0;
  for (const g of q.levels) if (g !== 0) n++;
  return n;
}

export function textureFamily(family: TextureFamily, slices: readonly Quantised[], aggregation: Aggregation): number[] {
  const rows: number[][] = [];
  let width = 0;
  for (const q of slices) {
    const nv = count(q);
    switch (family) {
      case 'cm': {
        width = 25;
        const ms = DIRECTIONS_2D.map(([dx, dy]) => glcm(q, dx, dy));
        if (aggregation === 'average') for (const m of ms) rows.push(glcmFeatures(m, q.ng));
        else {
          const sum = new Float64Array(q.ng * q.ng);
          for (const m of ms) for (let k = 0; k < sum.length; k++) sum[k]! += m[k]!;
          rows.push(glcmFeatures(sum, q.ng));
        }
        break;
      }
      case 'rlm': {
        width = 16;
        const es = DIRECTIONS_2D.map(([dx, dy]) => glrlm(q, dx, dy));
        if (aggregation === 'average') for (const e of es) rows.push(zoneFeatures(e, nv));
        else {
          const all = new Entries();
          for (const e of es) all.append(e);
          rows.push(zoneFeatures(all, nv * es.length));
        }
        break;
      }
      case 'szm':
      case 'dzm': {
        width = 16;
        const z = zones(q);
        rows.push(zoneFeatures(family === 'szm' ? z.size : z.distance, nv));
        break;
      }
      case 'ngt':
        width = 5;
        rows.push(ngtdmFeatures(q));
        break;
      case 'ngl':
        width = 17;
        rows.push(zoneFeatures(ngldm(q), nv, true));
        break;
    }
  }
  return meanRows(rows, width);
}
