// Training-only, seeded augmentation of a case (all modalities of a case share one geometric
// transform; intensity jitter is drawn per modality). Works on normalised size x size images.
import { Rng } from '../../shared/synth/rng.js';
import type { AugmentOptions } from '../../shared/families/data.js';

export type { AugmentOptions };

/** Applies the inverse affine map with bilinear sampling and edge clamping. */
function warp(src: Float32Array, size: number, m: [number, number, number, number], tx: number, ty: number, flipX: boolean, flipY: boolean): Float32Array {
  const out = new Float32Array(size * size);
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (flipX ? size - 1 - x : x) - c - tx;
      const dy = (flipY ? size - 1 - y : y) - c - ty;
      const sx = Math.min(size - 1, Math.max(0, m[0] * dx + m[1] * dy + c));
      const sy = Math.min(size - 1, Math.max(0, m[2] * dx + m[3] * dy + c));
      const xi = Math.min(size - 2, Math.floor(sx));
      const yi = Math.min(size - 2, Math.floor(sy));
      const ax = sx - xi;
      const ay = sy - yi;
      const i = yi * size + xi;
      out[y * size + x] =
        (src[i]! * (1 - ax) + src[i + 1]! * ax) * (1 - ay) + (src[i + size]! * (1 - ax) + src[i + size + 1]! * ax) * ay;
    }
  }
  return out;
}

/** warp() on each channel of an interleaved size x size x C image. */
function warpChannels(src: Float32Array, size: number, C: number, m: [number, number, number, number], tx: number, ty: number, flipX: boolean, flipY: boolean): Float32Array {
  if (C === 1) return warp(src, size, m, tx, ty, flipX, flipY);
  const px = size * size;
  const out = new Float32Array(px * C);
  const plane = new Float32Array(px);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < px; i++) plane[i] = src[i * C + c]!;
    const w = warp(plane, size, m, tx, ty, flipX, flipY);
    for (let i = 0; i < px; i++) out[i * C + c] = w[i]!;
  }
  return out;
}

/**
 * Augments the images of one case (one per modality); `rng` is seeded per (seed, epoch, case).
 * `channels[m]` is modality m's channel count (default 1); colour channels share one geometric
 * transform and one intensity jitter, so hue is kept.
 */
export function augmentCase(images: readonly Float32Array[], size: number, rng: Rng, o: AugmentOptions = {}, channels?: readonly number[]): Float32Array[] {
  const flipX = rng.bernoulli(o.flipProbability ?? 0.5);
  const flipY = (o.verticalFlip ?? false) && rng.bernoulli(0.5);
  const rot = (((o.maxRotationDeg ?? 10) * Math.PI) / 180) * rng.uniform(-1, 1);
  const scale = 1 + (o.maxScale ?? 0.1) * rng.uniform(-1, 1);
  const tx = (o.maxTranslate ?? 0.06) * size * rng.uniform(-1, 1);
  const ty = (o.maxTranslate ?? 0.06) * size * rng.uniform(-1, 1);
  // Inverse of (rotate by rot, scale by scale): rotate by -rot, divide by scale.
  const cos = Math.cos(rot) / scale;
  const sin = Math.sin(rot) / scale;
  const inv: [number, number, number, number] = [cos, sin, -sin, cos];
  return images.map((img, m) => {
    const out = warpChannels(img, size, channels?.[m] ?? 1, inv, tx, ty, flipX, flipY);
    const gain = 1 + (o.contrast ?? 0.15) * rng.uniform(-1, 1);
    const offset = (o.brightness ?? 0.15) * rng.uniform(-1, 1);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * gain + offset;
    return out;
  });
}

export { Rng };
