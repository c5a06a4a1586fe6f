// Pixel operations for the synthetic ultrasound phantoms (single-channel float images in [0, 1]).
import type { Rng } from './rng.js';

export interface Gray {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export function blank(width: number, height: number, value = 0): Gray {
  return { width, height, data: new Float32Array(width * height).fill(value) };
}

/** Smooth 0→1 transition of `x` across an edge of half-width `w` centred at 0 (negative = inside). */
export function softInside(x: number, w: number): number {
  if (x <= -w) return 1;
  if (x >= w) return 0;
  const t = (x + w) / (2 * w);
  return 1 - t * t * (3 - 2 * t);
}

/** Separable box blur with radius r (a scanner's lateral/axial resolution); r = 0 is a no-op. */
export function boxBlur(img: Gray, r: number): Gray {
  if (r <= 0) return img;
  const { width: W, height: H } = img;
  const tmp = new Float32Array(W * H);
  const out = new Float32Array(W * H);
  const n = 2 * r + 1;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += img.data[row + Math.min(W - 1, Math.max(0, x + k))]!;
      tmp[row + x] = s / n;
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++) s += tmp[Math.min(H - 1, Math.max(0, y + k)) * W + x]!;
      out[y * W + x] = s / n;
    }
  }
  return { width: W, height: H, data: out };
}

/**
 * Fully developed speckle: multiplies each pixel by a Rayleigh-distributed factor of mean 1,
 * blended with strength s (0 = none, 1 = pure Rayleigh). Speckle grains are `grain` pixels wide.
 */
export function speckle(img: Gray, s: number, grain: number, rng: Rng): void {
  const { width: W, height: H, data } = img;
  const g = Math.max(1, Math.round(grain));
  const gw = Math.ceil(W / g);
  const gh = Math.ceil(H / g);
  const field = new Float32Array(gw * gh);
  const rayleighMean = Math.sqrt(Math.PI / 2);
  for (let i = 0; i < field.length; i++) {
    let u = rng.next();
    if (u === 0) u = 1e-12;
    field[i] = Math.sqrt(-2 * Math.log(u)) / rayleighMean;
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const f = field[Math.floor(y / g) * gw + Math.floor(x / g)]!;
      data[y * W + x] = data[y * W + x]! * (1 - s + s * f);
    }
  }
}

/** 8-bit quantisation with clipping. */
export function toUint8(img: Gray): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(img.data[i]! * 255)));
  return out;
}
