// Feature selection before the LASSO, each rule recorded: ICC(2,1) >= icc_min between the two
// delineations, then a redundancy filter (survivors ordered by ICC descending, ties by name; a
// feature is kept unless its |Pearson r| with an already kept feature exceeds pearson_max).
import type { Matrix } from './linalg.js';

export interface IccFilterResult { kept: string[]; icc: Record<string, number> }

export function iccFilter(features: readonly string[], icc: Record<string, number>, min: number): IccFilterResult {
  return { kept: features.filter((f) => icc[f] === undefined || icc[f]! >= min), icc };
}

/**
 * Order: ICC descending (features without an ICC after those with one), ties by name.
 * `r` is the correlation matrix of `features` (same order). Returns the kept features, in that order.
 */
export function redundancyFilter(features: readonly string[], r: Matrix, icc: Record<string, number>, max: number): string[] {
  const idx = features.map((f, i) => ({ f, i, icc: icc[f] }));
  idx.sort((a, b) => {
    const ia = a.icc ?? -Infinity, ib = b.icc ?? -Infinity;
    if (ia !== ib) return ib - ia;
    return a.f < b.f ? -1 : a.f > b.f ? 1 : 0;
  });
  const kept: typeof idx = [];
  for (const c of idx) if (!kept.some((k) => Math.abs(r[c.i]![k.i]!) > max)) kept.push(c);
  return kept.map((k) => k.f);
}
