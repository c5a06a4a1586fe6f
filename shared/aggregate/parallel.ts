// Data-parallel fused weighted sums over worker threads on SharedArrayBuffers: the element
// range is split into one contiguous slice per worker; each runs the same fused kernel, so the
// result is bit-identical to the single-threaded one.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

export class WeightedSumPool {
  private readonly workers: Worker[];
  private seq = 0;

  constructor(size = Math.max(1, Math.min(availableParallelism(), 8))) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(new URL('./parallel-worker.js', import.meta.url));
      w.unref();
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** acc[i] += sum_k ws[k] * xs[k][i] for all i; every array must be backed by a SharedArrayBuffer. */
  async weightedSumInto(acc: Float64Array, xs: readonly Float32Array[], ws: readonly number[]): Promise<void> {
    const n = acc.length;
    const per = Math.ceil(n / this.workers.length / 16) * 16;
    const jobs = this.workers.map((w, i) => {
      const start = Math.min(n, i * per);
      const end = Math.min(n, start + per);
      if (start >= end) return Promise.resolve();
      const id = ++this.seq;
      return new Promise<void>((resolve, reject) => {
        const onMsg = (m: { id: number; error?: string }) => {
          if (m.id !== id) return;
          w.off('message', onMsg);
          if (m.error) reject(new Error(m.error));
          else resolve();
        };
        w.on('message', onMsg);
        w.postMessage({ id, acc: acc.buffer, accOffset: acc.byteOffset, xs: xs.map((x) => [x.buffer, x.byteOffset]), ws, start, end });
      });
    });
    await Promise.all(jobs);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
