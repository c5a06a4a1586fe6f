// Test fixtures: tiny PNG and DICOM files written from code (used by the data tests only).
import { PNG } from 'pngjs';

/** 8-bit grayscale (colorType 0) PNG. */
export function grayPng8(width: number, height: number, value: (x: number, y: number) => number): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const v = value(x, y);
      png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType: 0 });
}

/** 16-bit grayscale PNG (big-endian samples written by pngjs from a native Uint16 buffer). */
export function grayPng16(width: number, height: number, value: (x: number, y: number) => number): Buffer {
  const samples = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) samples[y * width + x] = value(x, y);
  const png = new PNG({ width, height, bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(samples.buffer);
  return PNG.sync.write(png, { bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/** 8-bit RGB PNG. */
export function rgbPng(width: number, height: number, rgb: (x: number, y: number) => [number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const [r, g, b] = rgb(x, y);
      png.data[o] = r;
      png.data[o + 1] = g;
      png.data[o + 2] = b;
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType: 2 });
}

function element(group: number, elem: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(elem, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(value.length, 8);
  else head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

function str(s: string): Buffer {
  return Buffer.from(s.length % 2 ? `${s} ` : s, 'latin1');
}

function uid(s: string): Buffer {
  return Buffer.from(s.length % 2 ? `${s}\0` : s, 'latin1');
}

function us(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}

export interface DicomFixture {
  readonly rows: number;
  readonly columns: number;
  /** Stored values (16-bit unsigned or signed). */
  readonly pixels: Int16Array | Uint16Array;
  readonly signed?: boolean;
  readonly photometric?: 'MONOCHROME1' | 'MONOCHROME2';
  readonly slope?: number;
  readonly intercept?: number;
  readonly windowCenter?: number;
  readonly windowWidth?: number;
  /** Number of frames (pixels holds frames x rows x columns values). */
  readonly frames?: number;
  readonly modality?: string;
}

/** A minimal DICOM Part 10 file, explicit VR little endian, 16 bits allocated. */
export function dicom16(f: DicomFixture): Buffer {
  const syntax = '1.2.840.10008.1.2.1';
  const metaBody = Buffer.concat([
    element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    element(0x0002, 0x0002, 'UI', uid('1.2.840.10008.5.1.4.1.1.6.1')),
    element(0x0002, 0x0003, 'UI', uid('1.2.3.4.5')),
    element(0x0002, 0x0010, 'UI', uid(syntax)),
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaBody.length);
  const meta = Buffer.concat([element(0x0002, 0x0000, 'UL', groupLength), metaBody]);
  const parts: Buffer[] = [
    ...(f.modality ? [element(0x0008, 0x0060, 'CS', str(f.modality))] : []),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0004, 'CS', str(f.photometric ?? 'MONOCHROME2')),
    ...(f.frames !== undefined ? [element(0x0028, 0x0008, 'IS', str(String(f.frames)))] : []),
    element(0x0028, 0x0010, 'US', us(f.rows)),
    element(0x0028, 0x0011, 'US', us(f.columns)),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0102, 'US', us(15)),
    element(0x0028, 0x0103, 'US', us(f.signed ? 1 : 0)),
  ];
  if (f.windowCenter !== undefined && f.windowWidth !== undefined) {
    parts.push(element(0x0028, 0x1050, 'DS', str(String(f.windowCenter))));
    parts.push(element(0x0028, 0x1051, 'DS', str(String(f.windowWidth))));
  }
  if (f.intercept !== undefined) parts.push(element(0x0028, 0x1052, 'DS', str(String(f.intercept))));
  if (f.slope !== undefined) parts.push(element(0x0028, 0x1053, 'DS', str(String(f.slope))));
  parts.push(element(0x7fe0, 0x0010, 'OW', Buffer.from(f.pixels.buffer, f.pixels.byteOffset, f.pixels.byteLength)));
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), meta, ...parts]);
}
