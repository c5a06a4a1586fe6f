import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tensorSetDigest } from '../tensor/tensor-set.js';
import { buildModel, inputModalities, listModels, modelModalities } from './registry.js';
import { applyTensorSet, modelSpec, modelToTensorSet } from './spec.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('model registry and specs', () => {
  it('lists every architecture', () => {
    expect(listModels().map((m) => m.name)).toEqual(
      expect.arrayContaining(['ddfn', 'gsus_only', 'ceus_only', 'dual_mobilenetv2']),
    );
  });

  it('builds identical specs and identical initial weights twice in one process', () => {
    const a = buildModel('ddfn', { seed: 7 });
    const b = buildModel('ddfn', { seed: 7 });
    const sa = modelSpec(a, 'ddfn');
    const sb = modelSpec(b, 'ddfn');
    expect(sa.tensors.map((t) => t.name)).toEqual(sb.tensors.map((t) => t.name));
    expect(sa.digest).toBe(sb.digest);
    expect(sa.tensors[0]!.name).toBe('gsus.conv1/kernel');
    expect(sa.tensors.every((t) => t.dtype === 'float32')).toBe(true);
    expect(tensorSetDigest(modelToTensorSet(a))).toBe(tensorSetDigest(modelToTensorSet(b)));
    // The default DDFN stays around 50k parameters at 128x128.
    expect(a.countParams()).toBeGreaterThan(40_000);
    expect(a.countParams()).toBeLessThan(60_000);
    a.dispose();
    b.dispose();
  });

  it('the seed changes the weights but not the spec; configs change the spec', () => {
    const a = buildModel('ddfn', { seed: 1, inputSize: 32 });
    const b = buildModel('ddfn', { seed: 2, inputSize: 32 });
    expect(modelSpec(a, 'ddfn').digest).toBe(modelSpec(b, 'ddfn').digest);
    expect(tensorSetDigest(modelToTensorSet(a))).not.toBe(tensorSetDigest(modelToTensorSet(b)));
    const wide = buildModel('ddfn', { inputSize: 32, widths: [8, 16, 32] });
    const other = buildModel('ddfn', { inputSize: 32, modalities: ['bmus', 'cdus'] });
    const digests = new Set([modelSpec(a, 'ddfn'), modelSpec(wide, 'ddfn'), modelSpec(other, 'ddfn')].map((s) => s.digest));
    expect(digests.size).toBe(3);
    expect(modelSpec(other, 'ddfn').tensors[0]!.name).toBe('bmus.conv1/kernel');
    expect(inputModalities(other)).toEqual(['bmus', 'cdus']);
    for (const m of [a, b, wide, other]) m.dispose();
  });

  it('single-modality and MobileNetV2 models have the expected inputs and stable names', () => {
    const g = buildModel('gsus_only', { inputSize: 32 });
    expect(inputModalities(g)).toEqual(['gsus']);
    expect(modelModalities('ceus_only')).toEqual(['ceus']);
    const m1 = buildModel('dual_mobilenetv2', { inputSize: 32, modalities: ['bmus', 'cdus'], widthMultiplier: 0.5 });
    const m2 = buildModel('dual_mobilenetv2', { inputSize: 32, modalities: ['bmus', 'cdus'], widthMultiplier: 0.5 });
    const names = modelSpec(m1, 'dual_mobilenetv2').tensors.map((t) => t.name);
    expect(names).toContain('bmus.ir2_1.dw.conv/depthwise_kernel');
    expect(names).toContain('cdus.ir2_1.expand.bn/moving_variance');
    expect(modelSpec(m1, 'x').digest).toBe(modelSpec(m2, 'x').digest);
    const out = tf.tidy(() => m1.predict([tf.zeros([2, 32, 32, 1]), tf.zeros([2, 32, 32, 1])]) as tf.Tensor);
    expect(out.shape).toEqual([2, 1]);
    out.dispose();
    for (const m of [g, m1, m2]) m.dispose();
  });

  it('round-trips weights and rejects mismatching or non-finite tensor sets with clear errors', () => {
    const a = buildModel('gsus_only', { inputSize: 32, seed: 3 });
    const b = buildModel('gsus_only', { inputSize: 32, seed: 4 });
    const set = modelToTensorSet(a);
    applyTensorSet(b, set);
    expect(tensorSetDigest(modelToTensorSet(b))).toBe(tensorSetDigest(set));

    const renamed = { infos: set.infos.map((t, i) => (i === 0 ? { ...t, name: 'evil/kernel' } : t)), data: set.data };
    expect(() => applyTensorSet(b, renamed)).toThrow(/tensor 0: expected name "gsus.conv1\/kernel", got "evil\/kernel"/);
    const short = { infos: set.infos, data: set.data.subarray(1) };
    expect(() => applyTensorSet(b, short)).toThrow(/expected \d+ values/);
    const nan = { infos: set.infos, data: set.data.slice() };
    nan.data[5] = Number.NaN;
    expect(() => applyTensorSet(b, nan)).toThrow(/"gsus.conv1\/kernel" has a non-finite value at index 5/);
    a.dispose();
    b.dispose();
  });

  it('rejects unknown models and bad configs, naming the field', () => {
    expect(() => buildModel('resnet', {})).toThrow(/unknown model "resnet"/);
    expect(() => buildModel('ddfn', { inputSize: 8 })).toThrow(/inputSize/);
    expect(() => buildModel('ddfn', { modalities: ['gsus'] })).toThrow(/two or more modalities/);
    expect(() => buildModel('ddfn', { modalities: ['GSUS', 'ceus'] })).toThrow(/modalities\.0/);
  });
});
