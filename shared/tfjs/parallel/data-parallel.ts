// Data-parallel training on one machine: the batch is split into shards, the main thread computes
// the gradients of its shard while replica worker threads compute theirs, the gradients are
// averaged (weighted by shard size, so the result equals the full-batch mean-loss gradient) and
// the caller's optimizer applies them to the main model. Workers receive every weight (trainable
// and not) before each step, so all replicas always compute on the main model's current state;
// batch-norm moving statistics are those the main thread's shard produces.
//
// With `keepWarm`, dispose() parks the workers (unref'd, so they keep no process alive) instead of
// ending them, and the next trainer for the same architecture, backend and replica count takes
// them back: a site agent pays worker start-up (wasm initialisation, model build) once, not every
// round. closeIdleReplicas() ends the parked workers. bootReplicas() loads tfjs in workers before
// any model is known (a site agent's start), prestartReplicas() builds and parks a set (with a
// warm-up pass in each worker) before any trainer asks for one (when the agent first opens a
// model), so its first round does not wait for start-up either. reseed() makes a reused worker's
// dropout masks those of a fresh one; predict() scores a batch over the same replicas (validation
// at the end of a round).
//
// Messages stay plain postMessage: per step and worker the weights are copied (DDFN: 50 401 floats,
// 197 KB), inputs and gradients are transferred without a copy; measured round trip 0.4 ms on a
// loaded 2-core machine against a ~100 ms step, so shared memory would gain under 0.5%.
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { ModelConfigInput } from '../../models/config.js';
import type { BackendChoice } from '../backend.js';
import type { FromReplica, ToReplica } from './protocol.js';
import { flatSize, flattenWeights, shardGradients } from './shard-gradients.js';

export interface DataParallelOptions {
  /** The main replica; its weights are the ones trained. */
  readonly model: tf.LayersModel;
  /** Registry name and config that rebuild `model`'s architecture in the workers. */
  readonly architecture: { readonly name: string; readonly config: ModelConfigInput };
  /** Applies the averaged gradients (trainBatch); absent for a trainer that only predicts. */
  readonly optimizer?: tf.Optimizer;
  /** Replicas including the main thread (default: available cores). 1 = no workers. */
  readonly replicas?: number;
  /** Backend of the worker replicas (default wasm). */
  readonly backend?: BackendChoice;
  /** Park the workers on dispose() for the next trainer of the same architecture (default false). */
  readonly keepWarm?: boolean;
}

/** Where the compiled worker lives (tests run the TypeScript sources; the worker runs from dist/). */
function workerUrl(): URL {
  const here = new URL('./replica-worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return here;
  const src = fileURLToPath(here);
  const root = src.slice(0, src.lastIndexOf('/shared/tfjs/parallel/'));
  return new URL(`file://${root}/dist/shared/tfjs/parallel/replica-worker.js`);
}

class Replica {
  private pending: { resolve: (m: FromReplica) => void; reject: (e: Error) => void } | undefined;
  failure: Error | undefined;
  /** Weights of the model the worker built (from its 'ready'). */
  weightCount = -1;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: FromReplica) => {
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (m.type === 'error') p.reject(new Error(`training replica failed: ${m.message}`));
      else p.resolve(m);
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`training replica exited (code ${code})`)));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }

  /** A request is in flight (its answer has not arrived). */
  get busy(): boolean {
    return this.pending !== undefined;
  }

  request(msg: ToReplica, transfer: ArrayBuffer[] = []): Promise<FromReplica> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error('replica is busy'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg, transfer);
    });
  }
}

/** Parked worker sets by architecture, backend and worker count (see keepWarm). */
const parked = new Map<string, Replica[][]>();
/** Worker sets being started by prestartReplicas, by the same key. */
const starting = new Map<string, Promise<void>>();

function poolKey(opts: Pick<DataParallelOptions, 'architecture' | 'backend'>, workers: number): string {
  return JSON.stringify([opts.architecture.name, opts.architecture.config, opts.backend ?? 'wasm', workers]);
}

