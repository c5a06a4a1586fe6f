// Image decoding in two steps.
//  1. `openImage(bytes)` reads the header and gives an ImageSource: size, frame count, channels,
//     stored sample type, and `frame(i)`, which decompresses one frame into its *stored* values
//     after colour conversion (YBR -> RGB, PALETTE COLOR -> RGB), before any rescale or window.
//     `fl data decode` writes exactly these values.
//  2. `toUnit(source, frame)` maps a frame to floats in [0, 1] for preprocessing: grey DICOM after
//     rescale slope/intercept and the VOI window (or the frame's own range), MONOCHROME1 inverted;
//     colour and PNG by their bit depth.
// PNG (1/2/4/8/16-bit, grey/RGB/palette, with or without alpha) via pngjs; DICOM via dicom-parser
// with the codecs in codecs/ (JPEG 8-bit, JPEG lossless, JPEG-LS, JPEG 2000, RLE; deflate is
// inflated by dicom-parser).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import dicomParser from 'dicom-parser';
import { PNG } from 'pngjs';
import { FlError } from '../../shared/errors/index.js';
import { decodeJpeg12, decodeJpeg2000, decodeJpeg8, decodeJpegLossless, decodeJpegLs, jpegAssumesYcbcr, jpegFrameHeader, type CodecFrame } from './codecs/index.js';
import { decodeRleFrame } from './codecs/rle.js';
import { transferSyntax, wayOut, type TransferSyntax } from './dicom-syntax.js';

export type SampleType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32';
export type Samples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** One frame's stored values, interleaved (row-major, channels last). */
export interface RawFrame {
  readonly rows: number;
  readonly columns: number;
  readonly channels: 1 | 3;
  readonly type: SampleType;
  readonly data: Samples;
}

export interface ImageSource {
  readonly format: 'png' | 'dicom';
  readonly rows: number;
  readonly columns: number;
  /** 3 for RGB, YBR_* and PALETTE COLOR (after conversion), else 1. */
  readonly channels: 1 | 3;
  readonly frames: number;
  readonly type: SampleType;
  /** Significant bits of a stored sample (PNG bit depth; DICOM BitsStored, or the palette's entry size). */
  readonly bitsStored: number;
  /** DICOM PhotometricInterpretation as stored ('RGB' / 'MONOCHROME2' for PNG). */
  readonly photometric: string;
  /** DICOM Modality (0008,0060). */
  readonly modality?: string;
  readonly transferSyntax?: TransferSyntax;
  readonly rescale: { readonly slope: number; readonly intercept: number };
  readonly window?: { readonly center: number; readonly width: number };
  frame(index: number): Promise<RawFrame>;
}

/** A single image in [0, 1], channels interleaved: the input to preprocessing. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  /** 1 (grey), 3 (RGB) or K (cine frames sampled as channels); absent means 1. */
  readonly channels?: number;
  readonly data: Float32Array;
  readonly format: 'png' | 'dicom';
  readonly bitDepth: number;
}

export class ImageDecodeError extends FlError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('image.decode', message, { ...options, user: true });
  }
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isDicom(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).equals(PNG_MAGIC);
}

function alloc(type: SampleType, n: number): Samples {
  switch (type) {
    case 'uint8':
      return new Uint8Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'int32':
      return new Int32Array(n);
  }
}

// ---------------------------------------------------------------- PNG

