// Worker of WeightedSumPool: runs the fused kernel on its slice of the shared arrays.
import { parentPort } from 'node:worker_threads';
import { weightedSumInto } from '../../shared/aggregate/weighted-sum.js';

interface Job {
  id: number;
  acc: SharedArrayBuffer;
  accOffset: number;
  xs: [SharedArrayBuffer, number][];
  ws: number[];
  start: number;
  end: number;
}

parentPort!.on('message', (job: Job) => {
  try {
    const len = job.end - job.start;
    const acc = new Float64Array(job.acc, job.accOffset + job.start * 8, len);
    const xs = job.xs.map(([b, off]) => new Float32Array(b, off + job.start * 4, len));
    weightedSumInto(acc, xs, job.ws, len);
    parentPort!.postMessage({ id: job.id });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message });
  }
});