/** Booted workers (tfjs loaded, backend selected, no model yet) by backend (bootReplicas). */
const booted = new Map<string, Replica[]>();
const booting = new Map<string, Promise<void>>();

/**
 * Starts workers that load tfjs and select the backend before any model is known (~0.6 s each,
 * nearly all of a worker's start-up; building a model afterwards takes ~20 ms), and keeps them
 * (unref'd) until a trainer or prestartReplicas needs workers on that backend. A site agent calls
 * it when it starts, with its training threads minus one. Resolves when they are ready; a failed
 * boot leaves nothing behind (trainers then start their own workers).
 */
export function bootReplicas(o: { readonly backend?: BackendChoice; readonly count: number }): Promise<void> {
  const backend = o.backend ?? 'wasm';
  if (!Number.isInteger(o.count) || o.count < 0) return Promise.reject(new Error(`count must be a non-negative integer, got ${o.count}`));
  const inFlight = booting.get(backend);
  if (inFlight) return inFlight;
  const missing = o.count - (booted.get(backend)?.length ?? 0);
  if (missing <= 0) return Promise.resolve();
  const p = (async () => {
    const set: Replica[] = [];
    try {
      for (let i = 0; i < missing; i++) set.push(new Replica(new Worker(workerUrl())));
      const answers = await Promise.all(set.map((r) => r.request({ type: 'boot', backend })));
      for (const a of answers) if (a.type !== 'booted') throw new Error(`replica answered ${a.type} to boot`);
    } catch (err) {
      await Promise.all(set.map((r) => r.worker.terminate()));
      throw err;
    }
    set.forEach((r) => r.worker.unref());
    booted.set(backend, [...(booted.get(backend) ?? []), ...set]);
  })().finally(() => booting.delete(backend));
  booting.set(backend, p);
  return p;
}

/** Booted workers waiting for a model. */
export function bootedReplicaCount(): number {
  return [...booted.values()].reduce((n, s) => n + s.length, 0);
}

/** Up to `count` booted workers for `backend` (after any boot in flight). */
async function takeBooted(backend: string, count: number): Promise<Replica[]> {
  await booting.get(backend)?.catch(() => undefined);
  const pool = (booted.get(backend) ?? []).filter((r) => !r.failure);
  const taken = pool.splice(0, count);
  if (pool.length) booted.set(backend, pool);
  else booted.delete(backend);
  taken.forEach((r) => r.worker.ref());
  return taken;
}

/**
 * `count` workers, each building the architecture on the backend (booted ones first, then new
 * ones); ends them all if one fails.
 */
async function startWorkers(opts: Pick<DataParallelOptions, 'architecture' | 'backend'>, count: number): Promise<Replica[]> {
  const workers: Replica[] = [];
  try {
    workers.push(...(await takeBooted(opts.backend ?? 'wasm', count)));
    while (workers.length < count) workers.push(new Replica(new Worker(workerUrl())));
    const ready = await Promise.all(
      workers.map((w) =>
        w.request({ type: 'init', model: opts.architecture.name, modelConfig: opts.architecture.config, backend: opts.backend ?? 'wasm' }),
      ),
    );
    ready.forEach((r, i) => {
      if (r.type !== 'ready') throw new Error(`replica answered ${r.type} to init`);
      workers[i]!.weightCount = r.weightCount;
    });
    return workers;
  } catch (err) {
    await Promise.all(workers.map((w) => w.worker.terminate()));
    throw err;
  }
}

export interface PrestartOptions {
  readonly architecture: DataParallelOptions['architecture'];
  /** Replicas including the main thread (workers started: replicas - 1). */
  readonly replicas: number;
  readonly backend?: BackendChoice;
  /** Samples of a warm-up gradient pass in each worker (0: none; default 2). */
  readonly warmupSamples?: number;
}

