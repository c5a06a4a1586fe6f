// Training on the wasm backend with the project's kernels: conv and MobileNetV2 models train,
// the loss falls, no tensors leak, and data-parallel steps equal single-replica steps.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../models/registry.js';
import { selectBackend } from '../backend.js';
import { DataParallelTrainer } from './data-parallel.js';
import { flattenWeights } from './shard-gradients.js';

const SMALL = { inputSize: 32, widths: [4, 8], headUnits: 8, dropout: 0 };

function batch(model: tf.LayersModel, n: number): { xs: tf.Tensor[]; y: tf.Tensor } {
  return tf.tidy(() => {
    const y = tf.tensor2d(Array.from({ length: n }, (_, i) => [i % 2]));
    // Learnable signal: positives are brighter in every modality.
    const xs = model.inputs.map((inp, k) =>
      tf.randomUniform([n, ...(inp.shape.slice(1) as number[])], 0, 1, 'float32', 7 + k).add(y.reshape([n, 1, 1, 1]).mul(0.5)),
    );
    return { xs, y };
  });
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('training on wasm', () => {
  for (const name of ['ddfn', 'dual_mobilenetv2']) {
    it(`${name}: loss decreases over a few steps and tf.memory() stays steady`, async () => {
      const cfg = name === 'ddfn' ? SMALL : { inputSize: 32, widthMultiplier: 0.5, headUnits: 8, dropout: 0 };
      const model = buildModel(name, cfg);
      const { xs, y } = batch(model, 8);
      const trainer = await DataParallelTrainer.create({ model, architecture: { name, config: cfg }, optimizer: tf.train.adam(0.01), replicas: 1 });
      const losses: number[] = [];
      const counts: number[] = [];
      for (let i = 0; i < 8; i++) {
        losses.push(await trainer.trainBatch(xs, y));
        counts.push(tf.memory().numTensors);
      }
      await trainer.dispose();
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.9);
      expect(new Set(counts.slice(1)).size).toBe(1);
      tf.dispose([...xs, y]);
      model.dispose();
    });
  }

  it('a two-replica step (worker thread) gives the same weights as a one-replica step', async () => {
    const a = buildModel('ddfn', SMALL);
    const b = buildModel('ddfn', SMALL);
    const { xs, y } = batch(a, 6);
    const one = await DataParallelTrainer.create({ model: a, architecture: { name: 'ddfn', config: SMALL }, optimizer: tf.train.sgd(0.1), replicas: 1 });
    const two = await DataParallelTrainer.create({ model: b, architecture: { name: 'ddfn', config: SMALL }, optimizer: tf.train.sgd(0.1), replicas: 2 });
    try {
      expect(two.replicaCount).toBe(2);
      for (let i = 0; i < 2; i++) {
        const la = await one.trainBatch(xs, y);
        const lb = await two.trainBatch(xs, y);
        expect(lb).toBeCloseTo(la, 5);
      }
      const wa = flattenWeights(a.weights);
      const wb = flattenWeights(b.weights);
      let worst = 0;
      for (let i = 0; i < wa.length; i++) worst = Math.max(worst, Math.abs(wa[i]! - wb[i]!));
      expect(worst).toBeLessThan(1e-5);
      const w0 = flattenWeights(buildModel('ddfn', SMALL).weights);
      expect(wa.some((v, i) => Math.abs(v - w0[i]!) > 1e-4)).toBe(true);
    } finally {
      await one.dispose();
      await two.dispose();
      tf.dispose([...xs, y]);
    }
  });
});
