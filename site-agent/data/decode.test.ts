import { describe, expect, it } from 'vitest';
import { decodeImageBytes, ImageDecodeError } from './decode.js';
import { dicom16, grayPng16, grayPng8, rgbPng } from '../../test/helpers/test-images.js';

describe('image decoding', () => {
  it('decodes 8-bit gray, 16-bit gray and RGB PNG to [0, 1] grayscale', () => {
    const g8 = decodeImageBytes(grayPng8(3, 2, (x, y) => x * 100 + y));
    expect([g8.width, g8.height, g8.bitDepth, g8.format]).toEqual([3, 2, 8, 'png']);
    expect(g8.data[2]).toBeCloseTo(200 / 255, 6);
    expect(g8.data[4]).toBeCloseTo(101 / 255, 6);

    const g16 = decodeImageBytes(grayPng16(2, 2, (x, y) => (x + 2 * y) * 20000));
    expect(g16.bitDepth).toBe(16);
    expect(Array.from(g16.data)).toEqual([0, 20000, 40000, 60000].map((v) => Math.fround(v / 65535)));

    const rgb = decodeImageBytes(rgbPng(1, 1, () => [255, 0, 0]));
    expect(rgb.data[0]).toBeCloseTo(0.299, 5);
  });

  it('decodes DICOM with rescale slope/intercept, its own range, and MONOCHROME1 inversion', () => {
    const pixels = new Uint16Array([0, 100, 200, 400]);
    const d = decodeImageBytes(dicom16({ rows: 2, columns: 2, pixels, slope: 2, intercept: -100 }));
    expect([d.format, d.width, d.height]).toEqual(['dicom', 2, 2]);
    // modality values -100, 100, 300, 700 mapped over their range
    expect(Array.from(d.data)).toEqual([0, 0.25, 0.5, 1].map(Math.fround));

    const inv = decodeImageBytes(dicom16({ rows: 2, columns: 2, pixels, photometric: 'MONOCHROME1' }));
    expect(Array.from(inv.data)).toEqual([1, 0.75, 0.5, 0].map(Math.fround));

    // signed pixels with rescale, windowed: window centre 0.5, width 201 -> [-100, 100]
    const signed = new Int16Array([-200, -50, 50, 200]);
    const w = decodeImageBytes(dicom16({ rows: 1, columns: 4, pixels: signed, signed: true, slope: 1, intercept: 0, windowCenter: 0.5, windowWidth: 201 }));
    expect(w.data[0]).toBe(0);
    expect(w.data[1]).toBeCloseTo(0.25, 5);
    expect(w.data[2]).toBeCloseTo(0.75, 5);
    expect(w.data[3]).toBe(1);
  });

  it('rejects files that are neither PNG nor DICOM, and corrupt PNGs', () => {
    expect(() => decodeImageBytes(Buffer.from('hello'))).toThrow(ImageDecodeError);
    const png = grayPng8(4, 4, () => 7);
    expect(() => decodeImageBytes(png.subarray(0, 40))).toThrow(/corrupt PNG/);
  });
});
