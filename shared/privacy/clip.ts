// Per-update L2 clipping: bounds the sensitivity of one site's contribution to C.

/** L2 norm accumulated in float64. */
export function l2Norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

export interface ClipResult {
  /** Norm before clipping. */
  readonly norm: number;
  /** Factor applied (1 when the update was already within the bound). */
  readonly scale: number;
  readonly clipped: boolean;
}

/**
 * Scale `delta` in place so that its L2 norm is at most `clip`. The factor carries a few float32
 * ulps of margin so the bound holds exactly after rounding each element to float32.
 * Non-finite entries are refused: clipping cannot bound them.
 */
export function clipL2(delta: Float32Array, clip: number): ClipResult {
  if (!(clip > 0) || !Number.isFinite(clip)) throw new Error(`clip bound must be a positive finite number, got ${clip}`);
  const norm = l2Norm(delta);
  if (!Number.isFinite(norm)) throw new Error('cannot clip an update with non-finite entries');
  if (norm <= clip) return { norm, scale: 1, clipped: false };
  const scale = (clip / norm) * (1 - 4 * 2 ** -24);
  for (let i = 0; i < delta.length; i++) delta[i] = delta[i]! * scale;
  return { norm, scale, clipped: true };
}
