// Model spec (ordered tensor names, shapes, dtypes and a digest) and conversion between a tfjs
// model's weights and a TensorSet. The coordinator validates every update against the spec.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { canonicalHeader, specMismatch, totalElements, type TensorInfo, type TensorSet } from '../tensor/tensor-set.js';

export interface ModelSpec {
  readonly name: string;
  readonly tensors: readonly TensorInfo[];
  /** SHA-256 (hex) of the canonical spec: the model name and the ordered tensor infos. */
  readonly digest: string;
}

function weightInfos(model: tf.LayersModel): TensorInfo[] {
  return model.weights.map((w) => ({ name: w.originalName, shape: [...w.shape] as number[], dtype: 'float32' as const }));
}

export function specDigest(name: string, tensors: readonly TensorInfo[]): string {
  return createHash('sha256').update(JSON.stringify(name)).update('\n').update(canonicalHeader(tensors)).digest('hex');
}

export function modelSpec(model: tf.LayersModel, name: string): ModelSpec {
  const tensors = weightInfos(model);
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new Error(`model "${name}": duplicate tensor name "${t.name}"`);
    seen.add(t.name);
  }
  return { name, tensors, digest: specDigest(name, tensors) };
}

/** All weights (trainable first, then e.g. batch-norm statistics) as one TensorSet. */
export function modelToTensorSet(model: tf.LayersModel): TensorSet {
  const infos = weightInfos(model);
  const data = new Float32Array(totalElements(infos));
  let offset = 0;
  for (const w of model.weights) {
    const values = w.read().dataSync() as Float32Array;
    data.set(values, offset);
    offset += values.length;
  }
  return { infos, data };
}

/** Loads a TensorSet into the model after checking names, shapes, dtypes, size and finiteness. */
export function applyTensorSet(model: tf.LayersModel, set: TensorSet): void {
  const expected = weightInfos(model);
  const mismatch = specMismatch(expected, set.infos);
  if (mismatch) throw new Error(`tensor set does not match model "${model.name}": ${mismatch}`);
  const n = totalElements(expected);
  if (set.data.length !== n) {
    throw new Error(`tensor set does not match model "${model.name}": expected ${n} values, got ${set.data.length}`);
  }
  let offset = 0;
  const slices: Float32Array[] = [];
  for (const info of expected) {
    const size = info.shape.reduce((a, b) => a * b, 1);
    const slice = set.data.subarray(offset, offset + size);
    for (let i = 0; i < slice.length; i++) {
      if (!Number.isFinite(slice[i]!)) {
        throw new Error(`tensor set for model "${model.name}": tensor "${info.name}" has a non-finite value at index ${i}`);
      }
    }
    slices.push(slice);
    offset += size;
  }
  model.weights.forEach((w, i) => {
    const t = tf.tensor(slices[i]!, expected[i]!.shape as number[], 'float32');
    w.write(t);
    t.dispose();
  });
}
