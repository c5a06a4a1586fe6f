// Inference and per-cohort evaluation of a model on a site's data (no augmentation, no training).
import * as tf from '@tensorflow/tfjs';
import { inputModalities } from '../../models/registry.js';
import type { Batch, Cohort, CohortData, EvaluationData, ImageDataset } from '../data.js';
import { mannWhitneyAuc } from './auc.js';

/** Checks that the data feeds the model's inputs (same modalities, same order, same size). */
export function checkCompatible(model: tf.LayersModel, data: Pick<CohortData, 'modalities' | 'inputSize'>): void {
  const wanted = inputModalities(model);
  if (wanted.join(',') !== data.modalities.join(',')) {
    throw new Error(`model "${model.name}" reads [${wanted.join(', ')}] but the data provides [${data.modalities.join(', ')}]`);
  }
  const shape = model.inputs[0]!.shape;
  if (shape[1] !== data.inputSize || shape[2] !== data.inputSize) {
    throw new Error(`model "${model.name}" expects ${shape[1]}x${shape[2]} inputs, data is ${data.inputSize}x${data.inputSize}`);
  }
}

/** One NHWC tensor per modality; the channel count follows from the array length (grey 1, colour 3, K cine frames). */
export function batchTensors(batch: Batch, inputSize: number): tf.Tensor4D[] {
  return batch.inputs.map((a) => tf.tensor4d(a, [batch.size, inputSize, inputSize, a.length / (batch.size * inputSize * inputSize)]));
}

/** Probabilities for a sequence of batches. */
export function predict(model: tf.LayersModel, batches: Iterable<Batch>, inputSize: number): Float32Array {
  const parts: Float32Array[] = [];
  for (const batch of batches) {
    const p = tf.tidy(() => {
      const out = model.predict(batchTensors(batch, inputSize)) as tf.Tensor;
      return out.reshape([batch.size]);
    });
    parts.push(p.dataSync() as Float32Array);
    p.dispose();
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Mean binary cross-entropy of probabilities (clipped to [1e-7, 1 - 1e-7]). */
export function logLoss(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const q = Math.min(1 - 1e-7, Math.max(1e-7, p[i]!));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return p.length ? s / p.length : Number.NaN;
}

export interface CohortEvaluation {
  readonly cohort: Cohort;
  readonly n: number;
  readonly positives: number;
  readonly loss: number;
  /** NaN when the cohort lacks positives or negatives. */
  readonly auc: number;
  readonly caseIds: readonly string[];
  readonly labels: Float32Array;
  readonly predictions: Float32Array;
}

export function evaluateData(model: tf.LayersModel, data: EvaluationData, batchSize = 32): CohortEvaluation {
  checkCompatible(model, data);
  return evaluation(data, predict(model, data.batches(batchSize), data.inputSize));
}

function evaluation(data: EvaluationData, predictions: Float32Array): CohortEvaluation {
  return {
    cohort: data.cohort,
    n: data.size,
    positives: data.positives,
    loss: logLoss(predictions, data.labels),
    auc: mannWhitneyAuc(predictions, data.labels),
    caseIds: data.caseIds,
    labels: data.labels,
    predictions,
  };
}

/**
 * evaluateCohort with the probabilities of each batch from `predictBatch` (e.g. a data-parallel
 * trainer's predict, which splits the batch over warm worker threads).
 */
export async function evaluateCohortWith(
  model: tf.LayersModel,
  data: ImageDataset,
  cohort: Cohort,
  predictBatch: (inputs: tf.Tensor4D[]) => Promise<Float32Array>,
  batchSize = 32,
): Promise<CohortEvaluation> {
  const ev = data.forEvaluation(cohort);
  checkCompatible(model, ev);
  const predictions = new Float32Array(ev.size);
  let off = 0;
  for (const batch of ev.batches(batchSize)) {
    const xs = batchTensors(batch, ev.inputSize);
    try {
      const p = await predictBatch(xs);
      if (p.length !== batch.size) throw new Error(`prediction of ${p.length} values for a batch of ${batch.size}`);
      predictions.set(p, off);
      off += batch.size;
    } finally {
      xs.forEach((x) => x.dispose());
    }
  }
  return evaluation(ev, predictions);
}

/** Evaluates a model on one cohort of a site dataset (explicit evaluation access). */
export function evaluateCohort(model: tf.LayersModel, data: ImageDataset, cohort: Cohort, batchSize = 32): CohortEvaluation {
  return evaluateData(model, data.forEvaluation(cohort), batchSize);
}

/**
 * Penultimate-layer activations (the input of the output layer; for the networks with a sigmoid
 * head, the hidden head layer after its ReLU) of every case of the given cohorts, in manifest order.
 */
export function embedCohorts(model: tf.LayersModel, data: ImageDataset, cohorts: readonly Cohort[], batchSize = 32): { caseId: string; cohort: Cohort; values: Float32Array }[] {
  const last = model.layers[model.layers.length - 1]!;
  const penultimate = last.input as tf.SymbolicTensor;
  const sub = tf.model({ inputs: model.inputs, outputs: penultimate });
  const width = penultimate.shape[penultimate.shape.length - 1] as number;
  const out: { caseId: string; cohort: Cohort; values: Float32Array }[] = [];
  for (const cohort of cohorts) {
    const ev = data.forEvaluation(cohort);
    checkCompatible(model, ev);
    for (const batch of ev.batches(batchSize)) {
      const t = tf.tidy(() => (sub.predict(batchTensors(batch, ev.inputSize)) as tf.Tensor).reshape([batch.size, width]));
      const v = t.dataSync() as Float32Array;
      t.dispose();
      for (let i = 0; i < batch.size; i++) out.push({ caseId: batch.caseIds[i]!, cohort, values: v.slice(i * width, (i + 1) * width) });
    }
  }
  return out;
}
