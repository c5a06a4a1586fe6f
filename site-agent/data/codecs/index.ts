// Maintained codecs for compressed DICOM frames: the WebAssembly builds of libjpeg-turbo (8-bit
// JPEG baseline/extended), CharLS (JPEG-LS) and OpenJPEG (JPEG 2000) published by Cornerstone, the
// IJG libjpeg 12-bit build inside dcmjs-codecs' WebAssembly for 12-bit JPEG extended (process 2 & 4), and
// jpeg-lossless-decoder-js (JPEG lossless, process 14 and SV1). RLE Lossless is decoded in rle.ts
// (PackBits, a few lines, defined in DICOM PS3.5 Annex G). Each codec's module is loaded once, on
// first use.
import { createRequire } from 'node:module';
import { Decoder as LosslessDecoder } from 'jpeg-lossless-decoder-js';

const require = createRequire(import.meta.url);

/** One decoded frame: samples interleaved (pixel by pixel), in the codec's output type. */
export interface CodecFrame {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  readonly bitsPerSample: number;
  readonly signed: boolean;
  /** Raw output bytes (little-endian for 16-bit samples). */
  readonly bytes: Uint8Array;
}

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}

type WasmModule = Record<string, new () => WasmDecoder>;
type Factory = (opts?: { print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<WasmModule>;

const modules = new Map<string, Promise<WasmModule>>();

function load(spec: string): Promise<WasmModule> {
  let m = modules.get(spec);
  if (!m) {
    const factory = require(spec) as Factory;
    // OpenJPEG logs every tile on stdout; keep the CLI's output clean.
    m = factory({ print: () => undefined, printErr: () => undefined });
    modules.set(spec, m);
  }
  return m;
}

async function runWasm(spec: string, cls: string, encoded: Uint8Array): Promise<CodecFrame> {
  const mod = await load(spec);
  const Ctor = mod[cls];
  if (!Ctor) throw new Error(`codec module ${spec} has no ${cls}`);
  const dec = new Ctor();
  try {
    dec.getEncodedBuffer(encoded.length).set(encoded);
    dec.decode();
    const info = dec.getFrameInfo();
    // Copy out of the WebAssembly heap before the decoder is freed.
    const bytes = Uint8Array.from(dec.getDecodedBuffer());
    return {
      width: info.width,
      height: info.height,
      components: info.componentCount,
      bitsPerSample: info.bitsPerSample,
      signed: info.isSigned ?? false,
      bytes,
    };
  } catch (err) {
    // Emscripten throws bare numbers (pointers) for C++ exceptions.
    throw new Error(typeof err === 'number' ? 'the codec rejected the data' : err instanceof Error ? err.message : String(err));
  } finally {
    dec.delete();
  }
}

interface DcmjsContext {
  getDecodedBuffer(): Uint8Array | undefined;
  getWidth(): number | undefined;
  getHeight(): number | undefined;
}
interface DcmjsCodecs {
  NativeCodecs: {
    initializeAsync(opts?: { logCodecsInfo?: boolean; logCodecsTrace?: boolean }): Promise<void>;
    decodeJpeg(ctx: DcmjsContext, params?: { convertColorspaceToRgb?: boolean }): DcmjsContext;
  };
  Context: new (attrs: Record<string, unknown>) => DcmjsContext;
}
let dcmjsCodecs: Promise<DcmjsCodecs> | undefined;

/**
 * 12-bit JPEG extended (process 4, and process 2 with 12-bit precision): the WebAssembly codecs of
 * dcmjs-codecs (npm), which carry the IJG libjpeg compiled for 8, 12 and 16-bit samples (as DCMTK
 * does); the Cornerstone libjpeg-turbo build is 8-bit only. Output: 16-bit little-endian samples; YCbCr converted to
 * RGB where the header says YBR (a header saying RGB means the stream holds RGB components).
 */
export async function decodeJpeg12(encoded: Uint8Array, L: { rows: number; cols: number; samples: number; bitsStored: number; signed: boolean; photometric: string }): Promise<CodecFrame> {
  dcmjsCodecs ??= (async () => {
    const m = require('dcmjs-codecs') as DcmjsCodecs;
    await m.NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false });
    return m;
  })();
  const { NativeCodecs, Context } = await dcmjsCodecs;
  const ctx = new Context({
    width: L.cols, height: L.rows, bitsAllocated: 16, bitsStored: L.bitsStored, samplesPerPixel: L.samples,
    pixelRepresentation: L.signed ? 1 : 0, planarConfiguration: 0, photometricInterpretation: L.photometric, encodedBuffer: encoded,
  });
  let out: DcmjsContext;
  try {
    out = NativeCodecs.decodeJpeg(ctx, { convertColorspaceToRgb: L.samples === 3 && L.photometric.startsWith('YBR') });
  } catch (err) {
    throw new Error(typeof err === 'number' ? 'the codec rejected the data' : err instanceof Error ? err.message : String(err));
  }
  const bytes = out.getDecodedBuffer();
  const want = L.rows * L.cols * L.samples * 2;
  if (!bytes || bytes.length < want) throw new Error(`the 12-bit JPEG codec returned ${bytes?.length ?? 0} bytes, expected ${want} for ${L.cols}x${L.rows}x${L.samples}`);
  return { width: out.getWidth() ?? L.cols, height: out.getHeight() ?? L.rows, components: L.samples, bitsPerSample: 16, signed: L.signed, bytes: Uint8Array.from(bytes.subarray(0, want)) };
}

