// augmentCaseInto against the per-plane formulation it replaced (kept below verbatim as the
// reference): every value bit-identical, for grey and colour images, several draws and options.
import { describe, expect, it } from 'vitest';
import { augmentCase, augmentCaseInto, Rng, type AugmentOptions } from './augment.js';

// ---- reference: site-agent/data/augment.ts before it wrote into batch arrays ----
function refWarp(src: Float32Array, size: number, m: [number, number, number, number], tx: number, ty: number, flipX: boolean, flipY: boolean): Float32Array {
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

function refWarpChannels(src: Float32Array, size: number, C: number, m: [number, number, number, number], tx: number, ty: number, flipX: boolean, flipY: boolean): Float32Array {
  if (C === 1) return refWarp(src, size, m, tx, ty, flipX, flipY);
  const px = size * size;
  const out = new Float32Array(px * C);
  const plane = new Float32Array(px);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < px; i++) plane[i] = src[i * C + c]!;
    const w = refWarp(plane, size, m, tx, ty, flipX, flipY);
    for (let i = 0; i < px; i++) out[i * C + c] = w[i]!;
  }
  return out;
}

function refAugmentCase(images: readonly Float32Array[], size: number, rng: Rng, o: AugmentOptions = {}, channels?: readonly number[]): Float32Array[] {
  const flipX = rng.bernoulli(o.flipProbability ?? 0.5);
  const flipY = (o.verticalFlip ?? false) && rng.bernoulli(0.5);
  const rot = (((o.maxRotationDeg ?? 10) * Math.PI) / 180) * rng.uniform(-1, 1);
  const scale = 1 + (o.maxScale ?? 0.1) * rng.uniform(-1, 1);
  const tx = (o.maxTranslate ?? 0.06) * size * rng.uniform(-1, 1);
  const ty = (o.maxTranslate ?? 0.06) * size * rng.uniform(-1, 1);
  const cos = Math.cos(rot) / scale;
  const sin = Math.sin(rot) / scale;
  const inv: [number, number, number, number] = [cos, sin, -sin, cos];
  return images.map((img, m) => {
    const out = refWarpChannels(img, size, channels?.[m] ?? 1, inv, tx, ty, flipX, flipY);
    const gain = 1 + (o.contrast ?? 0.15) * rng.uniform(-1, 1);
    const offset = (o.brightness ?? 0.15) * rng.uniform(-1, 1);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * gain + offset;
    return out;
  });
}
// ---- end of reference ----

function image(size: number, C: number, seed: number): Float32Array {
  const r = new Rng(seed, 'img');
  return Float32Array.from({ length: size * size * C }, () => r.uniform(-2.5, 2.5));
}

describe('augmentCaseInto', () => {
  const options: AugmentOptions[] = [
    {},
    { verticalFlip: true, maxRotationDeg: 30, maxScale: 0.3, maxTranslate: 0.2, contrast: 0.4, brightness: 0.5 },
    { flipProbability: 1, maxRotationDeg: 0, maxScale: 0, maxTranslate: 0, contrast: 0, brightness: 0 },
  ];

  it('gives the per-plane reference values bit for bit (grey and colour, several seeds and options)', () => {
    for (const [size, channels] of [[16, [1, 1]], [23, [1, 3]], [32, [3]], [9, [1, 4, 1]]] as [number, number[]][]) {
      for (const o of options) {
        for (let seed = 0; seed < 12; seed++) {
          const imgs = channels.map((C, m) => image(size, C, seed * 10 + m));
          const ref = refAugmentCase(imgs, size, new Rng(seed, 'augment', 0, 'case-1'), o, channels);
          const got = augmentCase(imgs, size, new Rng(seed, 'augment', 0, 'case-1'), o, channels);
          got.forEach((g, m) => expect(Buffer.from(g.buffer).equals(Buffer.from(ref[m]!.buffer))).toBe(true));
        }
      }
    }
  });

  it('writes each image at its place in the batch arrays and nowhere else', () => {
    const size = 12;
    const imgs = [image(size, 1, 1), image(size, 3, 2)];
    const px = [size * size, size * size * 3];
    const dst = px.map((n) => new Float32Array(n * 3).fill(7));
    augmentCaseInto(imgs, size, new Rng(4, 'x'), {}, [1, 3], dst, px.map((n) => n));
    const ref = refAugmentCase(imgs, size, new Rng(4, 'x'), {}, [1, 3]);
    dst.forEach((d, m) => {
      expect(Array.from(d.subarray(px[m]!, 2 * px[m]!))).toEqual(Array.from(ref[m]!));
      expect(d.subarray(0, px[m]!).every((v) => v === 7)).toBe(true);
      expect(d.subarray(2 * px[m]!).every((v) => v === 7)).toBe(true);
    });
    expect(() => augmentCaseInto(imgs, size, new Rng(4, 'x'), {}, [1, 3], dst, [px[0]! * 2 + 1, 0])).toThrow(/overruns the batch array/);
    expect(() => augmentCaseInto(imgs, size + 1, new Rng(4, 'x'), {}, [1, 3], dst, [0, 0])).toThrow(/expected 13x13x1/);
  });
});