function openPng(bytes: Buffer): ImageSource {
  let png: PNG;
  try {
    png = PNG.sync.read(bytes, { skipRescale: true });
  } catch (err) {
    throw new ImageDecodeError(`corrupt PNG: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const { width, height, depth, colorType } = png as unknown as { width: number; height: number; depth: number; colorType: number };
  // pngjs expands every colour type to RGBA; with skipRescale, 1/2/4-bit grey keeps its stored
  // values (0..2^depth-1) and 16-bit comes as 16-bit samples. Palette PNGs expand to 8-bit RGB.
  const src = png.data as unknown as ArrayLike<number>;
  const colour = colorType === 2 || colorType === 6 || colorType === 3;
  const channels: 1 | 3 = colour ? 3 : 1;
  const type: SampleType = depth === 16 ? 'uint16' : 'uint8';
  const bitsStored = colorType === 3 ? 8 : depth;
  const n = width * height;
  const data = alloc(type, n * channels);
  for (let i = 0; i < n; i++) {
    if (channels === 3) {
      data[3 * i] = src[4 * i]!;
      data[3 * i + 1] = src[4 * i + 1]!;
      data[3 * i + 2] = src[4 * i + 2]!;
    } else data[i] = src[4 * i]!;
  }
  const frame: RawFrame = { rows: height, columns: width, channels, type, data };
  return {
    format: 'png',
    rows: height,
    columns: width,
    channels,
    frames: 1,
    type,
    bitsStored,
    photometric: colour ? 'RGB' : 'MONOCHROME2',
    rescale: { slope: 1, intercept: 0 },
    frame: async (i) => {
      if (i !== 0) throw new ImageDecodeError(`frame ${i} requested from a single-frame PNG`);
      return frame;
    },
  };
}

// ---------------------------------------------------------------- DICOM

function num(ds: dicomParser.DataSet, tag: string): number | undefined {
  const s = ds.string(tag);
  if (s === undefined || s.trim() === '') return undefined;
  const v = Number(s.split('\\')[0]);
  return Number.isFinite(v) ? v : undefined;
}

function describeParseError(err: unknown): string {
  // dicom-parser throws strings, Errors, or objects like { exception, dataSet }.
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'exception' in err) return String((err as { exception: unknown }).exception);
  return String(err);
}

function readableParseError(err: unknown): string {
  const m = describeParseError(err);
  if (/buffer overr|attempt to read past end|end of buffer|offset/i.test(m)) {
    return `the file is truncated or damaged (${m.replace(/^dicomParser\.\w+: /, '')}); copy it again from the PACS or scanner`;
  }
  if (/transfer syntax/i.test(m)) return `${m}; re-export the file`;
  return m.replace(/^dicomParser\.\w+: /, '');
}

/** Bytes per sample by BitsAllocated (1-bit images are unpacked to 8-bit). */
function typeFor(bitsAllocated: number, signed: boolean): SampleType {
  if (bitsAllocated <= 8) return signed ? 'int8' : 'uint8';
  if (bitsAllocated <= 16) return signed ? 'int16' : 'uint16';
  return signed ? 'int32' : 'uint32';
}

function bytesOf(t: SampleType): number {
  return t.endsWith('8') ? 1 : t.endsWith('16') ? 2 : 4;
}

/** Reads little- or big-endian interleaved bytes into typed samples. */
function samplesFromBytes(bytes: Uint8Array, type: SampleType, n: number, bigEndian: boolean): Samples {
  const out = alloc(type, n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const get: (k: number) => number = {
    uint8: (k: number) => view.getUint8(k),
    int8: (k: number) => view.getInt8(k),
    uint16: (k: number) => view.getUint16(2 * k, !bigEndian),
    int16: (k: number) => view.getInt16(2 * k, !bigEndian),
    uint32: (k: number) => view.getUint32(4 * k, !bigEndian),
    int32: (k: number) => view.getInt32(4 * k, !bigEndian),
  }[type];
  for (let k = 0; k < n; k++) out[k] = get(k);
  return out;
}

function ybrToRgb(data: Samples, n: number, max: number): void {
  // ITU-R BT.601 full range (PS3.3 C.7.6.3.1.2), as pydicom and DCMTK convert YBR_FULL.
  const half = (max + 1) / 2;
  for (let i = 0; i < n; i++) {
    const y = data[3 * i]!;
    const cb = data[3 * i + 1]! - half;
    const cr = data[3 * i + 2]! - half;
    const clamp = (v: number) => Math.min(max, Math.max(0, Math.round(v)));
    data[3 * i] = clamp(y + 1.402 * cr);
    data[3 * i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    data[3 * i + 2] = clamp(y + 1.772 * cb);
  }
}

function rgbToYbr(data: Samples, n: number, max: number): void {
  const half = (max + 1) / 2;
  for (let i = 0; i < n; i++) {
    const r = data[3 * i]!;
    const g = data[3 * i + 1]!;
    const b = data[3 * i + 2]!;
    const clamp = (v: number) => Math.min(max, Math.max(0, Math.round(v)));
    data[3 * i] = clamp(0.299 * r + 0.587 * g + 0.114 * b);
    data[3 * i + 1] = clamp(-0.168736 * r - 0.331264 * g + 0.5 * b + half);
    data[3 * i + 2] = clamp(0.5 * r - 0.418688 * g - 0.081312 * b + half);
  }
}

interface PaletteLut {
  readonly first: number;
  readonly bits: number;
  readonly tables: [Uint16Array, Uint16Array, Uint16Array];
}

function readPalette(ds: dicomParser.DataSet, bigEndian: boolean): PaletteLut {
  if (ds.elements['x00281221'] || ds.elements['x00281222'] || ds.elements['x00281223']) {
    throw new ImageDecodeError('PALETTE COLOR with segmented lookup tables is not supported; convert it to RGB with `dcmconv`/`dcm2pnm` (DCMTK) or `gdcmconv --raw`');
  }
  const tables: Uint16Array[] = [];
  let first = 0;
  let bits = 8;
  for (const [desc, dataTag, name] of [
    ['x00281101', 'x00281201', 'red'],
    ['x00281102', 'x00281202', 'green'],
    ['x00281103', 'x00281203', 'blue'],
  ] as const) {
    const d = ds.elements[desc];
    const el = ds.elements[dataTag];
    if (!d || !el) throw new ImageDecodeError(`PALETTE COLOR image without its ${name} lookup table (descriptor ${desc.slice(1)} / data ${dataTag.slice(1)})`);
    const entries0 = ds.uint16(desc, 0) ?? 0;
    const entries = entries0 === 0 ? 65536 : entries0;
    // The first-mapped value may be signed (SS) or unsigned (US); we read it as stored.
    first = ds.uint16(desc, 1) ?? 0;
    bits = ds.uint16(desc, 2) ?? 16;
    const view = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset + el.dataOffset, el.length);
    const t = new Uint16Array(entries);
    if (bits <= 8 && el.length === entries) {
      for (let i = 0; i < entries; i++) t[i] = view.getUint8(i);
    } else {
      if (el.length < entries * 2) throw new ImageDecodeError(`PALETTE COLOR ${name} table has ${el.length} bytes for ${entries} entries`);
      for (let i = 0; i < entries; i++) t[i] = view.getUint16(2 * i, !bigEndian);
    }
    tables.push(t);
  }
  // Some writers declare 8 bits but store 16-bit words whose values reach 65535 (PS3.3 note).
  if (bits === 8 && tables.some((t) => t.some((v) => v > 255))) bits = 16;
  return { first, bits, tables: tables as [Uint16Array, Uint16Array, Uint16Array] };
}

interface FrameLayout {
  rows: number;
  cols: number;
  samples: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  planar: boolean;
  photometric: string;
}

async function decodeCompressedFrame(ts: TransferSyntax, encoded: Uint8Array, L: FrameLayout): Promise<CodecFrame> {
  switch (ts.encoding) {
    case 'jpeg': {
      const h = jpegFrameHeader(encoded);
      if (h && h.precision === 12) {
        if (L.bitsAllocated !== 16) throw new Error(`a 12-bit JPEG stream needs Bits Allocated 16, the header says ${L.bitsAllocated}`);
        // Colour: libjpeg's YCbCr conversion only where the header says YBR (an RGB header means the stream holds RGB).
        return decodeJpeg12(encoded, { ...L, photometric: L.photometric, samples: L.samples });
      }
      if (h && h.precision !== 8) throw new Error(`${h.precision}-bit JPEG is not valid for JPEG baseline/extended (8 or 12 bits)`);
      return decodeJpeg8(encoded);
    }
    case 'jpeg-lossless':
      return decodeJpegLossless(encoded, L.bitsAllocated);
    case 'jpeg-ls':
      return decodeJpegLs(encoded);
    case 'jpeg2000':
      return decodeJpeg2000(encoded);
    case 'rle': {
      const bps = Math.ceil(L.bitsAllocated / 8);
      const bytes = decodeRleFrame(encoded, L.rows, L.cols, L.samples, bps);
      return { width: L.cols, height: L.rows, components: L.samples, bitsPerSample: L.bitsAllocated, signed: L.signed, bytes };
    }
    default:
      throw new Error(`no decoder for ${ts.name}`);
  }
}

export interface OpenOptions {
  /** Used in messages (the manifest's relative path). */
  readonly name?: string;
}

function openDicom(bytes: Uint8Array, name: string): ImageSource {
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (err) {
    throw new ImageDecodeError(`${name}: not a readable DICOM file: ${readableParseError(err)}`);
  }
  const ts = transferSyntax(ds.string('x00020010'));
  const tsText = `transfer syntax ${ts.name} (${ts.uid})`;
  if (ts.encoding === 'unsupported') {
    throw new ImageDecodeError(`${name}: ${tsText} is not supported; ${wayOut(ts)}`);
  }
  const rows = ds.uint16('x00280010');
  const cols = ds.uint16('x00280011');
  const pixel = ds.elements['x7fe00010'];
  if (!pixel) throw new ImageDecodeError(`${name}: DICOM without pixel data (a report, structured report or presentation state?); export the image itself`);
  if (!rows || !cols) throw new ImageDecodeError(`${name}: DICOM has no Rows/Columns (0028,0010/0011)`);
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const signed = ds.uint16('x00280103') === 1;
  const samples = ds.uint16('x00280002') ?? 1;
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim().toUpperCase();
  const planar = ds.uint16('x00280006') === 1;
  const frames = Math.max(1, Number.parseInt(ds.string('x00280008') ?? '1', 10) || 1);
  const modality = ds.string('x00080060')?.trim() || undefined;
  if (![1, 8, 16, 32].includes(bitsAllocated)) throw new ImageDecodeError(`${name}: BitsAllocated ${bitsAllocated} is not supported (1, 8, 16 or 32)`);
  if (samples !== 1 && samples !== 3) throw new ImageDecodeError(`${name}: ${samples} samples per pixel is not supported (1 or 3)`);
  const known = ['MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT', 'PALETTE COLOR'];
  if (!known.includes(photometric)) {
    throw new ImageDecodeError(`${name}: PhotometricInterpretation ${photometric} is not supported; convert it to RGB with \`gdcmconv --raw\` or export RGB from the scanner`);
  }
  if (samples === 3 && photometric.startsWith('MONO')) throw new ImageDecodeError(`${name}: ${photometric} with 3 samples per pixel is inconsistent`);
  const palette = photometric === 'PALETTE COLOR' ? readPalette(ds, ts.bigEndian === true) : undefined;
  const channels: 1 | 3 = samples === 3 || palette ? 3 : 1;
  const storedType = typeFor(bitsAllocated, signed);
  const outType: SampleType = palette ? (palette.bits > 8 ? 'uint16' : 'uint8') : storedType;
  const n = rows * cols;
  const L: FrameLayout = { rows, cols, samples, bitsAllocated, bitsStored, signed, planar, photometric };
  const encapsulated = ts.encoding !== 'native';
  const fragments = pixel.fragments ?? [];
  if (encapsulated && fragments.length === 0) throw new ImageDecodeError(`${name}: ${tsText} but the pixel data is not encapsulated`);
  let offsets: number[] | undefined;
  const center = num(ds, 'x00281050');
  const width = num(ds, 'x00281051');
  const modalityLut = Boolean(ds.elements['x00283000']);
  if (modalityLut) throw new ImageDecodeError(`${name}: a Modality LUT Sequence (0028,3000) is not supported; apply it with \`dcmmlut\` (DCMTK) first`);

  const subsampled = photometric === 'YBR_FULL_422' && !encapsulated;
  const frameBytes = subsampled ? (n * 2 * bitsAllocated) / 8 : bitsAllocated === 1 ? Math.ceil((n * samples) / 8) : (n * samples * bitsAllocated) / 8;

  const encodedFrame = (i: number): Uint8Array => {
    if (fragments.length === frames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, i, 1);
    if (frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, 0, fragments.length);
    const bot = pixel.basicOffsetTable ?? [];
    if (bot.length === frames) return dicomParser.readEncapsulatedImageFrame(ds, pixel, i, bot);
    offsets ??= dicomParser.createJPEGBasicOffsetTable(ds, pixel);
    return dicomParser.readEncapsulatedImageFrame(ds, pixel, i, offsets);
  };

  const frame = async (i: number): Promise<RawFrame> => {
    if (!Number.isInteger(i) || i < 0 || i >= frames) throw new ImageDecodeError(`${name}: frame ${i} requested, the file has ${frames} frame${frames === 1 ? '' : 's'} (0..${frames - 1})`);
    let data: Samples;
    let alreadyRgb = false;
    if (encapsulated) {
      let decoded: CodecFrame;
      try {
        decoded = await decodeCompressedFrame(ts, encodedFrame(i), L);
      } catch (err) {
        const m = err instanceof Error ? err.message : describeParseError(err);
        throw new ImageDecodeError(`${name}: cannot decode frame ${i} (${tsText}): ${m}; ${wayOut(ts)}`, { cause: err });
      }
      if (decoded.width !== cols || decoded.height !== rows || decoded.components !== samples) {
        throw new ImageDecodeError(
          `${name}: the compressed frame is ${decoded.width}x${decoded.height}x${decoded.components} but the header says ${cols}x${rows}x${samples}; the file is inconsistent (${tsText})`,
        );
      }
      const type = decoded.bitsPerSample > 8 || bitsAllocated > 8 ? typeFor(Math.max(9, bitsAllocated), signed) : storedType;
      data = samplesFromBytes(decoded.bytes, type, n * samples, false);
      if (ts.encoding === 'jpeg' && decoded.bitsPerSample === 8 && samples === 3 && photometric === 'RGB' && jpegAssumesYcbcr(encodedFrame(i))) {
        // The stream holds RGB (as the header says) but libjpeg converted it as if it were YCbCr.
        rgbToYbr(data, n, 255);
      }
      // libjpeg-turbo converts YCbCr to RGB itself; OpenJPEG applies the inverse RCT/ICT.
      alreadyRgb = ts.encoding === 'jpeg' || ts.encoding === 'jpeg2000';
    } else {
      const start = pixel.dataOffset + i * frameBytes;
      if (pixel.length < (i + 1) * frameBytes || start + frameBytes > ds.byteArray.length) {
        throw new ImageDecodeError(`${name}: pixel data has ${pixel.length} bytes, frame ${i} needs bytes ${i * frameBytes}..${(i + 1) * frameBytes} (truncated file?)`);
      }
      let raw = ds.byteArray.subarray(start, start + frameBytes);
      if (bitsAllocated === 1) {
        const unpacked = new Uint8Array(n * samples);
        for (let k = 0; k < unpacked.length; k++) unpacked[k] = (raw[k >> 3]! >> (k & 7)) & 1;
        data = unpacked;
      } else if (subsampled) {
        // YBR_FULL_422: Y1 Y2 Cb Cr for each horizontal pair; expand to full YCbCr.
        const full = alloc(storedType, n * 3);
        const src = samplesFromBytes(raw, storedType, n * 2, ts.bigEndian === true);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c += 2) {
            const p = r * cols + c;
            const s = 2 * p;
            const [y1, y2, cb, cr] = [src[s]!, src[s + 1]!, src[s + 2]!, src[s + 3]!];
            full.set([y1, cb, cr], 3 * p);
            if (c + 1 < cols) full.set([y2, cb, cr], 3 * (p + 1));
          }
        }
        data = full;
      } else {
        // 8-bit data in a big-endian file with VR OW is stored as byte-swapped 16-bit words.
        if (ts.bigEndian && bitsAllocated === 8 && pixel.vr === 'OW') {
          const sw = new Uint8Array(raw.length);
          for (let k = 0; k + 1 < raw.length; k += 2) {
            sw[k] = raw[k + 1]!;
            sw[k + 1] = raw[k]!;
          }
          raw = sw;
        }
        data = samplesFromBytes(raw, storedType, n * samples, ts.bigEndian === true);
      }
    }
    if (samples === 3 && planar && !(encapsulated && ts.encoding !== 'rle')) {
      // Colour-by-plane (RRR...GGG...BBB) to interleaved. Codecs other than RLE emit interleaved.
      const inter = alloc(typeOf(data), n * 3);
      for (let k = 0; k < n; k++) {
        inter[3 * k] = data[k]!;
        inter[3 * k + 1] = data[n + k]!;
        inter[3 * k + 2] = data[2 * n + k]!;
      }
      data = inter;
    }
    if (samples === 3 && (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') && !alreadyRgb) {
      ybrToRgb(data, n, 2 ** bitsStored - 1);
    }
    if (palette) {
      const out = alloc(outType, n * 3);
      const [rT, gT, bT] = palette.tables;
      const last = rT.length - 1;
      for (let k = 0; k < n; k++) {
        const idx = Math.min(last, Math.max(0, data[k]! - palette.first));
        out[3 * k] = rT[idx]!;
        out[3 * k + 1] = gT[idx]!;
        out[3 * k + 2] = bT[idx]!;
      }
      // 8-bit entries stored in 16-bit words: keep the 8 significant bits.
      return { rows, columns: cols, channels: 3, type: outType, data: out };
    }
    return { rows, columns: cols, channels, type: typeOf(data), data };
  };

  return {
    format: 'dicom',
    rows,
    columns: cols,
    channels,
    frames,
    type: outType,
    bitsStored: palette ? palette.bits : bitsStored,
    photometric,
    ...(modality ? { modality } : {}),
    transferSyntax: ts,
    rescale: { slope: num(ds, 'x00281053') ?? 1, intercept: num(ds, 'x00281052') ?? 0 },
    ...(center !== undefined && width !== undefined && width >= 1 ? { window: { center, width } } : {}),
    frame,
  };
}

