// Training throughput of the registry's `ddfn` at 128x128 (batch 16, Adam, binary cross-entropy)
// on every tfjs backend available here, and of the same architecture in PyTorch (bench/pytorch_ddfn.py,
// when python3 with torch is installed) measured in the same run.
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../shared/models/registry.js';
import { parseModelConfig } from '../shared/models/config.js';
import { BackendUnavailableError, selectBackend, type BackendChoice } from '../shared/tfjs/backend.js';
import { DataParallelTrainer } from '../shared/tfjs/parallel/data-parallel.js';
import type { Bench } from './types.js';

const MODEL = 'ddfn';
const CONFIG = { inputSize: 128 };
const BATCH = 16;

interface Measured {
  readonly label: string;
  readonly samplesPerS: number;
  readonly note: string;
}

/** Trains until `seconds` have passed (at least `minSteps` steps) after `warmup` steps. */
async function measure(backend: BackendChoice, replicas: number, seconds: number, batch = BATCH, warmup = 2, minSteps = 4): Promise<Measured> {
  const sel = await selectBackend(backend);
  const model = buildModel(MODEL, CONFIG);
  const trainer = await DataParallelTrainer.create({
    model,
    architecture: { name: MODEL, config: CONFIG },
    optimizer: tf.train.adam(1e-3),
    replicas,
    backend,
  });
  const xs = model.inputs.map((inp) => tf.randomUniform([batch, ...(inp.shape.slice(1) as number[])]));
  const y = tf.tensor2d(Array.from({ length: batch }, (_, i) => [i % 2]));
  try {
    for (let i = 0; i < warmup; i++) await trainer.trainBatch(xs, y);
    const before = tf.memory().numTensors;
    let steps = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (steps < minSteps || elapsed < seconds) {
      await trainer.trainBatch(xs, y);
      steps++;
      elapsed = (performance.now() - t0) / 1000;
    }
    const leaked = tf.memory().numTensors - before;
    // (Without warm-up the first step creates the optimizer's slots, which are not a leak.)
    if (warmup > 0 && leaked !== 0) throw new Error(`${backend}: ${leaked} tensors leaked over ${steps} steps`);
    const label = replicas > 1 ? `${sel.name} x${replicas} threads` : `${sel.name}`;
    return { label, samplesPerS: (steps * batch) / elapsed, note: `${steps} steps of ${batch} in ${elapsed.toFixed(1)} s; ${sel.detail}` };
  } finally {
    await trainer.dispose();
    tf.dispose([...xs, y]);
    model.dispose();
  }
}

function pythonWithTorch(): string | undefined {
  for (const py of [process.env.PYTORCH_PYTHON, '/usr/bin/python3', 'python3']) {
    if (!py) continue;
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

function pytorch(threads: number, seconds: number): { samplesPerS: number; params: number; version: string } | string {
  const py = pythonWithTorch();
  if (!py) return 'no python3 with torch found (install python3-torch, or set PYTORCH_PYTHON)';
  const cfg = parseModelConfig(CONFIG);
  const script = fileURLToPath(new URL('../../bench/pytorch_ddfn.py', import.meta.url));
  const args = [
    script,
    `--size=${cfg.inputSize}`,
    `--channels=${cfg.channels}`,
    `--modalities=${cfg.modalities.length}`,
    `--widths=${cfg.widths.join(',')}`,
    `--head-units=${cfg.headUnits}`,
    `--dropout=${cfg.dropout}`,
    `--batch=${BATCH}`,
    `--threads=${threads}`,
    `--seconds=${seconds}`,
  ];
  const r = spawnSync(py, args, { encoding: 'utf8' });
  if (r.status !== 0) return `pytorch run failed: ${r.stderr.trim().split('\n').at(-1)}`;
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { samples_per_s: number; params: number; torch: string };
  return { samplesPerS: out.samples_per_s, params: out.params, version: out.torch };
}

export const trainingBench: Bench = {
  name: 'training',
  description: `training throughput of ${MODEL} at 128x128, batch ${BATCH}, on every available tfjs backend vs PyTorch (same architecture, same run)`,
  async run(args) {
    const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 8);
    const cores = availableParallelism();
    const params = buildModel(MODEL, CONFIG).countParams();
    console.log(`model ${MODEL} ${JSON.stringify(CONFIG)}: ${params} parameters; ${cores} cores`);
    const load = loadavg()[0]!;
    if (load > 0.5) {
      console.log(`note: 1-minute load average is ${load.toFixed(2)} before the run; other processes compete for the cores, so both figures are low and the ratio is unreliable`);
    }
    const results: Measured[] = [];
    for (const backend of ['tensorflow-gpu', 'tensorflow'] as const) {
      try {
        results.push(await measure(backend, 1, seconds));
      } catch (err) {
        if (!(err instanceof BackendUnavailableError)) throw err;
        console.log(`${backend}: skipped (${err.message.split(';')[0]})`);
      }
    }
    results.push(await measure('wasm', 1, seconds));
    if (cores > 1) results.push(await measure('wasm', cores, seconds));
    // The pure-JS cpu backend needs minutes per batch of 16: one step of 2 samples, no warm-up.
    results.push(await measure('cpu', 1, 0, 2, 0, 1));
    for (const r of results) console.log(`  ${r.label.padEnd(22)} ${r.samplesPerS.toFixed(2).padStart(8)} samples/s  (${r.note})`);
    const best = results.reduce((a, b) => (b.samplesPerS > a.samplesPerS ? b : a));
    const torch = pytorch(cores, seconds);
    if (typeof torch === 'string') {
      console.log(`pytorch: skipped (${torch})`);
      console.log(`training: ${best.samplesPerS.toFixed(1)} samples/s (${best.label}), pytorch n/a, ratio n/a`);
      return;
    }
    console.log(`  pytorch ${torch.version} (${cores} threads): ${torch.samplesPerS.toFixed(2)} samples/s, ${torch.params} parameters (tfjs model: ${params})`);
    if (torch.params !== params) console.log(`WARNING: parameter counts differ (pytorch ${torch.params}, tfjs ${params})`);
    console.log(
      `training: ${best.samplesPerS.toFixed(1)} samples/s (${best.label}), pytorch ${torch.samplesPerS.toFixed(1)} samples/s, ratio ${(best.samplesPerS / torch.samplesPerS).toFixed(2)}`,
    );
  },
};