/**
 * Starts and parks a worker set for a later keepWarm trainer of this architecture, unless one is
 * parked or being started already: a site agent calls it as soon as it knows a study's model, so
 * the first round's trainer finds its workers built and their kernels warmed (a trainer created
 * meanwhile waits for this start rather than starting a second set). Resolves when the set is
 * parked; rejects if a worker fails (nothing is parked then).
 */
export function prestartReplicas(o: PrestartOptions): Promise<void> {
  const workers = o.replicas - 1;
  if (!Number.isInteger(o.replicas) || o.replicas < 1) return Promise.reject(new Error(`replicas must be a positive integer, got ${o.replicas}`));
  const key = poolKey(o, workers);
  if (workers === 0 || parked.get(key)?.length) return Promise.resolve();
  const inFlight = starting.get(key);
  if (inFlight) return inFlight;
  const p = (async () => {
    const set = await startWorkers(o, workers);
    const samples = o.warmupSamples ?? 2;
    try {
      if (samples > 0) {
        const answers = await Promise.all(set.map((r) => r.request({ type: 'warmup', count: samples })));
        for (const a of answers) if (a.type !== 'warm') throw new Error(`replica answered ${a.type} to a warm-up`);
      }
    } catch (err) {
      await Promise.all(set.map((r) => r.worker.terminate()));
      throw err;
    }
    set.forEach((r) => r.worker.unref());
    parked.set(key, [...(parked.get(key) ?? []), set]);
  })().finally(() => starting.delete(key));
  starting.set(key, p);
  return p;
}

/** Ends every parked or booted worker (a site agent's shutdown, tests). */
export async function closeIdleReplicas(): Promise<void> {
  const sets = [...parked.values()].flat();
  parked.clear();
  await Promise.all([...booting.values()].map((p) => p.catch(() => undefined)));
  sets.push(...booted.values());
  booted.clear();
  await Promise.all(sets.flat().map(async (r) => {
    r.worker.postMessage({ type: 'close' } satisfies ToReplica);
    await r.worker.terminate();
  }));
}

/** Worker threads currently parked for reuse. */
export function idleReplicaCount(): number {
  return [...parked.values()].reduce((n, sets) => n + sets.reduce((m, s) => m + s.length, 0), 0);
}

/** Where a data-parallel trainer's steps spent their main-thread wall time (milliseconds, summed over steps). */
export interface StepTimes {
  steps: number;
  /** Reading inputs and weights, slicing shards and posting them to the workers. */
  sendMs: number;
  /** Gradients of the main thread's own shard. */
  mainShardMs: number;
  /** Waiting for the workers after the main shard (the caller's work in that time included). */
  waitMs: number;
  /** Averaging the gradients and the optimizer update. */
  applyMs: number;
}

export class DataParallelTrainer {
  private disposed = false;
  private dropoutSeed = 0;
  private steps = 0;
  /** Main-thread time split of the steps so far (trainBatch). */
  readonly times: StepTimes = { steps: 0, sendMs: 0, mainShardMs: 0, waitMs: 0, applyMs: 0 };

  private constructor(
    private readonly opts: DataParallelOptions,
    private readonly replicas: Replica[],
    /** Whether the workers came from the parked pool (started by an earlier trainer). */
    readonly warm: boolean,
  ) {}

  /**
   * Starts replicas-1 worker threads, each building the architecture on the chosen backend, or
   * (keepWarm) takes parked ones that already have.
   */
  static async create(opts: DataParallelOptions): Promise<DataParallelTrainer> {
    const n = opts.replicas ?? availableParallelism();
    if (!Number.isInteger(n) || n < 1) throw new Error(`replicas must be a positive integer, got ${n}`);
    const expected = flatSize(opts.model.weights);
    if (opts.keepWarm && n > 1) {
      const key = poolKey(opts, n - 1);
      // a set being started for this architecture (prestartReplicas) is waited for, not duplicated
      await starting.get(key)?.catch(() => undefined);
      const sets = parked.get(key);
      const set = sets?.pop();
      if (sets?.length === 0) parked.delete(key);
      if (set && set.every((r) => !r.failure && !r.busy && r.weightCount === expected)) {
        set.forEach((r) => r.worker.ref());
        return new DataParallelTrainer(opts, set, true);
      }
      // a parked worker died (or built another model): end the set and start afresh
      if (set) await Promise.all(set.map((r) => r.worker.terminate()));
    }
    const workers = await startWorkers(opts, n - 1);
    const wrong = workers.find((r) => r.weightCount !== expected);
    if (wrong) {
      await Promise.all(workers.map((w) => w.worker.terminate()));
      throw new Error(`replica built a different model (${wrong.weightCount} weights, main has ${expected})`);
    }
    return new DataParallelTrainer(opts, workers, false);
  }

