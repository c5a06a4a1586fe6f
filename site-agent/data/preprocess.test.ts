import { describe, expect, it } from 'vitest';
import { augmentCase, Rng } from './augment.js';
import type { DecodedImage } from './decode.js';
import { cropResize, normalize, preprocess, squareBox } from './preprocess.js';

function image(width: number, height: number, f: (x: number, y: number) => number): DecodedImage {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { width, height, data, format: 'png', bitDepth: 8 };
}

describe('preprocessing', () => {
  it('crops to the ROI as a square around its centre and resizes', () => {
    // A bright 8x8 square at (20, 10) on a dark 64x32 image.
    const img = image(64, 32, (x, y) => (x >= 20 && x < 28 && y >= 10 && y < 18 ? 1 : 0));
    expect(squareBox(64, 32, [20, 10, 8, 4])).toEqual([20, 8, 8]);
    const out = cropResize(img, squareBox(64, 32, [20, 10, 8, 8]), 4);
    expect(Array.from(out)).toEqual(new Array(16).fill(1));
    // Upsampling a 2x2 checker keeps the corners.
    const up = cropResize(image(2, 2, (x, y) => (x + y) % 2), [0, 0, 2], 4);
    expect(up[0]).toBe(0);
    expect(up[3]).toBe(1);
    // Downsampling averages (no aliasing of a 1-px checkerboard): every output is ~0.5.
    const down = cropResize(image(64, 64, (x, y) => (x + y) % 2), [0, 0, 64], 8);
    for (const v of down) expect(v).toBeCloseTo(0.5, 1);
  });

  it('normalises per image (z-score), min-max, or with fixed statistics', () => {
    const z = normalize(Float32Array.from([1, 2, 3, 4]), 'zscore');
    expect(z.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 6);
    expect(Math.sqrt(z.reduce((a, b) => a + b * b, 0) / 4)).toBeCloseTo(1, 6);
    expect(Array.from(normalize(Float32Array.from([2, 4, 6]), 'minmax'))).toEqual([0, 0.5, 1]);
    expect(Array.from(normalize(Float32Array.from([2, 4]), { mean: 2, std: 2 }))).toEqual([0, 1]);
    // Gain differences between sites vanish under z-score.
    const a = preprocess(image(16, 16, (x, y) => 0.2 + 0.01 * x * y), { inputSize: 8 });
    const b = preprocess(image(16, 16, (x, y) => 1.5 * (0.2 + 0.01 * x * y)), { inputSize: 8 });
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4));
  });

  it('augments deterministically per seed, sharing the geometry across modalities', () => {
    const size = 16;
    const base = new Float32Array(size * size).map((_, i) => (i % size) / size);
    const one = augmentCase([base, base], size, new Rng(5, 'case'));
    const two = augmentCase([base, base], size, new Rng(5, 'case'));
    const other = augmentCase([base, base], size, new Rng(6, 'case'));
    expect(one[0]).toEqual(two[0]);
    expect(one[0]).not.toEqual(other[0]);
    // Without intensity jitter the two modalities get the same geometric transform.
    const same = augmentCase([base, base], size, new Rng(9), { contrast: 0, brightness: 0 });
    expect(same[0]).toEqual(same[1]);
    // A pure horizontal flip mirrors the image.
    const flipped = augmentCase([base], size, new Rng(1), { flipProbability: 1, maxRotationDeg: 0, maxScale: 0, maxTranslate: 0, contrast: 0, brightness: 0 })[0]!;
    expect(flipped[0]).toBeCloseTo(base[size - 1]!, 6);
    expect(flipped[size - 1]).toBeCloseTo(base[0]!, 6);
  });
});
