// Deterministic initial weights: every value is a function of (seed, tensor name) only, so two
// processes (all sites and the coordinator) that build the same architecture get identical weights
// regardless of tfjs's global random state or the order in which models were built.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';

/** Uniform floats in [0, 1) from SHA-256 in counter mode keyed by (seed, name). */
function uniformStream(seed: number, name: string, n: number): Float32Array {
  const out = new Float32Array(n);
  let i = 0;
  for (let counter = 0; i < n; counter++) {
    const block = createHash('sha256').update(`${seed}\u0000${name}\u0000${counter}`).digest();
    for (let off = 0; off + 4 <= block.length && i < n; off += 4) out[i++] = block.readUInt32LE(off) / 2 ** 32;
  }
  return out;
}

function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[0]!, fanOut: shape[1]! };
  if (shape.length === 4) {
    const receptive = shape[0]! * shape[1]!;
    return { fanIn: receptive * shape[2]!, fanOut: receptive * shape[3]! };
  }
  const n = shape.reduce((a, b) => a * b, 1);
  return { fanIn: n, fanOut: n };
}

/** Initial values for one weight, chosen from the last component of its name. */
export function initialValues(seed: number, name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const kind = name.slice(name.lastIndexOf('/') + 1);
  switch (kind) {
    case 'kernel':
    case 'depthwise_kernel': {
      // Glorot uniform (the tfjs/Keras default), limit sqrt(6 / (fan_in + fan_out)).
      const { fanIn, fanOut } = fans(shape);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const u = uniformStream(seed, name, n);
      for (let i = 0; i < n; i++) u[i] = (2 * u[i]! - 1) * limit;
      return u;
    }
    case 'bias':
    case 'beta':
    case 'moving_mean':
      return new Float32Array(n);
    case 'gamma':
    case 'moving_variance':
      return new Float32Array(n).fill(1);
    default:
      throw new Error(`deterministic init: no rule for weight "${name}"`);
  }
}

/** Overwrites every weight of the model with its deterministic initial value. */
export function initializeDeterministic(model: tf.LayersModel, seed: number): void {
  for (const w of model.weights) {
    const values = initialValues(seed, w.originalName, w.shape as number[]);
    const t = tf.tensor(values, w.shape as number[], 'float32');
    w.write(t);
    t.dispose();
  }
}