  get replicaCount(): number {
    return this.replicas.length + 1;
  }

  /**
   * Restarts the replicas' dropout streams (call with the local training's seed, as the main model's
   * dropout is reseeded): the masks of the following steps depend only on `seed`, the step index and
   * the replica, so a reused worker computes what a fresh one would.
   */
  reseed(seed: number): void {
    this.dropoutSeed = seed >>> 0;
    this.steps = 0;
  }

  /**
   * One optimisation step on a batch: inputs (one [N, H, W, C] tensor per model input) and labels
   * [N, 1] in {0, 1}. Returns the batch's mean loss. The caller keeps ownership of its tensors.
   */
  async trainBatch(inputs: tf.Tensor[], labels: tf.Tensor): Promise<number> {
    const { model, optimizer } = this.opts;
    if (!optimizer) throw new Error('DataParallelTrainer: trainBatch needs an optimizer');
    const N = labels.shape[0]!;
    if (inputs.length !== model.inputs.length) throw new Error(`model has ${model.inputs.length} inputs, got ${inputs.length}`);
    for (const x of inputs) if (x.shape[0] !== N) throw new Error(`input batch ${x.shape[0]} differs from label batch ${N}`);
    const shards = Math.min(this.replicaCount, N);
    const bounds = Array.from({ length: shards + 1 }, (_, i) => Math.round((i * N) / shards));
    const work: Promise<FromReplica>[] = [];
    const t0 = performance.now();
    const step = this.steps++;
    if (shards > 1) {
      const weights = flattenWeights(model.weights);
      const inputData = inputs.map((x) => x.dataSync() as Float32Array);
      const labelData = labels.dataSync() as Float32Array;
      for (let s = 1; s < shards; s++) {
        const lo = bounds[s]!;
        const hi = bounds[s + 1]!;
        const per = inputData.map((d, i) => d.slice((lo * d.length) / N, (hi * d.length) / N));
        const dropoutSeed = (Math.imul(this.dropoutSeed ^ 0x85ebca6b, 0x9e3779b1) + Math.imul(step + 1, 0xc2b2ae35) + Math.imul(s, 0x27d4eb2f)) >>> 0;
        const msg: ToReplica = { type: 'step', weights: weights.slice(), inputs: per, labels: labelData.slice(lo, hi), count: hi - lo, dropoutSeed };
        work.push(this.replicas[s - 1]!.request(msg, [...per.map((p) => p.buffer as ArrayBuffer)]));
      }
    }
    const t1 = performance.now();
    const n0 = bounds[1]!;
    let loss = 0;
    let mainGrads: tf.Tensor[];
    try {
      mainGrads = tf.tidy(() => {
        const xs = inputs.map((x) => (shards > 1 ? x.slice(0, n0) : x));
        const ys = shards > 1 ? labels.slice(0, n0) : labels;
        const r = shardGradients(model, xs, ys);
        loss = (r.loss * n0) / N;
        return r.grads;
      });
    } catch (err) {
      // let the replicas finish their shard, so they are idle (and can be parked) afterwards
      await Promise.allSettled(work);
      throw err;
    }
    const t2 = performance.now();
    let results: FromReplica[];
    try {
      results = await Promise.all(work);
    } catch (err) {
      tf.dispose(mainGrads);
      throw err;
    }
    const t3 = performance.now();
    const vars = model.trainableWeights;
    const combined = tf.tidy(() => {
      const acc = mainGrads.map((g) => (shards > 1 ? g.mul(n0 / N) : g.clone()));
      results.forEach((r, k) => {
        if (r.type !== 'grads') throw new Error(`replica answered ${r.type} to a step`);
        const w = (bounds[k + 2]! - bounds[k + 1]!) / N;
        loss += r.loss * w;
        let off = 0;
        vars.forEach((v, i) => {
          const size = acc[i]!.size;
          acc[i] = acc[i]!.add(tf.tensor(r.grads.subarray(off, off + size), v.shape as number[], 'float32').mul(w));
          off += size;
        });
      });
      return acc;
    });
    tf.dispose(mainGrads);
    const named: tf.NamedTensorMap = {};
    vars.forEach((v, i) => {
      named[(v as unknown as { val: tf.Variable }).val.name] = combined[i]!;
    });
    optimizer.applyGradients(named);
    tf.dispose(Object.values(named));
    const t4 = performance.now();
    this.times.steps++;
    this.times.sendMs += t1 - t0;
    this.times.mainShardMs += t2 - t1;
    this.times.waitMs += t3 - t2;
    this.times.applyMs += t4 - t3;
    return loss;
  }

