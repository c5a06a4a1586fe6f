// Child process of the `data` bench (bench/data.ts), run under /usr/bin/time for its peak RSS:
//   node dist/bench/data-train-child.js prepare MANIFEST CACHE_DIR
//     opens the site dataset as `fl site` does (validation, leakage hashes, decode + preprocess
//     every image into the on-disk tensor cache, one at a time);
//   node dist/bench/data-train-child.js epoch MANIFEST CACHE_DIR
//     opens it again from the warm cache and trains one epoch of the site's model on the train
//     cohort (site-agent/local-trainer.ts -> shared/families/image/train.ts), batch 32, 128 px.
// Prints one JSON line: seconds per phase, cases, steps, and the heap / array-buffer figures.
import * as tf from '@tensorflow/tfjs';
import { openSiteDataset } from '../site-agent/data/dataset.js';
import { buildModel } from '../shared/models/registry.js';
import { trainLocal } from '../shared/families/image/train.js';
import { selectBackend, type BackendChoice } from '../shared/tfjs/backend.js';

const INPUT = 128;
const BATCH = 32;

const [mode, manifest, cacheDir] = process.argv.slice(2);
if ((mode !== 'prepare' && mode !== 'epoch') || !manifest || !cacheDir) {
  console.error('usage: data-train-child.js prepare|epoch MANIFEST CACHE_DIR');
  process.exit(2);
}
const backend = (process.env.FL_BENCH_BACKEND ?? 'wasm') as BackendChoice;
const sel = await selectBackend(backend);
const t0 = performance.now();
const ds = await openSiteDataset(manifest, { modalities: ['gsus'], inputSize: INPUT, cacheDir });
const openSeconds = (performance.now() - t0) / 1000;
const out: Record<string, unknown> = { mode, backend: sel.name, cases: ds.cohortCounts().train, openSeconds };
if (mode === 'epoch') {
  const model = buildModel('single_modality', { modalities: ['gsus'], inputSize: INPUT, seed: 1 });
  const t1 = performance.now();
  const res = await trainLocal(model, ds.forTraining(), { epochs: 1, batchSize: BATCH, learningRate: 1e-3, seed: 1, augment: true });
  out.epochSeconds = (performance.now() - t1) / 1000;
  out.steps = res.steps;
  out.samplesPerSecond = res.samplesPerSecond;
  out.loss = res.trainLoss;
  out.tfBytes = tf.memory().numBytes;
  model.dispose();
}
const mem = process.memoryUsage();
out.heapUsedMb = mem.heapUsed / 2 ** 20;
out.arrayBuffersMb = mem.arrayBuffers / 2 ** 20;
console.log(JSON.stringify(out));
