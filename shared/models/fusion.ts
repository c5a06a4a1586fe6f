// Fusion block and classification head shared by all architectures.
import * as tf from '@tensorflow/tfjs';
import { SeededDropout } from './seeded-dropout.js';

/**
 * Concatenates the branches' feature vectors and re-weights every feature with a learned,
 * input-dependent sigmoid gate computed from all branches together (so the network can lean on
 * whichever modality is informative for the case at hand). With one branch this is a
 * squeeze-and-excitation style gate over that branch's features, keeping single-modality
 * baselines architecturally identical apart from the missing branch.
 */
export function gatedFusion(features: readonly tf.SymbolicTensor[]): tf.SymbolicTensor {
  const concat =
    features.length === 1
      ? features[0]!
      : (tf.layers.concatenate({ name: 'fusion.concat', axis: -1 }).apply([...features]) as tf.SymbolicTensor);
  const width = concat.shape[concat.shape.length - 1]!;
  const gate = tf.layers
    .dense({ name: 'fusion.gate', units: width, activation: 'sigmoid' })
    .apply(concat) as tf.SymbolicTensor;
  return tf.layers.multiply({ name: 'fusion.gated' }).apply([concat, gate]) as tf.SymbolicTensor;
}

/** Dense ReLU layer, dropout, one sigmoid unit: P(SLN metastasis). */
export function sigmoidHead(x: tf.SymbolicTensor, hiddenUnits: number, dropout: number): tf.SymbolicTensor {
  let h = tf.layers.dense({ name: 'head.hidden', units: hiddenUnits, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  if (dropout > 0) h = new SeededDropout({ name: 'head.dropout', rate: dropout }).apply(h) as tf.SymbolicTensor;
  return tf.layers.dense({ name: 'head.out', units: 1, activation: 'sigmoid' }).apply(h) as tf.SymbolicTensor;
}
