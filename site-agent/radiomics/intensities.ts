// Images for radiomics: the image's own intensities (PNG stored values; DICOM stored values after
// rescale slope and intercept), never the [0, 1] window used for the networks, and the pixel
// spacing a DICOM carries (Pixel Spacing, else the ultrasound region calibration).
import { readFile } from 'node:fs/promises';
import dicomParser from 'dicom-parser';
import { FlError } from '../../shared/errors/index.js';
import { decodeImageBytes, isDicom } from '../data/decode.js';

export interface IntensityImage {
  readonly width: number;
  readonly height: number;
  readonly values: Float64Array;
  /** mm per pixel (x, y) from the file, when it has one. */
  readonly spacing?: { readonly x: number; readonly y: number; readonly source: string };
}

function rawDicom(bytes: Buffer, width: number, height: number): { values: Float64Array; spacing?: IntensityImage['spacing'] } {
  const ds = dicomParser.parseDicom(bytes);
  const bits = ds.uint16('x00280100') ?? 16;
  const signed = ds.uint16('x00280103') === 1;
  const samples = ds.uint16('x00280002') ?? 1;
  const planar = ds.uint16('x00280006') === 1;
  const pixel = ds.elements['x7fe00010']!;
  const bigEndian = ds.string('x00020010')?.trim() === '1.2.840.10008.1.2.2';
  const view = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset + pixel.dataOffset, pixel.length);
  const raw = (k: number): number =>
    bits === 8 ? (signed ? view.getInt8(k) : view.getUint8(k)) : signed ? view.getInt16(k * 2, !bigEndian) : view.getUint16(k * 2, !bigEndian);
  const num = (tag: string) => {
    const s = ds.string(tag);
    const v = s === undefined ? NaN : Number(s.split('\\')[0]);
    return Number.isFinite(v) ? v : undefined;
  };
  const slope = num('x00281053') ?? 1;
  const intercept = num('x00281052') ?? 0;
  const n = width * height;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    if (samples === 3) {
      const [r, g, b] = planar ? [raw(i), raw(n + i), raw(2 * n + i)] : [raw(3 * i), raw(3 * i + 1), raw(3 * i + 2)];
      v = 0.299 * r + 0.587 * g + 0.114 * b;
    } else v = raw(i);
    values[i] = v * slope + intercept;
  }
  let spacing: IntensityImage['spacing'];
  const ps = ds.string('x00280030');
  if (ps) {
    const [row, col] = ps.split('\\').map(Number);
    if (row! > 0 && col! > 0) spacing = { x: col!, y: row!, source: 'DICOM Pixel Spacing (0028,0030)' };
  }
  const regions = ds.elements['x00186011']?.items;
  if (!spacing && regions && regions.length > 0) {
    const r = regions[0]!.dataSet!;
    const ux = r.uint16('x00186024');
    const uy = r.uint16('x00186026');
    const dx = r.double('x0018602c');
    const dy = r.double('x0018602e');
    // Units 3 = cm.
    if (ux === 3 && uy === 3 && dx !== undefined && dy !== undefined && dx > 0 && dy > 0) {
      spacing = { x: dx * 10, y: dy * 10, source: 'DICOM ultrasound region calibration (Physical Delta X/Y)' };
    }
  }
  return spacing ? { values, spacing } : { values };
}

/** Reads an image's own intensities; `what` names it in errors (e.g. "row 7, column gsus"). */
export async function readIntensities(path: string, what: string): Promise<IntensityImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new FlError('radiomics.image', `${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let decoded;
  try {
    decoded = decodeImageBytes(bytes);
  } catch (err) {
    throw new FlError('radiomics.image', `${what}: cannot decode ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { width, height } = decoded;
  if (isDicom(bytes)) return { width, height, ...rawDicom(bytes, width, height) };
  // PNG: decode.ts scales stored values to [0, 1] by the bit depth; undo it.
  const max = decoded.bitDepth === 16 ? 65535 : 255;
  const values = new Float64Array(width * height);
  for (let i = 0; i < values.length; i++) {
    const v = decoded.data[i]! * max;
    const r = Math.round(v);
    values[i] = Math.abs(v - r) < 1e-3 ? r : v;
  }
  return { width, height, values };
}

/** A mask file as 0/1 (non-zero = region). */
export async function readMask(path: string, what: string): Promise<{ width: number; height: number; mask: Uint8Array }> {
  const img = await readIntensities(path, what);
  const mask = new Uint8Array(img.values.length);
  for (let i = 0; i < mask.length; i++) mask[i] = img.values[i] !== 0 ? 1 : 0;
  return { width: img.width, height: img.height, mask };
}
