// The per-replica piece of data-parallel training: gradients of the mean binary cross-entropy
// of one shard of a batch, with respect to a model's trainable weights, flattened in weight order.
import * as tf from '@tensorflow/tfjs';

/** Total element count of the given weights, in order. */
export function flatSize(weights: readonly tf.LayerVariable[]): number {
  return weights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}

/** Copies the values of `weights` into one Float32Array, in order. */
export function flattenWeights(weights: readonly tf.LayerVariable[]): Float32Array {
  const out = new Float32Array(flatSize(weights));
  let off = 0;
  for (const w of weights) {
    const v = w.read().dataSync() as Float32Array;
    out.set(v, off);
    off += v.length;
  }
  return out;
}

/** Assigns `flat` (as made by flattenWeights on a model of the same architecture) to `weights`. */
export function assignWeights(weights: readonly tf.LayerVariable[], flat: Float32Array): void {
  const expected = flatSize(weights);
  if (flat.length !== expected) throw new Error(`weight vector has ${flat.length} values, the model needs ${expected}`);
  let off = 0;
  tf.tidy(() => {
    for (const w of weights) {
      const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
      w.write(tf.tensor(flat.subarray(off, off + n), w.shape as number[], 'float32'));
      off += n;
    }
  });
}

export interface ShardGradients {
  /** Mean loss over the shard. */
  readonly loss: number;
  /** Gradient of the mean loss, one tensor per trainable weight (caller disposes). */
  readonly grads: tf.Tensor[];
}

/** Mean binary cross-entropy of a sigmoid model on (inputs, labels), and its gradients (training mode). */
export function shardGradients(model: tf.LayersModel, inputs: tf.Tensor[], labels: tf.Tensor): ShardGradients {
  const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(inputs, { training: true }) as tf.Tensor;
    return tf.mean(tf.metrics.binaryCrossentropy(labels, out)) as tf.Scalar;
  }, vars);
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, grads: vars.map((v) => grads[v.name]!) };
}

/** Flattens gradient tensors into one Float32Array (and disposes them). */
export function flattenGradients(grads: tf.Tensor[]): Float32Array {
  const out = new Float32Array(grads.reduce((n, g) => n + g.size, 0));
  let off = 0;
  for (const g of grads) {
    out.set(g.dataSync() as Float32Array, off);
    off += g.size;
    g.dispose();
  }
  return out;
}

/**
 * One gradient pass on `count` random samples, its result dropped: the first pass of a model on a
 * thread costs several steps' time (kernel set-up, code tiering, memory growth), and this moves
 * that cost before the first real step. It changes the batch-norm moving statistics and dropout
 * call counts, so it is for a model whose weights are set (and dropout reseeded) before training.
 */
export function warmUp(model: tf.LayersModel, count = 2): void {
  tf.tidy(() => {
    const xs = model.inputs.map((inp) => tf.randomUniform([count, ...(inp.shape.slice(1) as number[])], -1, 1, 'float32', 1));
    const ys = tf.tensor2d(Array.from({ length: count }, (_, i) => [i % 2]));
    tf.dispose(shardGradients(model, xs, ys).grads);
  });
}
