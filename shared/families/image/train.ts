// Local training of a registered model on a site's `train` cohort: Adam, binary cross-entropy,
// optional FedProx proximal term (mu/2 * ||w - w_global||^2), seeded shuffling, augmentation and
// dropout, every intermediate tensor disposed.
import * as tf from '@tensorflow/tfjs';
import { reseedDropout } from '../../models/seeded-dropout.js';
import { splitTensors, type TensorSet } from '../../tensor/tensor-set.js';
import type { TrainingBatchOptions, TrainingData } from '../data.js';
import { batchTensors, checkCompatible } from './predict.js';
import { DataParallelTrainer } from '../../tfjs/parallel/data-parallel.js';
import type { ModelConfigInput } from '../../models/config.js';

export interface TrainLocalOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  readonly augment?: TrainingBatchOptions['augment'];
  /** FedProx mu; 0 or absent = plain local SGD (FedAvg). */
  readonly proximalMu?: number;
  /** The global model the proximal term pulls towards; default: the weights at the start of training. */
  readonly globalWeights?: TensorSet;
  /** L2 weight decay coefficient on kernels (default 0). */
  readonly weightDecay?: number;
  /**
   * Data-parallel training (shared/tfjs/parallel): the batch is split over `threads` replicas (the
   * main thread and threads-1 workers that rebuild `architecture`). Used on the wasm and cpu
   * backends for plain local SGD; with FedProx or weight decay, or on a native backend (which
   * parallelises its own kernels), training stays on the main thread. The worker threads stay
   * parked between calls (DataParallelTrainer keepWarm), so a site's later rounds do not start them
   * again.
   */
  readonly parallel?: { readonly threads: number; readonly architecture: { readonly name: string; readonly config: ModelConfigInput } };
  onEpoch?(epoch: number, meanLoss: number): void;
}

export interface TrainLocalResult {
  readonly numExamples: number;
  /** Mean training loss (BCE, plus proximal/decay terms when used) over the last epoch. */
  readonly trainLoss: number;
  /** Mean BCE per epoch. */
  readonly epochLosses: readonly number[];
  readonly steps: number;
  readonly seconds: number;
  /** Replicas that computed each step (1 = the main thread alone). */
  readonly replicas: number;
  /** Training samples processed per second over all epochs. */
  readonly samplesPerSecond: number;
  /** Where the wall time went (seconds; `step` includes `data` prepared during a data-parallel step's wait). */
  readonly timing: TrainTiming;
}

export interface TrainTiming {
  /** Optimizer and replica set-up before the first step (worker start-up when none is parked). */
  readonly setup: number;
  /** Reading and augmenting batches (iterator time on the main thread). */
  readonly data: number;
  /** Batch arrays to tensors. */
  readonly tensors: number;
  /** Optimizer steps (data-parallel: from the start of trainBatch to its result). */
  readonly step: number;
  /** Data-parallel split of `step`, when data-parallel. */
  readonly parallel?: { readonly send: number; readonly mainShard: number; readonly wait: number; readonly apply: number };
}

function validate(o: TrainLocalOptions): void {
  const bad: string[] = [];
  if (!Number.isInteger(o.epochs) || o.epochs < 1) bad.push(`epochs ${o.epochs}: expected a positive integer`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) bad.push(`batchSize ${o.batchSize}: expected a positive integer`);
  if (!(o.learningRate > 0 && o.learningRate < 10)) bad.push(`learningRate ${o.learningRate}: expected 0 < lr < 10`);
  if (!Number.isInteger(o.seed) || o.seed < 0) bad.push(`seed ${o.seed}: expected a non-negative integer`);
  if (o.proximalMu !== undefined && !(o.proximalMu >= 0)) bad.push(`proximalMu ${o.proximalMu}: expected >= 0`);
  if (o.weightDecay !== undefined && !(o.weightDecay >= 0)) bad.push(`weightDecay ${o.weightDecay}: expected >= 0`);
  if (bad.length) throw new Error(`trainLocal options are invalid: ${bad.join('; ')}`);
}

