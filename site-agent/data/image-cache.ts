// On-disk cache of model-sized image tensors (Float32, size x size x channels, little-endian) and of
// per-file image facts (size, frames, pixel hash). Keys: the file's content hash, plus for tensors
// every preprocessing setting, so a cached tensor is reused across rounds and restarts and never
// reused after a setting changes. Writes are atomic (temporary file + rename).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModalitySettings } from '../../shared/config/modality.js';
import type { Normalization } from './preprocess.js';
import type { Roi } from './manifest.js';

/** Bump when decoding or preprocessing changes what a tensor holds. */
export const CACHE_VERSION = 1;

export interface ImageFacts {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** Channels as stored (after YBR / palette conversion): 1 or 3. */
  readonly channels: 1 | 3;
  readonly format: 'png' | 'dicom';
  readonly bitDepth: number;
  readonly photometric: string;
  readonly transferSyntax?: string;
  readonly modality?: string;
  /** SHA-256 of every decoded frame's stored values, with shape and type. */
  readonly pixelHash: string;
  /** The first frame has a single value throughout. */
  readonly constant: boolean;
}

export interface TensorKeyInput {
  readonly contentHash: string;
  readonly inputSize: number;
  readonly roi?: Roi;
  readonly settings: ModalitySettings;
  readonly normalization: Normalization;
}

export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function tensorKey(k: TensorKeyInput): string {
  const canonical = JSON.stringify({
    v: CACHE_VERSION,
    c: k.contentHash,
    s: k.inputSize,
    r: k.roi ?? null,
    ch: k.settings.channels,
    f: k.settings.frames ?? null,
    n: k.normalization,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

export class ImageCache {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'tensors'), { recursive: true });
    mkdirSync(join(dir, 'facts'), { recursive: true });
  }

  private tensorPath(key: string): string {
    return join(this.dir, 'tensors', `${key}.f32`);
  }

  private factsPath(hash: string): string {
    return join(this.dir, 'facts', `${hash}.v${CACHE_VERSION}.json`);
  }

  private atomicWrite(path: string, data: Uint8Array | string): void {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  }

  hasTensor(key: string): boolean {
    return existsSync(this.tensorPath(key));
  }

  writeTensor(key: string, data: Float32Array): void {
    this.atomicWrite(this.tensorPath(key), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** Reads a tensor into `into` at `offset` (no allocation per read beyond the file buffer). */
  readTensor(key: string, length: number, into?: Float32Array, offset = 0): Float32Array {
    const buf = readFileSync(this.tensorPath(key));
    if (buf.byteLength !== length * 4) {
      throw new Error(`image cache: ${this.tensorPath(key)} has ${buf.byteLength} bytes, expected ${length * 4}; delete the cache folder ${this.dir} and start again`);
    }
    const view = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    if (!into) return view;
    into.set(view, offset);
    return into;
  }

  readFacts(hash: string): ImageFacts | undefined {
    try {
      return JSON.parse(readFileSync(this.factsPath(hash), 'utf8')) as ImageFacts;
    } catch {
      return undefined;
    }
  }

  writeFacts(hash: string, facts: ImageFacts): void {
    this.atomicWrite(this.factsPath(hash), JSON.stringify(facts));
  }
}
