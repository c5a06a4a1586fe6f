// Local training on the wasm backend (with the project's training kernels).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../models/registry.js';
import { applyTensorSet, modelToTensorSet } from '../../models/spec.js';
import { closeIdleReplicas } from '../../tfjs/parallel/data-parallel.js';
import { generateSites } from '../../synth/generate.js';
import { tensorSetDigest } from '../../tensor/tensor-set.js';
import { selectBackend } from '../../tfjs/backend.js';
import { openSiteDataset, type SiteDataset } from '../../../site-agent/data/dataset.js';
import { evaluateCohort, evaluateCohortWith } from './predict.js';
import { DataParallelTrainer } from '../../tfjs/parallel/data-parallel.js';
import { trainLocal } from './train.js';

const dir = mkdtempSync(join(tmpdir(), 'fl-train-'));
let ds: SiteDataset;
const cfg = { inputSize: 16, widths: [4, 8], headUnits: 4, seed: 2 };
beforeAll(async () => {
  await selectBackend('wasm');
  generateSites({ out: dir, sites: 1, casesPerSite: 40, seed: 5, imageSize: 48 });
  ds = await openSiteDataset(join(dir, 'site-1/manifest.csv'), { modalities: ['gsus', 'ceus'], inputSize: 16 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const distance = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));

describe('trainLocal', () => {
  it('is reproducible for a seed, leaks no tensors, and reports examples and losses', async () => {
    const run = async (seed: number) => {
      const m = buildModel('ddfn', cfg);
      const before = tf.memory().numTensors;
      const r = await trainLocal(m, ds.forTraining(), { epochs: 2, batchSize: 8, learningRate: 0.01, seed, augment: true });
      expect(tf.memory().numTensors).toBe(before);
      const digest = tensorSetDigest(modelToTensorSet(m));
      m.dispose();
      return { r, digest };
    };
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(a.r.numExamples).toBe(24);
    expect(a.r.steps).toBe(6);
    expect(a.r.epochLosses).toHaveLength(2);
    expect(Number.isFinite(a.r.trainLoss)).toBe(true);
    expect(a.digest).toBe(b.digest);
    expect(a.digest).not.toBe(c.digest);
  });

  it('trains data-parallel over 2 replicas when asked (plain SGD), and on the main thread alone with FedProx', async () => {
    const parallel = { threads: 2, architecture: { name: 'ddfn', config: cfg } };
    const m = buildModel('ddfn', cfg);
    const start = modelToTensorSet(m).data.slice();
    const before = tf.memory().numTensors;
    const r = await trainLocal(m, ds.forTraining(), { epochs: 1, batchSize: 8, learningRate: 0.01, seed: 1, parallel });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.replicas).toBe(2);
    expect(r.steps).toBe(3);
    expect(r.samplesPerSecond).toBeGreaterThan(0);
    expect(Number.isFinite(r.trainLoss)).toBe(true);
    expect(distance(modelToTensorSet(m).data, start)).toBeGreaterThan(0);
    const prox = await trainLocal(m, ds.forTraining(), { epochs: 1, batchSize: 8, learningRate: 0.01, seed: 1, parallel, proximalMu: 0.1 });
    expect(prox.replicas).toBe(1);
    m.dispose();
  }, 120_000);

  it('data-parallel training with dropout is reproducible for a seed, whatever the reused workers ran before', async () => {
    const dcfg = { ...cfg, dropout: 0.5 };
    const parallel = { threads: 2, architecture: { name: 'ddfn', config: dcfg } };
    const m = buildModel('ddfn', dcfg);
    const start = modelToTensorSet(m);
    const run = async (seed: number) => {
      applyTensorSet(m, start);
      const r = await trainLocal(m, ds.forTraining(), { epochs: 1, batchSize: 8, learningRate: 0.01, seed, augment: true, parallel });
      expect(r.replicas).toBe(2);
      return tensorSetDigest(modelToTensorSet(m));
    };
    try {
      // the second and third runs reuse the parked worker, which has run the steps before them
      const a = await run(1);
      const other = await run(2);
      const b = await run(1);
      expect(b).toBe(a);
      expect(other).not.toBe(a);
    } finally {
      await closeIdleReplicas();
      m.dispose();
    }
  }, 120_000);

  it('scores a cohort with the data-parallel replicas as the main thread alone does', async () => {
    const m = buildModel('ddfn', cfg);
    await trainLocal(m, ds.forTraining(), { epochs: 1, batchSize: 8, learningRate: 0.01, seed: 3 });
    const scorer = await DataParallelTrainer.create({ model: m, architecture: { name: 'ddfn', config: cfg }, replicas: 2, keepWarm: true });
    try {
      const before = tf.memory().numTensors;
      const par = await evaluateCohortWith(m, ds, 'test', (xs) => scorer.predict(xs), 3);
      expect(tf.memory().numTensors).toBe(before);
      const one = evaluateCohort(m, ds, 'test');
      expect(par.caseIds).toEqual(one.caseIds);
      expect(par.n).toBe(8);
      par.predictions.forEach((p, i) => expect(p).toBeCloseTo(one.predictions[i]!, 6));
      expect(par.loss).toBeCloseTo(one.loss, 6);
      expect(par.auc).toBe(one.auc);
      await expect(evaluateCohortWith(m, ds, 'test', async () => new Float32Array(1), 3)).rejects.toThrow(/1 values for a batch of 3/);
    } finally {
      await scorer.dispose();
      await closeIdleReplicas();
      m.dispose();
    }
  }, 120_000);

  it('the FedProx term keeps the weights closer to the global model', async () => {
    const global = modelToTensorSet(buildModel('ddfn', cfg));
    const drift = async (mu: number) => {
      const m = buildModel('ddfn', cfg);
      await trainLocal(m, ds.forTraining(), { epochs: 2, batchSize: 8, learningRate: 0.02, seed: 3, proximalMu: mu, globalWeights: global });
      const d = distance(modelToTensorSet(m).data, global.data);
      m.dispose();
      return d;
    };
    const free = await drift(0);
    const prox = await drift(50);
    expect(free).toBeGreaterThan(0);
    expect(prox).toBeLessThan(free * 0.8);
  });

  it('trains the dual-stream MobileNetV2 (depthwise gradients) and updates batch-norm statistics', async () => {
    const m = buildModel('dual_mobilenetv2', { inputSize: 16, widthMultiplier: 0.5, seed: 1 });
    const before = modelToTensorSet(m);
    const r = await trainLocal(m, ds.forTraining(), { epochs: 1, batchSize: 12, learningRate: 0.01, seed: 1 });
    expect(Number.isFinite(r.trainLoss)).toBe(true);
    const after = modelToTensorSet(m);
    const idx = after.infos.findIndex((t) => t.name === 'gsus.stem.bn/moving_mean');
    let off = 0;
    for (let i = 0; i < idx; i++) off += after.infos[i]!.shape.reduce((a, b) => a * b, 1);
    expect(after.data[off]).not.toBe(before.data[off]);
    m.dispose();
  });

  it('evaluates a cohort without leaking tensors and rejects mismatched models or bad options', async () => {
    const m = buildModel('ddfn', cfg);
    const before = tf.memory().numTensors;
    const ev = evaluateCohort(m, ds, 'test');
    expect(tf.memory().numTensors).toBe(before);
    expect(ev.n).toBe(8);
    expect(ev.predictions).toHaveLength(8);
    expect(ev.predictions.every((p) => p > 0 && p < 1)).toBe(true);
    expect(Number.isFinite(ev.loss)).toBe(true);
    const single = buildModel('gsus_only', cfg);
    expect(() => evaluateCohort(single, ds, 'test')).toThrow(/reads \[gsus\] but the data provides \[gsus, ceus\]/);
    await expect(trainLocal(m, ds.forTraining(), { epochs: 0, batchSize: 8, learningRate: 0.01, seed: 1 })).rejects.toThrow(/epochs 0/);
    m.dispose();
    single.dispose();
  });
});