/** Trains in place on the `train` cohort (the only cohort TrainingData can hold). */
export async function trainLocal(model: tf.LayersModel, data: TrainingData, o: TrainLocalOptions): Promise<TrainLocalResult> {
  validate(o);
  if (data.cohort !== 'train') throw new Error(`trainLocal: refusing to train on cohort "${String(data.cohort)}"`);
  checkCompatible(model, data);
  if (data.size === 0) throw new Error('trainLocal: the train cohort is empty');
  const started = performance.now();
  reseedDropout(model, o.seed);
  const trainable = model.trainableWeights;
  const vars = trainable.map((w) => w.read() as tf.Variable);
  const mu = o.proximalMu ?? 0;
  const decay = o.weightDecay ?? 0;

  // Anchor for the proximal term: the given global weights (by tensor name) or the starting weights.
  let anchors: tf.Tensor[] = [];
  if (mu > 0) {
    if (o.globalWeights) {
      const byName = splitTensors(o.globalWeights);
      anchors = trainable.map((w) => {
        const values = byName.get(w.originalName);
        if (!values) throw new Error(`trainLocal: globalWeights has no tensor "${w.originalName}"`);
        return tf.tensor(values, w.shape as number[], 'float32');
      });
    } else anchors = vars.map((v) => tf.clone(v));
  }

  const optimizer = tf.train.adam(o.learningRate);
  const backend = tf.getBackend();
  const threads = o.parallel?.threads ?? 1;
  const dp = threads > 1 && mu === 0 && decay === 0 && (backend === 'wasm' || backend === 'cpu')
    ? await DataParallelTrainer.create({ model, architecture: o.parallel!.architecture, optimizer, replicas: threads, backend, keepWarm: true })
    : null;
  dp?.reseed(o.seed);
  // One optimiser step on a batch (data-parallel replicas when available, else on this thread);
  // returns the batch's mean BCE. The caller disposes the batch tensors.
  const stepLoss = async (xs: tf.Tensor4D[], ys: tf.Tensor2D): Promise<number> => {
    if (dp) return dp.trainBatch(xs, ys);
    const bce = tf.tidy(() => {
      let bceOut: tf.Scalar | undefined;
      optimizer.minimize(
        () => {
          const p = model.apply(xs, { training: true }) as tf.Tensor;
          const b = tf.losses.logLoss(ys, p, undefined, 1e-7) as tf.Scalar;
          bceOut = tf.keep(b.clone());
          let loss: tf.Scalar = b;
          if (mu > 0) {
            const prox = tf.addN(vars.map((v, i) => tf.sum(tf.square(tf.sub(v, anchors[i]!)))));
            loss = tf.add(loss, tf.mul(mu / 2, prox));
          }
          if (decay > 0) {
            const kernels = vars.filter((_, i) => /kernel$/.test(trainable[i]!.originalName));
            if (kernels.length) loss = tf.add(loss, tf.mul(decay / 2, tf.addN(kernels.map((k) => tf.sum(tf.square(k))))));
          }
          return loss;
        },
        false,
        vars,
      );
      return bceOut!;
    });
    try {
      return (await bce.data())[0]!;
    } finally {
      bce.dispose();
    }
  };
  const epochLosses: number[] = [];
  let steps = 0;
  let samples = 0;
  const setup = (performance.now() - started) / 1000;
  let dataMs = 0;
  let tensorMs = 0;
  let stepMs = 0;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      let sum = 0;
      let count = 0;
      let t = performance.now();
      const batches = data.batches({ batchSize: o.batchSize, seed: o.seed, epoch, augment: o.augment ?? false })[Symbol.iterator]();
      let next = batches.next();
      dataMs += performance.now() - t;
      while (!next.done) {
        const batch = next.value;
        t = performance.now();
        const xs = batchTensors(batch, data.inputSize);
        const ys = tf.tensor2d(batch.labels, [batch.size, 1]);
        const t1 = performance.now();
        tensorMs += t1 - t;
        let value: number;
        try {
          // A data-parallel step computes the main thread's shard before it waits for the
          // workers: the next batch (read, augmented) is prepared during that wait.
          const pending = stepLoss(xs, ys);
          const t2 = performance.now();
          try {
            next = batches.next();
          } catch (err) {
            await pending.catch(() => undefined);
            throw err;
          }
          dataMs += performance.now() - t2;
          value = await pending;
          stepMs += performance.now() - t1;
        } finally {
          xs.forEach((x) => x.dispose());
          ys.dispose();
        }
        if (!Number.isFinite(value)) throw new Error(`trainLocal: loss became ${value} at epoch ${epoch + 1}, step ${steps + 1}`);
        sum += value * batch.size;
        count += batch.size;
        samples += batch.size;
        steps++;
      }
      const mean = sum / count;
      epochLosses.push(mean);
      o.onEpoch?.(epoch + 1, mean);
    }
  } finally {
    await dp?.dispose();
    optimizer.dispose();
    anchors.forEach((a) => a.dispose());
  }
  const seconds = (performance.now() - started) / 1000;
  const dpt = dp?.times;
  const timing: TrainTiming = {
    setup, data: dataMs / 1000, tensors: tensorMs / 1000, step: stepMs / 1000,
    ...(dpt ? { parallel: { send: dpt.sendMs / 1000, mainShard: dpt.mainShardMs / 1000, wait: dpt.waitMs / 1000, apply: dpt.applyMs / 1000 } } : {}),
  };
  return {
    timing,
    numExamples: data.size,
    trainLoss: epochLosses[epochLosses.length - 1]!,
    epochLosses,
    steps,
    seconds,
    replicas: dp ? dp.replicaCount : 1,
    samplesPerSecond: samples / seconds,
  };
}
