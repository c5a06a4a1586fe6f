import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeFrames, decodeImageBytes, ImageDecodeError, openImage, toUnit } from './decode.js';
import { dicom16, grayPng16, grayPng8, rgbPng } from '../../test/helpers/test-images.js';
import { crc32, deflateSync } from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
/** pydicom's test files, shipped by Debian's python3-pydicom (installed by .ci/run). */
export const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const REFS = JSON.parse(readFileSync(join(HERE, 'fixtures/dicom-reference.json'), 'utf8')) as {
  files: Record<string, { shape: number[]; dtype: string; sha256: string; mean: number; note: string }>;
};
const pathOf = (name: string) => (name.startsWith('fixtures/') ? join(HERE, name) : join(PYDICOM_FILES, name));

/** Reads a little-endian .npy of uint8 (the one lossy reference kept as an array). */
function readNpyU8(path: string): Uint8Array {
  const b = readFileSync(path);
  const hl = b.readUInt16LE(8);
  expect(b.subarray(10, 10 + hl).toString('latin1')).toContain("'|u1'");
  return new Uint8Array(b.subarray(10 + hl));
}

describe('image decoding', () => {
  it('decodes 8-bit gray, 16-bit gray and RGB PNG to [0, 1], RGB keeping three channels', async () => {
    const g8 = await decodeImageBytes(grayPng8(3, 2, (x, y) => x * 100 + y));
    expect([g8.width, g8.height, g8.bitDepth, g8.format, g8.channels]).toEqual([3, 2, 8, 'png', 1]);
    expect(g8.data[2]).toBeCloseTo(200 / 255, 6);
    expect(g8.data[4]).toBeCloseTo(101 / 255, 6);

    const g16 = await decodeImageBytes(grayPng16(2, 2, (x, y) => (x + 2 * y) * 20000));
    expect(g16.bitDepth).toBe(16);
    expect(Array.from(g16.data)).toEqual([0, 20000, 40000, 60000].map((v) => Math.fround(v / 65535)));

    const rgb = await decodeImageBytes(rgbPng(1, 1, () => [200, 30, 30]));
    expect(rgb.channels).toBe(3);
    expect(Array.from(rgb.data)).toEqual([200, 30, 30].map((v) => Math.fround(v / 255)));
  });

  it('rescales 1, 2 and 4-bit grey PNGs by their bit depth (maximum -> 1)', async () => {
    for (const depth of [1, 2, 4] as const) {
      const max = 2 ** depth - 1;
      // pngjs writes 8/16-bit only; the low-bit-depth PNG is built by hand.
      const bytes = lowBitPng(depth, [0, max, 1, max]);
      const src = openImage(bytes);
      expect(src.bitsStored).toBe(depth);
      const f = await src.frame(0);
      expect(Array.from(f.data)).toEqual([0, max, 1, max]);
      const unit = toUnit(src, f);
      expect(unit[1]).toBe(1);
      expect(unit[2]).toBeCloseTo(1 / max, 6);
    }
  });

  it('decodes DICOM with rescale slope/intercept, its own range, and MONOCHROME1 inversion', async () => {
    const pixels = new Uint16Array([0, 100, 200, 400]);
    const d = await decodeImageBytes(dicom16({ rows: 2, columns: 2, pixels, slope: 2, intercept: -100 }));
    expect([d.format, d.width, d.height]).toEqual(['dicom', 2, 2]);
    expect(Array.from(d.data)).toEqual([0, 0.25, 0.5, 1].map(Math.fround));
    const inv = await decodeImageBytes(dicom16({ rows: 2, columns: 2, pixels, photometric: 'MONOCHROME1' }));
    expect(Array.from(inv.data)).toEqual([1, 0.75, 0.5, 0].map(Math.fround));
    const signed = new Int16Array([-200, -50, 50, 200]);
    const w = await decodeImageBytes(dicom16({ rows: 1, columns: 4, pixels: signed, signed: true, slope: 1, intercept: 0, windowCenter: 0.5, windowWidth: 201 }));
    expect(w.data[0]).toBe(0);
    expect(w.data[1]).toBeCloseTo(0.25, 5);
    expect(w.data[2]).toBeCloseTo(0.75, 5);
    expect(w.data[3]).toBe(1);
  });

  it('rejects files that are neither PNG nor DICOM, corrupt PNGs and truncated DICOM with readable messages', async () => {
    expect(() => openImage(Buffer.from('hello'), { name: 'a.txt' })).toThrow(/a.txt: neither a PNG nor a DICOM/);
    const png = grayPng8(4, 4, () => 7);
    expect(() => openImage(png.subarray(0, 40), { name: 'x.png' })).toThrow(/x.png: corrupt PNG/);
    const dcm = dicom16({ rows: 8, columns: 8, pixels: new Uint16Array(64) });
    const cut = dcm.subarray(0, dcm.length - 100);
    const err = await (async () => decodeFrames(openImage(cut, { name: 'cut.dcm' })))().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect((err as Error).message).not.toContain('[object Object]');
    expect((err as Error).message).toMatch(/cut.dcm: .*(truncated|damaged)/);
  });
});