function typeOf(d: Samples): SampleType {
  if (d instanceof Uint8Array) return 'uint8';
  if (d instanceof Int8Array) return 'int8';
  if (d instanceof Uint16Array) return 'uint16';
  if (d instanceof Int16Array) return 'int16';
  if (d instanceof Uint32Array) return 'uint32';
  return 'int32';
}

/** Opens a PNG or DICOM by content (not extension). `name` appears in every message. */
export function openImage(bytes: Uint8Array, o: OpenOptions = {}): ImageSource {
  const name = o.name ?? 'image';
  if (isPng(bytes)) {
    try {
      return openPng(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (err) {
      if (err instanceof ImageDecodeError) throw new ImageDecodeError(`${name}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  if (isDicom(bytes)) return openDicom(bytes, name);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    throw new ImageDecodeError(`${name}: a plain JPEG file, not DICOM or PNG; give the DICOM file, or save the image losslessly as PNG`);
  }
  throw new ImageDecodeError(`${name}: neither a PNG nor a DICOM (Part 10) file`);
}

export async function openImageFile(path: string, o: OpenOptions = {}): Promise<ImageSource> {
  return openImage(await readFile(path), { name: o.name ?? basename(path) });
}

/** The [lo, hi] of rescaled grey values mapped to [0, 1]: the VOI window, else the frame's own range. */
export function unitRange(src: ImageSource, f: Pick<RawFrame, 'data'>): [number, number] {
  if (src.window && src.window.width > 1) {
    // PS3.3 C.11.2.1.2 linear VOI function.
    return [src.window.center - 0.5 - (src.window.width - 1) / 2, src.window.center - 0.5 + (src.window.width - 1) / 2];
  }
  const { slope, intercept } = src.rescale;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < f.data.length; i++) {
    const v = f.data[i]! * slope + intercept;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * A frame's values mapped to [0, 1] (channels interleaved); see the header comment. `range`
 * overrides the grey mapping (used to give the frames of one cine a common range).
 */
export function toUnit(src: ImageSource, f: Pick<RawFrame, 'rows' | 'columns' | 'channels' | 'data'>, range?: [number, number]): Float32Array {
  const n = f.rows * f.columns * f.channels;
  const out = new Float32Array(n);
  const d = f.data;
  if (src.format === 'png' || f.channels === 3) {
    const max = 2 ** src.bitsStored - 1;
    for (let i = 0; i < n; i++) out[i] = Math.min(1, Math.max(0, d[i]! / max));
    return out;
  }
  const { slope, intercept } = src.rescale;
  const [lo, hi] = range ?? unitRange(src, f);
  const scale = hi > lo ? hi - lo : 1;
  const invert = src.photometric === 'MONOCHROME1';
  for (let i = 0; i < n; i++) {
    const t = Math.min(1, Math.max(0, (d[i]! * slope + intercept - lo) / scale));
    out[i] = invert ? 1 - t : t;
  }
  return out;
}

/** Luminance (BT.601) of an interleaved RGB image in [0, 1]. */
export function luminance(rgb: Float32Array, pixels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) out[i] = 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!;
  return out;
}

/** The single-frame convenience used by older callers and tests: frame 0, as stored channels. */
export async function decodeImageBytes(bytes: Uint8Array, o: OpenOptions = {}): Promise<DecodedImage> {
  const src = openImage(bytes, o);
  const f = await src.frame(0);
  return { width: src.columns, height: src.rows, channels: f.channels, data: toUnit(src, f), format: src.format, bitDepth: src.bitsStored };
}

export async function decodeImageFile(path: string): Promise<DecodedImage> {
  return decodeImageBytes(await readFile(path), { name: basename(path) });
}

/** Every frame (or one) stacked: shape (frames, rows, columns, channels), in the stored type. */
export async function decodeFrames(src: ImageSource, only?: number): Promise<{ shape: [number, number, number, number]; type: SampleType; data: Samples }> {
  const list = only === undefined ? Array.from({ length: src.frames }, (_, i) => i) : [only];
  const per = src.rows * src.columns * src.channels;
  let out: Samples | undefined;
  let type: SampleType = src.type;
  for (const [k, i] of list.entries()) {
    const f = await src.frame(i);
    if (!out) {
      type = f.type;
      out = alloc(type, per * list.length);
    }
    out.set(f.data, k * per);
  }
  return { shape: [list.length, src.rows, src.columns, src.channels], type, data: out! };
}