  /**
   * Probabilities of the main model (inference: batch-norm moving statistics, no dropout) for a
   * batch (one [N, H, W, C] tensor per model input), its rows split over the replicas as a
   * training step splits them; each worker computes with the main model's current weights.
   */
  async predict(inputs: tf.Tensor[]): Promise<Float32Array> {
    const { model } = this.opts;
    if (inputs.length !== model.inputs.length) throw new Error(`model has ${model.inputs.length} inputs, got ${inputs.length}`);
    const N = inputs[0]!.shape[0]!;
    const out = new Float32Array(N);
    if (N === 0) return out;
    const shards = Math.min(this.replicaCount, N);
    const bounds = Array.from({ length: shards + 1 }, (_, i) => Math.round((i * N) / shards));
    const work: Promise<FromReplica>[] = [];
    if (shards > 1) {
      const weights = flattenWeights(model.weights);
      const inputData = inputs.map((x) => x.dataSync() as Float32Array);
      for (let s = 1; s < shards; s++) {
        const lo = bounds[s]!;
        const hi = bounds[s + 1]!;
        const per = inputData.map((d) => d.slice((lo * d.length) / N, (hi * d.length) / N));
        work.push(this.replicas[s - 1]!.request({ type: 'predict', weights: weights.slice(), inputs: per, count: hi - lo }, per.map((p) => p.buffer as ArrayBuffer)));
      }
    }
    const n0 = bounds[1]!;
    try {
      const p = tf.tidy(() => (model.predict(inputs.map((x) => (shards > 1 ? x.slice(0, n0) : x))) as tf.Tensor).reshape([n0]));
      out.set(p.dataSync() as Float32Array, 0);
      p.dispose();
    } catch (err) {
      await Promise.allSettled(work);
      throw err;
    }
    const results = await Promise.all(work);
    results.forEach((r, k) => {
      if (r.type !== 'probs') throw new Error(`replica answered ${r.type} to a prediction`);
      out.set(r.values, bounds[k + 1]!);
    });
    return out;
  }

  /** Stops the worker threads, or parks them (keepWarm) when every one is healthy. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.opts.keepWarm && this.replicas.length > 0 && this.replicas.every((r) => !r.failure && !r.busy)) {
      const key = poolKey(this.opts, this.replicas.length);
      this.replicas.forEach((r) => r.worker.unref());
      parked.set(key, [...(parked.get(key) ?? []), this.replicas]);
      return;
    }
    await Promise.all(
      this.replicas.map(async (r) => {
        r.worker.postMessage({ type: 'close' } satisfies ToReplica);
        await r.worker.terminate();
      }),
    );
  }
}
