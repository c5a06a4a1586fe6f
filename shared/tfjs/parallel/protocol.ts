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

/** A gradient pass on `count` random samples whose result is dropped: compiles and sizes the kernels before the first real step. */
export interface ReplicaWarmup {
  readonly type: 'warmup';
  readonly count: number;
}

/** Inference (training off) on a shard of a batch with the given weights. */
export interface ReplicaPredict {
  readonly type: 'predict';
  /** Every weight of the model, flattened in model.weights order. */
  readonly weights: Float32Array;
  readonly inputs: Float32Array[];
  readonly count: number;
}

/** Loads tfjs and selects the backend, before the model is known (a later 'init' builds it). */
export interface ReplicaBoot {
  readonly type: 'boot';
  readonly backend: BackendChoice;
}

export type ToReplica = ReplicaBoot | ReplicaInit | ReplicaStep | ReplicaWarmup | ReplicaPredict | { readonly type: 'close' };

export type FromReplica =
  | { readonly type: 'ready'; readonly backend: string; readonly weightCount: number; readonly trainableCount: number }
  | { readonly type: 'grads'; readonly loss: number; readonly grads: Float32Array }
  | { readonly type: 'warm' }
  | { readonly type: 'booted'; readonly backend: string }
  | { readonly type: 'probs'; readonly values: Float32Array }
  | { readonly type: 'error'; readonly message: string };
