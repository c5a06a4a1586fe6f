// Preprocessing of one decoded image: crop to the ROI (as a square around its centre, so the
// node's aspect ratio survives), bilinear resize to the model's input size, per-modality normalisation.
// Images may have several channels (RGB Doppler, or K cine frames), interleaved (size x size x C);
// normalisation is over all channels jointly, so colour relations (red vs blue flow) survive.
import type { DecodedImage } from './decode.js';
import type { Roi } from './manifest.js';

export type Normalization = 'zscore' | 'minmax' | { readonly mean: number; readonly std: number };

export interface PreprocessOptions {
  readonly inputSize: number;
  readonly roi?: Roi;
  /** Default 'zscore' (per image), which removes site gain differences. */
  readonly normalization?: Normalization;
}

/** Square box [x0, y0, side] centred on the ROI (or the whole image), possibly reaching outside it. */
export function squareBox(width: number, height: number, roi?: Roi): [number, number, number] {
  const [x, y, w, h] = roi ?? [0, 0, width, height];
  const side = Math.max(w, h);
  return [x + w / 2 - side / 2, y + h / 2 - side / 2, side];
}

/**
 * Samples the square box into size x size pixels with bilinear interpolation (pixel centres
 * aligned, edge pixels clamped). When shrinking by more than 2x, the box is area-averaged first
 * (sub-sampled at each output pixel) to avoid aliasing speckle.
 */
export function cropResize(img: DecodedImage, box: [number, number, number], size: number): Float32Array {
  const C = img.channels ?? 1;
  if (C !== 1) {
    // One channel at a time through the single-channel path (identical maths per channel).
    const n = img.width * img.height;
    const out = new Float32Array(size * size * C);
    for (let c = 0; c < C; c++) {
      const plane = new Float32Array(n);
      for (let i = 0; i < n; i++) plane[i] = img.data[i * C + c]!;
      const r = cropResize({ ...img, channels: 1, data: plane }, box, size);
      for (let i = 0; i < size * size; i++) out[i * C + c] = r[i]!;
    }
    return out;
  }
  const [x0, y0, side] = box;
  const out = new Float32Array(size * size);
  const scale = side / size;
  const taps = Math.max(1, Math.min(4, Math.floor(scale)));
  const { width: W, height: H, data } = img;
  const sample = (fx: number, fy: number): number => {
    const x = Math.min(W - 1, Math.max(0, fx));
    const y = Math.min(H - 1, Math.max(0, fy));
    const xi = Math.min(W - 2, Math.floor(x));
    const yi = Math.min(H - 2, Math.floor(y));
    if (W < 2 || H < 2) return data[Math.round(y) * W + Math.round(x)]!;
    const ax = x - xi;
    const ay = y - yi;
    const i = yi * W + xi;
    return (data[i]! * (1 - ax) + data[i + 1]! * ax) * (1 - ay) + (data[i + W]! * (1 - ax) + data[i + W + 1]! * ax) * ay;
  };
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      let s = 0;
      for (let ty = 0; ty < taps; ty++) {
        for (let tx = 0; tx < taps; tx++) {
          const fx = x0 + (ox + (tx + 0.5) / taps) * scale - 0.5;
          const fy = y0 + (oy + (ty + 0.5) / taps) * scale - 0.5;
          s += sample(fx, fy);
        }
      }
      out[oy * size + ox] = s / (taps * taps);
    }
  }
  return out;
}

export function normalize(values: Float32Array, mode: Normalization): Float32Array {
  const n = values.length;
  if (mode === 'zscore') {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += values[i]!;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (values[i]! - mean) ** 2;
    const sd = Math.sqrt(v / n) || 1;
    for (let i = 0; i < n; i++) values[i] = (values[i]! - mean) / sd;
  } else if (mode === 'minmax') {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, values[i]!);
      hi = Math.max(hi, values[i]!);
    }
    const r = hi > lo ? hi - lo : 1;
    for (let i = 0; i < n; i++) values[i] = (values[i]! - lo) / r;
  } else {
    const sd = mode.std || 1;
    for (let i = 0; i < n; i++) values[i] = (values[i]! - mode.mean) / sd;
  }
  return values;
}

/** Crop to ROI, resize to inputSize x inputSize, normalise: the model-ready image (inputSize x inputSize x channels). */
export function preprocess(img: DecodedImage, opts: PreprocessOptions): Float32Array {
  const box = squareBox(img.width, img.height, opts.roi);
  return normalize(cropResize(img, box, opts.inputSize), opts.normalization ?? 'zscore');
}