describe.skipIf(!existsSync(PYDICOM_FILES))('real DICOM files (pydicom test data) against GDCM + pydicom', () => {
  for (const [name, ref] of Object.entries(REFS.files)) {
    it(`${name}: ${ref.note}`, async () => {
      const src = openImage(readFileSync(pathOf(name)), { name });
      const d = await decodeFrames(src);
      expect(d.shape).toEqual(ref.shape);
      expect(d.type).toBe(ref.dtype);
      const bytes = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
      const keep = join(HERE, 'fixtures/dicom', name.replace('.dcm', '.ref.npy'));
      if (existsSync(keep)) {
        // Lossy RGB JPEG without a colour-transform marker: libjpeg's YCbCr conversion undone, +-2.
        const want = readNpyU8(keep);
        const diffs = Array.from(want, (w, i) => Math.abs(w - bytes[i]!)).sort((a, b) => a - b);
        const meanAbs = diffs.reduce((a, b) => a + b, 0) / diffs.length;
        // Measured: mean 0.245, 99th percentile 8 (out-of-gamut values clipped by libjpeg cannot be restored).
        expect(meanAbs).toBeLessThan(0.5);
        expect(diffs[Math.floor(0.99 * diffs.length)]).toBeLessThanOrEqual(8);
      } else {
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(ref.sha256);
      }
    });
  }

  it('decodes 12-bit JPEG extended (process 4) with the 12-bit IJG libjpeg of dcmjs-codecs, like DCMTK dcmdjpeg', async () => {
    // The reference table (GDCM + pydicom) has JPGExtended.dcm; DCMTK's dcmdjpeg gives the same hash:
    //   dcmdjpeg JPGExtended.dcm raw.dcm; sha256 of raw.dcm's uint16 pixels (little-endian)
    const src = openImage(readFileSync(join(PYDICOM_FILES, 'JPGExtended.dcm')), { name: 'JPGExtended.dcm' });
    expect([src.transferSyntax?.name, src.bitsStored, src.frames]).toEqual(['JPEG Extended (Process 2 & 4)', 12, 1]);
    const d = await decodeFrames(src);
    const bytes = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe('d30242775a414c01d616447854ebe3f2b20259822894bcd6891f879bcdcbf313');
    let max = 0;
    for (let k = 0; k < d.data.length; k++) max = Math.max(max, Number(d.data[k]));
    expect(max).toBe(264);
  });

  it('names the file, the transfer syntax and a way out for a JPEG stream of another precision', async () => {
    const bytes = Buffer.from(readFileSync(join(PYDICOM_FILES, 'JPGExtended.dcm')));
    // Patch the SOF1 marker's sample precision from 12 to 16 (not valid for process 2 & 4).
    const sof = bytes.indexOf(Buffer.from([0xff, 0xc1]));
    expect(bytes[sof + 4]).toBe(12);
    bytes[sof + 4] = 16;
    const err = await openImage(bytes, { name: 'JPGExtended-16.dcm' }).frame(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    const m = (err as Error).message;
    expect(m).toContain('JPGExtended-16.dcm');
    expect(m).toContain('JPEG Extended (Process 2 & 4) (1.2.840.10008.1.2.4.51)');
    expect(m).toContain('16-bit JPEG is not valid');
    expect(m).toMatch(/gdcmconv --raw|dcmdjpeg/);
  });

  it('reports truncated files and non-image DICOM readably', () => {
    expect(() => openImage(readFileSync(join(PYDICOM_FILES, 'MR_truncated.dcm')), { name: 'MR_truncated.dcm' })).toThrow(/MR_truncated.dcm: .*(truncated|pixel data)/);
    expect(() => openImage(readFileSync(join(PYDICOM_FILES, 'rtplan.dcm')), { name: 'rtplan.dcm' })).toThrow(/rtplan.dcm: DICOM without pixel data/);
  });

  it('exposes frame counts, modality and the palette as RGB', () => {
    expect(openImage(readFileSync(join(PYDICOM_FILES, 'rtdose.dcm'))).frames).toBe(15);
    const us = openImage(readFileSync(join(HERE, 'fixtures/dicom/US_palette_color.dcm')));
    expect([us.channels, us.modality, us.photometric]).toEqual([3, 'US', 'PALETTE COLOR']);
  });
});

/** A grey PNG with 1, 2 or 4 bits per sample, one row (CRC and zlib from Node). */
function lowBitPng(depth: 1 | 2 | 4, values: number[]): Buffer {
  const perByte = 8 / depth;
  const row = Buffer.alloc(1 + Math.ceil(values.length / perByte));
  values.forEach((v, i) => {
    row[1 + Math.floor(i / perByte)]! |= v << (8 - depth * ((i % perByte) + 1));
  });
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(values.length, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr[8] = depth;
  ihdr[9] = 0;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(row)), chunk('IEND', Buffer.alloc(0))]);
}
