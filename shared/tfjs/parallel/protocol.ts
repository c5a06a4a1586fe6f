// Messages between the data-parallel trainer (main thread) and its replica workers.
import type { ModelConfigInput } from '../../models/config.js';
import type { BackendChoice } from '../backend.js';

export interface ReplicaInit {
  readonly type: 'init';
  readonly model: string;
  readonly modelConfig: ModelConfigInput;
  readonly backend: BackendChoice;
}

export interface ReplicaStep {
  readonly type: 'step';
  /** Every weight of the model (trainable and not), flattened in model.weights order. */
  readonly weights: Float32Array;
  /** One shard per model input, NHWC, flattened. */
  readonly inputs: Float32Array[];
  readonly labels: Float32Array;
  readonly count: number;
  /**
   * Seed of this step's dropout masks on this replica: the worker reseeds its dropout layers with it
   * before the step, so a replica's masks depend on the local training's seed, the step and the
   * replica, never on what the (possibly reused) worker computed before.
   */
  readonly dropoutSeed: number;
}

export type ToReplica = ReplicaInit | ReplicaStep | { readonly type: 'close' };

export type FromReplica =
  | { readonly type: 'ready'; readonly backend: string; readonly weightCount: number; readonly trainableCount: number }
  | { readonly type: 'grads'; readonly loss: number; readonly grads: Float32Array }
  | { readonly type: 'error'; readonly message: string };
