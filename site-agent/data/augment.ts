// Training-only, seeded augmentation of a case (all modalities of a case share one geometric
// transform; intensity jitter is drawn per modality). Works on normalised size x size images.
//
// augmentCaseInto writes each augmented image straight into its place in a batch array: one pass
// per image (the affine map computed once per pixel for every channel, the intensity jitter applied
// as each value is written), no per-case or per-plane arrays. Its values are bit-identical to the
// original per-plane formulation (warp, then gain/offset on the float32 result), which
// augment.test.ts keeps as the reference.
import { Rng } from '../../shared/synth/rng.js';
import type { AugmentOptions } from '../../shared/families/data.js';

export type { AugmentOptions };

/** One case's draw: the geometric transform shared by its modalities, a gain and offset per modality. */
interface Draw {
  readonly flipX: boolean;
  readonly flipY: boolean;
  /** Inverse of (rotate, scale): [m0, m1; m2, m3]. */
  readonly m: readonly [number, number, number, number];
  readonly tx: number;
  readonly ty: number;
  readonly gain: Float64Array;
  readonly offset: Float64Array;
}

function draw(rng: Rng, size: number, modalities: number, o: AugmentOptions): Draw {
  const flipX = rng.bernoulli(o.flipProbability ?? 0.5);
  const flipY = (o.verticalFlip ?? false) && rng.bernoulli(0.5);
  const rot = (((o.maxRotationDeg ?? 10) * Math.PI) / 180) * rng.uniform(-1, 1);
  const scale = 1 + (o.maxScale ?? 0.1) * rng.uniform(-1, 1);
  const tx = (o.maxTranslate ?? 0.06) * size * rng.uniform(-1, 1);
  const ty = (o.maxTranslate ?? 0.06) * size * rng.uniform(-1, 1);
  // Inverse of (rotate by rot, scale by scale): rotate by -rot, divide by scale.
  const cos = Math.cos(rot) / scale;
  const sin = Math.sin(rot) / scale;
  // The intensity jitter is drawn after the geometry, gain then offset for each modality in turn
  // (the warp itself draws nothing, so this is the order of the per-modality formulation).
  const gain = new Float64Array(modalities);
  const offset = new Float64Array(modalities);
  for (let k = 0; k < modalities; k++) {
    gain[k] = 1 + (o.contrast ?? 0.15) * rng.uniform(-1, 1);
    offset[k] = (o.brightness ?? 0.15) * rng.uniform(-1, 1);
  }
  return { flipX, flipY, m: [cos, sin, -sin, cos], tx, ty, gain, offset };
}

/**
 * Scratch rows of source coordinates by output column (reused across calls of one size):
 * m0 * dx and m2 * dx for every x.
 */
let scratch: { size: number; ax: Float64Array; cx: Float64Array } | undefined;

/**
 * Warps an interleaved size x size x C image with the inverse affine map (bilinear sampling, edge
 * clamping), scales each value by `gain` and adds `offset`, and writes the result to `dst` at
 * `at`. The arithmetic is, value for value, that of warping each channel plane separately, storing
 * the float32 result, then applying gain and offset.
 */
function warpInto(src: Float32Array, size: number, C: number, d: Draw, k: number, dst: Float32Array, at: number): void {
  if (src.length !== size * size * C) throw new Error(`augment: image has ${src.length} values, expected ${size}x${size}x${C}`);
  if (at < 0 || at + src.length > dst.length) throw new Error(`augment: writing ${src.length} values at ${at} overruns the batch array of ${dst.length}`);
  const [m0, m1, m2, m3] = d.m;
  const c = (size - 1) / 2;
  if (!scratch || scratch.size !== size) scratch = { size, ax: new Float64Array(size), cx: new Float64Array(size) };
  const { ax, cx } = scratch;
  for (let x = 0; x < size; x++) {
    const dx = (d.flipX ? size - 1 - x : x) - c - d.tx;
    ax[x] = m0 * dx;
    cx[x] = m2 * dx;
  }
  const gain = d.gain[k]!;
  const offset = d.offset[k]!;
  const hi = size - 1;
  const hi2 = size - 2;
  const row = size * C;
  for (let y = 0; y < size; y++) {
    const dy = (d.flipY ? size - 1 - y : y) - c - d.ty;
    const by = m1 * dy;
    const dyy = m3 * dy;
    let o = at + y * row;
    for (let x = 0; x < size; x++) {
      const sx = Math.min(hi, Math.max(0, ax[x]! + by + c));
      const sy = Math.min(hi, Math.max(0, cx[x]! + dyy + c));
      const xi = Math.min(hi2, sx | 0); // sx >= 0: truncation is the floor
      const yi = Math.min(hi2, sy | 0);
      const fx = sx - xi;
      const fy = sy - yi;
      const gx = 1 - fx;
      const gy = 1 - fy;
      let i = (yi * size + xi) * C;
      if (C === 1) {
        const v = (src[i]! * gx + src[i + 1]! * fx) * gy + (src[i + size]! * gx + src[i + size + 1]! * fx) * fy;
        dst[o++] = Math.fround(v) * gain + offset;
      } else {
        for (let ch = 0; ch < C; ch++, i++) {
          const v = (src[i]! * gx + src[i + C]! * fx) * gy + (src[i + row]! * gx + src[i + row + C]! * fx) * fy;
          dst[o++] = Math.fround(v) * gain + offset;
        }
      }
    }
  }
}

/**
 * Augments the images of one case (one per modality) into batch arrays: image m goes to `dst[m]`
 * at `at[m]`. `rng` is seeded per (seed, epoch, case); `channels[m]` is modality m's channel count
 * (default 1); colour channels share one geometric transform and one intensity jitter, so hue is kept.
 */
export function augmentCaseInto(images: readonly Float32Array[], size: number, rng: Rng, o: AugmentOptions, channels: readonly number[] | undefined, dst: readonly Float32Array[], at: readonly number[]): void {
  const d = draw(rng, size, images.length, o);
  images.forEach((img, m) => warpInto(img, size, channels?.[m] ?? 1, d, m, dst[m]!, at[m]!));
}

/** augmentCaseInto with new arrays (one per modality). */
export function augmentCase(images: readonly Float32Array[], size: number, rng: Rng, o: AugmentOptions = {}, channels?: readonly number[]): Float32Array[] {
  const out = images.map((img) => new Float32Array(img.length));
  augmentCaseInto(images, size, rng, o, channels, out, out.map(() => 0));
  return out;
}

export { Rng };
