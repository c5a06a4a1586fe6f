// Training on the wasm backend with the project's kernels: conv and MobileNetV2 models train,
// the loss falls, no tensors leak, and data-parallel steps equal single-replica steps.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../models/registry.js';
import { selectBackend } from '../backend.js';
import { bootedReplicaCount, bootReplicas, closeIdleReplicas, DataParallelTrainer, idleReplicaCount, prestartReplicas } from './data-parallel.js';
import { assignWeights, flattenWeights, warmUp } from './shard-gradients.js';
import { reseedDropout } from '../../models/seeded-dropout.js';

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

  it('a training step on wasm (project kernels) equals the same step on the cpu backend', async () => {
    // widths 4 and 8 take the SIMD channel paths, the 1-channel input the scalar ones
    const cfg = { inputSize: 32, widths: [4, 8], headUnits: 8, dropout: 0 };
    const a = buildModel('ddfn', cfg);
    const w0 = flattenWeights(a.weights);
    const { xs, y } = batch(a, 5);
    const xData = xs.map((x) => ({ data: x.dataSync().slice(), shape: x.shape }));
    const yData = y.dataSync().slice();
    const step = async (model: tf.LayersModel) => {
      const t = await DataParallelTrainer.create({ model, architecture: { name: 'ddfn', config: cfg }, optimizer: tf.train.sgd(0.5), replicas: 1 });
      const ins = xData.map((x) => tf.tensor(x.data, x.shape));
      const lab = tf.tensor(yData, [5, 1]);
      const losses = [await t.trainBatch(ins, lab), await t.trainBatch(ins, lab)];
      await t.dispose();
      tf.dispose([...ins, lab]);
      return { losses, weights: flattenWeights(model.weights) };
    };
    const onWasm = await step(a);
    tf.dispose([...xs, y]);
    a.dispose();
    await selectBackend('cpu');
    try {
      const b = buildModel('ddfn', cfg);
      assignWeights(b.weights, w0);
      const onCpu = await step(b);
      b.dispose();
      expect(onWasm.losses[0]).toBeCloseTo(onCpu.losses[0]!, 5);
      expect(onWasm.losses[1]).toBeCloseTo(onCpu.losses[1]!, 5);
      let worst = 0;
      let moved = 0;
      for (let i = 0; i < w0.length; i++) {
        worst = Math.max(worst, Math.abs(onWasm.weights[i]! - onCpu.weights[i]!));
        moved = Math.max(moved, Math.abs(onCpu.weights[i]! - w0[i]!));
      }
      expect(moved).toBeGreaterThan(1e-3);
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await selectBackend('wasm');
    }
  });

  it('keepWarm parks the workers on dispose and the next trainer of the same architecture reuses them', async () => {
    await closeIdleReplicas();
    const a = buildModel('ddfn', SMALL);
    const b = buildModel('ddfn', SMALL);
    assignWeights(b.weights, flattenWeights(a.weights));
    const { xs, y } = batch(a, 6);
    const arch = { name: 'ddfn', config: SMALL };
    try {
      const first = await DataParallelTrainer.create({ model: a, architecture: arch, optimizer: tf.train.sgd(0.1), replicas: 2, keepWarm: true });
      expect(first.warm).toBe(false);
      const l1 = await first.trainBatch(xs, y);
      await first.dispose();
      expect(idleReplicaCount()).toBe(1);
      // another architecture does not take them
      const other = await DataParallelTrainer.create({ model: a, architecture: { name: 'ddfn', config: { ...SMALL, headUnits: 4 } }, optimizer: tf.train.sgd(0.1), replicas: 1, keepWarm: true });
      await other.dispose();
      const second = await DataParallelTrainer.create({ model: b, architecture: arch, optimizer: tf.train.sgd(0.1), replicas: 2, keepWarm: true });
      expect(second.warm).toBe(true);
      expect(idleReplicaCount()).toBe(0);
      // the reused worker computes on the weights it is sent: the same first step as before
      const l2 = await second.trainBatch(xs, y);
      expect(l2).toBeCloseTo(l1, 5);
      await second.dispose();
      expect(idleReplicaCount()).toBe(1);
    } finally {
      await closeIdleReplicas();
      tf.dispose([...xs, y]);
      a.dispose();
      b.dispose();
    }
    expect(idleReplicaCount()).toBe(0);
  });

  it('prestartReplicas parks one warmed set (concurrent calls share it); a trainer created meanwhile waits for it and steps as a fresh one does', async () => {
    await closeIdleReplicas();
    const arch = { name: 'ddfn', config: SMALL };
    const ref = buildModel('ddfn', SMALL);
    const a = buildModel('ddfn', SMALL);
    assignWeights(a.weights, flattenWeights(ref.weights));
    const { xs, y } = batch(ref, 6);
    try {
      const one = await DataParallelTrainer.create({ model: ref, architecture: arch, optimizer: tf.train.sgd(0.1), replicas: 1 });
      const l1 = await one.trainBatch(xs, y);
      await one.dispose();
      // the main thread's warm-up pass changes batch-norm statistics: the weights are set after it
      const w0 = flattenWeights(a.weights);
      warmUp(a, 3);
      assignWeights(a.weights, w0);
      const p1 = prestartReplicas({ architecture: arch, replicas: 2, warmupSamples: 3 });
      const p2 = prestartReplicas({ architecture: arch, replicas: 2 });
      const trainer = await DataParallelTrainer.create({ model: a, architecture: arch, optimizer: tf.train.sgd(0.1), replicas: 2, keepWarm: true });
      await Promise.all([p1, p2]);
      expect(trainer.warm).toBe(true);
      expect(idleReplicaCount()).toBe(0);
      const l2 = await trainer.trainBatch(xs, y);
      expect(l2).toBeCloseTo(l1, 5);
      const wa = flattenWeights(a.weights);
      const wr = flattenWeights(ref.weights);
      let worst = 0;
      for (let i = 0; i < wa.length; i++) worst = Math.max(worst, Math.abs(wa[i]! - wr[i]!));
      expect(worst).toBeLessThan(1e-5);
      await trainer.dispose();
      expect(idleReplicaCount()).toBe(1);
      // with a set parked, prestarting again starts nothing
      await prestartReplicas({ architecture: arch, replicas: 2 });
      expect(idleReplicaCount()).toBe(1);
      await expect(prestartReplicas({ architecture: arch, replicas: 0 })).rejects.toThrow(/positive integer/);
    } finally {
      await closeIdleReplicas();
      tf.dispose([...xs, y]);
      a.dispose();
      ref.dispose();
    }
    expect(idleReplicaCount()).toBe(0);
  });

  it('predict splits a batch over the replicas and gives the main model\'s probabilities (inference mode)', async () => {
    await closeIdleReplicas();
    const cfg = { ...SMALL, dropout: 0.5 };
    const model = buildModel('ddfn', cfg);
    const { xs, y } = batch(model, 7);
    // move the batch-norm statistics away from their initial values first
    const trainer = await DataParallelTrainer.create({ model, architecture: { name: 'ddfn', config: cfg }, optimizer: tf.train.sgd(0.1), replicas: 2, keepWarm: true });
    try {
      for (let i = 0; i < 3; i++) await trainer.trainBatch(xs, y);
      const want = tf.tidy(() => (model.predict(xs) as tf.Tensor).reshape([7]).dataSync() as Float32Array);
      const got = await trainer.predict(xs);
      expect(got).toHaveLength(7);
      got.forEach((p, i) => expect(p).toBeCloseTo(want[i]!, 6));
      // rows 4-6 came from the worker: changing the main model's weights changes them too
      assignWeights(model.weights, flattenWeights(model.weights).map((v) => v * 0.5));
      const after = await trainer.predict(xs);
      const again = tf.tidy(() => (model.predict(xs) as tf.Tensor).reshape([7]).dataSync() as Float32Array);
      after.forEach((p, i) => expect(p).toBeCloseTo(again[i]!, 6));
      expect(after.some((p, i) => Math.abs(p - got[i]!) > 1e-4)).toBe(true);
      const first = xs.map((x) => x.slice(0, 1));
      const one = await trainer.predict(first);
      tf.dispose(first);
      expect(one[0]).toBeCloseTo(again[0]!, 6);
    } finally {
      await trainer.dispose();
      await closeIdleReplicas();
      tf.dispose([...xs, y]);
      model.dispose();
    }
  });

  it('booted workers (backend loaded, no model) are taken by the next trainer, which steps as a fresh one does', async () => {
    await closeIdleReplicas();
    await Promise.all([bootReplicas({ count: 1 }), bootReplicas({ count: 1 })]);
    expect(bootedReplicaCount()).toBe(1);
    await bootReplicas({ count: 1 });
    expect(bootedReplicaCount()).toBe(1);
    const arch = { name: 'ddfn', config: SMALL };
    const ref = buildModel('ddfn', SMALL);
    const a = buildModel('ddfn', SMALL);
    assignWeights(a.weights, flattenWeights(ref.weights));
    const { xs, y } = batch(ref, 6);
    try {
      const one = await DataParallelTrainer.create({ model: ref, architecture: arch, optimizer: tf.train.sgd(0.1), replicas: 1 });
      const l1 = await one.trainBatch(xs, y);
      await one.dispose();
      const two = await DataParallelTrainer.create({ model: a, architecture: arch, optimizer: tf.train.sgd(0.1), replicas: 2 });
      expect(bootedReplicaCount()).toBe(0);
      expect(await two.trainBatch(xs, y)).toBeCloseTo(l1, 5);
      await two.dispose();
      await bootReplicas({ count: 2 });
      expect(bootedReplicaCount()).toBe(2);
      await closeIdleReplicas();
      expect(bootedReplicaCount()).toBe(0);
      await expect(bootReplicas({ count: -1 })).rejects.toThrow(/non-negative/);
    } finally {
      await closeIdleReplicas();
      tf.dispose([...xs, y]);
      a.dispose();
      ref.dispose();
    }
  });

  it('a reused worker draws the dropout masks a fresh one would: they depend on the seed, the step and the replica only', async () => {
    // A site that trains a round twice (its coordinator restarted mid-round) must send the same
    // update both times; with parked workers that kept their dropout stream it did not.
    await closeIdleReplicas();
    const cfg = { ...SMALL, dropout: 0.5 };
    const arch = { name: 'ddfn', config: cfg };
    const a = buildModel('ddfn', cfg);
    const b = buildModel('ddfn', cfg);
    assignWeights(b.weights, flattenWeights(a.weights));
    const { xs, y } = batch(a, 6);
    const run = async (model: tf.LayersModel, extraStepsFirst: number): Promise<{ losses: number[]; warm: boolean }> => {
      const t = await DataParallelTrainer.create({ model, architecture: arch, optimizer: tf.train.sgd(0), replicas: 2, keepWarm: true });
      // steps of an earlier round (another seed) advance the worker's own state
      t.reseed(99);
      for (let i = 0; i < extraStepsFirst; i++) await t.trainBatch(xs, y);
      reseedDropout(model, 5);
      t.reseed(5);
      const losses = [await t.trainBatch(xs, y), await t.trainBatch(xs, y)];
      const warm = t.warm;
      await t.dispose();
      return { losses, warm };
    };
    try {
      const fresh = await run(a, 0);
      expect(fresh.warm).toBe(false);
      const reused = await run(b, 3);
      expect(reused.warm).toBe(true);
      expect(reused.losses).toEqual(fresh.losses);
      // and the masks do change from step to step (dropout is active)
      expect(fresh.losses[0]).not.toBe(fresh.losses[1]);
    } finally {
      await closeIdleReplicas();
      tf.dispose([...xs, y]);
      a.dispose();
      b.dispose();
    }
  });
});