/** 8-bit JPEG baseline or extended (lossy); YCbCr is converted to RGB by libjpeg-turbo. */
export function decodeJpeg8(encoded: Uint8Array): Promise<CodecFrame> {
  return runWasm('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder', encoded);
}

export function decodeJpegLs(encoded: Uint8Array): Promise<CodecFrame> {
  return runWasm('@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder', encoded);
}

export function decodeJpeg2000(encoded: Uint8Array): Promise<CodecFrame> {
  return runWasm('@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder', encoded);
}

/** JPEG lossless (process 14, any predictor, and SV1). */
export function decodeJpegLossless(encoded: Uint8Array, bitsAllocated: number): CodecFrame {
  const dec = new LosslessDecoder();
  const bytesPerSample = bitsAllocated <= 8 ? 1 : 2;
  const buf = encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.byteLength) as ArrayBuffer;
  const out = dec.decode(buf, 0, buf.byteLength, bytesPerSample) as ArrayBuffer | ArrayBufferView;
  const bytes = out instanceof ArrayBuffer ? new Uint8Array(out) : new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  const d = dec as unknown as { xDim: number; yDim: number; numComp: number; precision: number };
  return { width: d.xDim, height: d.yDim, components: d.numComp, bitsPerSample: d.precision, signed: false, bytes: Uint8Array.from(bytes) };
}

/**
 * Whether libjpeg will treat a 3-component stream as YCbCr and convert it to RGB: it does unless
 * an Adobe APP14 marker says transform 0 or the component ids are 'R','G','B' (libjpeg's
 * default_decompress_parms). DICOM files marked RGB whose stream carries neither need that
 * conversion undone.
 */
export function jpegAssumesYcbcr(encoded: Uint8Array): boolean {
  let i = 2;
  let jfif = false;
  let adobe: number | undefined;
  while (i + 4 < encoded.length) {
    if (encoded[i] !== 0xff) return true;
    const marker = encoded[i + 1]!;
    const len = (encoded[i + 2]! << 8) | encoded[i + 3]!;
    if (marker === 0xe0 && String.fromCharCode(...encoded.subarray(i + 4, i + 8)) === 'JFIF') jfif = true;
    if (marker === 0xee && String.fromCharCode(...encoded.subarray(i + 4, i + 9)) === 'Adobe') adobe = encoded[i + 4 + 11];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (jfif) return true;
      if (adobe !== undefined) return adobe !== 0;
      const ids = [encoded[i + 10], encoded[i + 13], encoded[i + 16]];
      return !(ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42);
    }
    i += 2 + len;
  }
  return true;
}

/** Reads the JPEG SOF marker: precision (bits) and process, to route 12-bit streams away from the 8-bit codec. */
export function jpegFrameHeader(encoded: Uint8Array): { precision: number; sof: number } | undefined {
  let i = 2;
  while (i + 4 < encoded.length) {
    if (encoded[i] !== 0xff) {
      i++;
      continue;
    }
    const marker = encoded[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { precision: encoded[i + 4]!, sof: marker - 0xc0 };
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = (encoded[i + 2]! << 8) | encoded[i + 3]!;
    i += 2 + len;
  }
  return undefined;
}
