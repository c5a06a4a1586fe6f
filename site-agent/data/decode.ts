// Image decoding to one grayscale float channel in [0, 1]: PNG (8/16-bit, gray/RGB, with or without
// alpha) via pngjs, and uncompressed DICOM via dicom-parser (rescale slope/intercept, VOI window,
// MONOCHROME1 inversion).
import { readFile } from 'node:fs/promises';
import dicomParser from 'dicom-parser';
import { PNG } from 'pngjs';

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** Row-major grayscale intensities in [0, 1]. */
  readonly data: Float32Array;
  readonly format: 'png' | 'dicom';
  readonly bitDepth: number;
}

export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isDicom(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

export function decodePng(bytes: Buffer): DecodedImage {
  const png = PNG.sync.read(bytes, { skipRescale: true });
  const { width, height, depth, colorType } = png as unknown as { width: number; height: number; depth: number; colorType: number };
  const src = png.data as unknown as ArrayLike<number>;
  const max = depth === 16 ? 65535 : 255;
  // pngjs expands every colour type to RGBA (in 16-bit when depth is 16 and skipRescale is set).
  const out = new Float32Array(width * height);
  const colour = colorType === 2 || colorType === 6 || colorType === 3;
  for (let i = 0; i < out.length; i++) {
    const o = i * 4;
    const v = colour ? 0.299 * src[o]! + 0.587 * src[o + 1]! + 0.114 * src[o + 2]! : src[o]!;
    out[i] = v / max;
  }
  return { width, height, data: out, format: 'png', bitDepth: depth === 16 ? 16 : 8 };
}

function num(ds: dicomParser.DataSet, tag: string): number | undefined {
  const s = ds.string(tag);
  if (s === undefined || s.trim() === '') return undefined;
  const v = Number(s.split('\\')[0]);
  return Number.isFinite(v) ? v : undefined;
}

const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']);

export function decodeDicom(bytes: Uint8Array): DecodedImage {
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (err) {
    throw new ImageDecodeError(`not a readable DICOM file: ${err instanceof Error ? err.message : String(err)}`);
  }
  const syntax = ds.string('x00020010')?.trim();
  if (syntax && !UNCOMPRESSED.has(syntax)) {
    throw new ImageDecodeError(`DICOM transfer syntax ${syntax} is compressed; export uncompressed (explicit VR little endian) images`);
  }
  const rows = ds.uint16('x00280010');
  const cols = ds.uint16('x00280011');
  const bits = ds.uint16('x00280100') ?? 16;
  const signed = ds.uint16('x00280103') === 1;
  const samples = ds.uint16('x00280002') ?? 1;
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim();
  const pixel = ds.elements['x7fe00010'];
  if (!rows || !cols) throw new ImageDecodeError('DICOM has no Rows/Columns');
  if (!pixel) throw new ImageDecodeError('DICOM has no pixel data');
  if (bits !== 8 && bits !== 16) throw new ImageDecodeError(`DICOM BitsAllocated ${bits} is not supported (8 or 16)`);
  if (samples !== 1 && !(samples === 3 && photometric === 'RGB')) {
    throw new ImageDecodeError(`DICOM with ${samples} samples per pixel and ${photometric} is not supported`);
  }
  const n = rows * cols;
  const bytesPer = bits / 8;
  if (pixel.length < n * samples * bytesPer) {
    throw new ImageDecodeError(`DICOM pixel data has ${pixel.length} bytes, expected ${n * samples * bytesPer}`);
  }
  const planar = ds.uint16('x00280006') === 1;
  const view = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset + pixel.dataOffset, pixel.length);
  const littleEndian = syntax !== '1.2.840.10008.1.2.2';
  const raw = (k: number): number =>
    bits === 8 ? (signed ? view.getInt8(k) : view.getUint8(k)) : signed ? view.getInt16(k * 2, littleEndian) : view.getUint16(k * 2, littleEndian);
  const slope = num(ds, 'x00281053') ?? 1;
  const intercept = num(ds, 'x00281052') ?? 0;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    if (samples === 3) {
      const [r, g, b] = planar ? [raw(i), raw(n + i), raw(2 * n + i)] : [raw(3 * i), raw(3 * i + 1), raw(3 * i + 2)];
      v = 0.299 * r + 0.587 * g + 0.114 * b;
    } else v = raw(i);
    values[i] = v * slope + intercept;
  }
  // Map to [0, 1]: the VOI window when present, else the image's own range.
  const center = num(ds, 'x00281050');
  const width = num(ds, 'x00281051');
  let lo: number;
  let hi: number;
  if (center !== undefined && width !== undefined && width > 1) {
    lo = center - 0.5 - (width - 1) / 2;
    hi = center - 0.5 + (width - 1) / 2;
  } else {
    lo = Infinity;
    hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const range = hi > lo ? hi - lo : 1;
  const invert = photometric === 'MONOCHROME1';
  for (let i = 0; i < n; i++) {
    const t = Math.min(1, Math.max(0, (values[i]! - lo) / range));
    values[i] = invert ? 1 - t : t;
  }
  return { width: cols, height: rows, data: values, format: 'dicom', bitDepth: bits };
}

/** Decodes a PNG or DICOM file (by content, not extension). */
export async function decodeImageFile(path: string): Promise<DecodedImage> {
  const bytes = await readFile(path);
  return decodeImageBytes(bytes);
}

export function decodeImageBytes(bytes: Buffer): DecodedImage {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_MAGIC)) {
    try {
      return decodePng(bytes);
    } catch (err) {
      throw new ImageDecodeError(`corrupt PNG: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (isDicom(bytes)) return decodeDicom(bytes);
  throw new ImageDecodeError('neither a PNG nor a DICOM (Part 10) file');
}
