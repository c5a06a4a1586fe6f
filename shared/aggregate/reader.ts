// Block access to an update's float32 values, from memory or from a spooled tensor file.
import { open, type FileHandle } from 'node:fs/promises';

export interface UpdateReader {
  readonly id: string;
  readonly site: string;
  readonly numExamples: number;
  /** Number of float32 elements. */
  readonly length: number;
  /** Reads elements [start, start + out.length) into `out`. */
  read(start: number, out: Float32Array): Promise<void>;
  close?(): Promise<void>;
  /**
   * The update's sum of squares when it is already known (computed by the coordinator from the
   * very bytes it verified and spooled, on the grid of norms.ts): its norm is then not read again.
   */
  readonly sumOfSquares?: number;
}

export interface UpdateMeta {
  readonly id: string;
  readonly site: string;
  readonly numExamples: number;
  readonly sumOfSquares?: number;
}

export function memoryUpdateReader(data: Float32Array, meta: UpdateMeta): UpdateReader {
  return {
    ...meta,
    length: data.length,
    async read(start, out) {
      if (start < 0 || start + out.length > data.length) throw new RangeError(`read [${start}, ${start + out.length}) outside ${data.length}`);
      out.set(data.subarray(start, start + out.length));
    },
  };
}

/** Reads from a tensor file whose float32 data starts at `dataOffsetBytes` (4-aligned). */
export function fileUpdateReader(path: string, dataOffsetBytes: number, length: number, meta: UpdateMeta): UpdateReader {
  let fh: FileHandle | null = null;
  return {
    ...meta,
    length,
    async read(start, out) {
      if (start < 0 || start + out.length > length) throw new RangeError(`${path}: read [${start}, ${start + out.length}) outside ${length}`);
      fh ??= await open(path, 'r');
      const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await fh.read(bytes, done, bytes.length - done, dataOffsetBytes + start * 4 + done);
        if (bytesRead === 0) throw new Error(`${path}: unexpected end of file`);
        done += bytesRead;
      }
    },
    async close() {
      await fh?.close();
      fh = null;
    },
  };
}
