// Intensity discretisation (IBSI 1, "Intensity discretisation"): fixed bin size (FBS) or fixed bin
// number (FBN). Grey levels start at 1; 0 marks pixels outside the region.
import { FlError } from '../errors/index.js';

export type Discretisation =
  | { readonly method: 'bin-width'; readonly width: number }
  | { readonly method: 'bin-count'; readonly count: number };

/** One 2D plane of grey levels: levels[y * width + x] in 1..ng inside the region, 0 outside. */
export interface Quantised {
  readonly width: number;
  readonly height: number;
  readonly levels: Int32Array;
  /** Number of grey levels of the discretisation (the matrices' size), not only those present. */
  readonly ng: number;
}

export function checkDiscretisation(d: Discretisation): void {
  if (d.method === 'bin-width' && !(Number.isFinite(d.width) && d.width > 0)) {
    throw new FlError('radiomics.settings', `bin width ${d.width}: expected a positive number (intensity units of the image)`);
  }
  if (d.method === 'bin-count' && !(Number.isInteger(d.count) && d.count >= 1 && d.count <= 65536)) {
    throw new FlError('radiomics.settings', `bin count ${d.count}: expected an integer in 1..65536`);
  }
}

/** Number of grey levels for a region whose intensities span [min, max]. */
export function levelCount(d: Discretisation, min: number, max: number): number {
  if (d.method === 'bin-count') return d.count;
  return Math.floor((max - min) / d.width) + 1;
}

/**
 * Grey level of intensity x (IBSI): FBS floor((x - min) / w) + 1 with min the region's lowest
 * intensity; FBN floor(N (x - min) / (max - min)) + 1, with x = max in bin N (all 1 when max = min).
 */
export function levelOf(d: Discretisation, x: number, min: number, max: number): number {
  if (d.method === 'bin-width') return Math.floor((x - min) / d.width) + 1;
  if (max === min) return 1;
  return x >= max ? d.count : Math.floor((d.count * (x - min)) / (max - min)) + 1;
}

export function discretise(
  values: ArrayLike<number>,
  mask: Uint8Array,
  width: number,
  height: number,
  d: Discretisation,
  range: { min: number; max: number },
): Quantised {
  const levels = new Int32Array(width * height);
  for (let i = 0; i < levels.length; i++) if (mask[i]) levels[i] = levelOf(d, values[i]!, range.min, range.max);
  return { width, height, levels, ng: levelCount(d, range.min, range.max) };
}
