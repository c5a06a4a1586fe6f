// Dropout whose masks come from a seeded stream instead of Math.random, so local training is
// reproducible given the training seed (tfjs's own Dropout draws an unseeded mask, or with a fixed
// seed the same mask on every step).
import * as tf from '@tensorflow/tfjs';

export interface SeededDropoutArgs {
  readonly name: string;
  readonly rate: number;
  readonly seed?: number;
}

export class SeededDropout extends tf.layers.Layer {
  static className = 'SeededDropout';
  readonly rate: number;
  private base: number;
  private calls = 0;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`dropout rate ${args.rate}: expected 0 <= rate < 1`);
    this.rate = args.rate;
    this.base = args.seed ?? 0;
  }

  /** Restarts the mask stream: the masks of the next training steps depend only on `seed`. */
  reseed(seed: number): void {
    this.base = seed >>> 0;
    this.calls = 0;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs['training'] !== true || this.rate === 0) return x;
    const seed = (Math.imul(this.base ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(++this.calls, 0xc2b2ae35)) >>> 0;
    return tf.dropout(x, this.rate, undefined, seed);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.base };
  }
}
tf.serialization.registerClass(SeededDropout);

/** Reseeds every SeededDropout layer of a model (call at the start of local training). */
export function reseedDropout(model: tf.LayersModel, seed: number): void {
  model.layers.forEach((layer, i) => {
    if (layer instanceof SeededDropout) layer.reseed((seed + i * 0x27d4eb2d) >>> 0);
  });
}
