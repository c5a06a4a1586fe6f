// The site agent: dials out to the coordinator, keeps a session open (reconnecting with
// exponential backoff), runs the tasks it receives, and sends only model-shaped tensors and
// metrics back.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  connectFederation, encodeEvaluationAggregate, isServiceError,
  type FederationClient, type SessionStream, type Task, type TrainTask, type EvaluateTask, type CosignRequest, type ProtocolError, type PhaseRequest, type FreezeNotice,
} from '../shared/protocol/index.js';
import { FreezeRegistry } from './freeze-registry.js';
import { createPublicKey, createHash, type KeyObject } from 'node:crypto';
import { summarise, type AggregateEvaluation } from '../shared/evaluation/aggregate.js';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SiteCosigner } from '../shared/audit/cosigner.js';
import { signUpdate } from '../shared/audit/update-signature.js';
import { tensorSetDigest } from '../shared/tensor/tensor-set.js';
import { privatiseUpdate } from '../shared/privacy/dp-update.js';
import { GaussianSampler } from '../shared/privacy/gaussian-noise.js';
import type { PrivacyGuard, OutboundKind, OutboundPayloads } from './privacy-guard.js';
import { pseudonymise } from './privacy-guard.js';
import { predictionsDigest } from '../shared/evaluation/predictions.js';
import { subgroupSchema } from '../shared/config/endpoint.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { Backoff, sleep } from './backoff.js';
import { classifyConnectionError, PermanentConnectionError } from './connection-errors.js';
import { downloadModel, uploadUpdate, type OutboundGuard } from './transfer.js';
import type { Trainer } from './trainer.js';
import { DEFAULT_SITE_POLICY, type SitePolicy } from '../shared/config/site.js';
import { PolicyRefusal, checkEvaluateTask, checkFreezeNotice, checkTrainTask } from './policy.js';
import { signJoin } from '../shared/audit/update-signature.js';

export interface AgentOptions {
  readonly studyId: string;
  readonly siteId: string;
  readonly address: string;
  readonly credentials: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
  readonly backoff: { initial_ms: number; max_ms: number };
  readonly version?: string;
  /** HMAC key for pseudonymising case ids in evaluation results (never leaves the site). */
  readonly pseudonymSecret?: string;
  /** Where this site records frozen models (FreezeRegistry); in memory when absent. */
  readonly freezeFile?: string;
  /** The site's private key (its certificate key): signs updates and co-signs the study log. */
  readonly siteKey?: KeyObject;
  /** Folder for the co-signing state and the pinned coordinator log key. */
  readonly stateDir?: string;
  /** Checks every outbound message against what may leave the site (blocks and logs the rest). */
  readonly guard?: PrivacyGuard;
  /** Handlers for phase requests by prefix ("tabular", "secagg"): they answer with sums or keys, never rows. */
  readonly phaseHandlers?: Readonly<Record<string, (req: PhaseRequest) => Promise<Uint8Array>>>;
  /** Secure aggregation (site-agent/secagg-handler.ts): masks updates when the task asks for it. */
  readonly secureAggregation?: { maskUpdate(model: string, round: number, delta: Float32Array, numExamples: number, clipNorm?: number): Uint8Array };
  /** What this site accepts whatever the coordinator asks (site.yaml `policy:`); default: DEFAULT_SITE_POLICY. */
  readonly policy?: SitePolicy;
}

/** How `run()` ended: the study ended (completed, stopped by an admin, failed) or this agent was shut down. */
export interface AgentEnd {
  readonly ended: 'completed' | 'stopped' | 'failed' | 'shutdown';
  readonly reason: string;
}

/** What the coordinator's Stop reason says about the end of the study. */
export function classifyStop(reason: string): AgentEnd['ended'] {
  if (/^study completed/.test(reason)) return 'completed';
  if (/^study failed/.test(reason)) return 'failed';
  return 'stopped';
}

export interface AgentStats {
  connects: number;
  tasks: number;
  uploads: number;
  rejected: number;
}

/** Cohorts that training or model selection may see; every other cohort is held out. */
export const NON_HELD_OUT = new Set(['train', 'validation']);

// INTERNAL too: a cut TCP connection can surface as an HTTP/2 stream reset (code 13) on the client.
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.ABORTED, grpc.status.INTERNAL, grpc.status.CANCELLED]);
/** Upload attempts before giving up on one update (with backoff up to backoff.max_ms between them). */
const UPLOAD_ATTEMPTS = 40;

export class SiteAgent {
  readonly client: FederationClient;
  readonly stats: AgentStats = { connects: 0, tasks: 0, uploads: 0, rejected: 0 };
  private readonly abort = new AbortController();
  private queue: Promise<void> = Promise.resolve();
  private stopReason: string | null = null;
  private readonly freezes: FreezeRegistry;
  /** The current session (status messages go to it; a task outlives a broken session). */
  private call: SessionStream | null = null;
  /** Tasks received (by id): a task sent again after a reconnect is not run twice (a failed evaluation may run again). */
  private readonly seenTasks = new Set<string>();

  constructor(private readonly opts: AgentOptions, private readonly trainer: Trainer, private readonly log: Logger) {
    this.freezes = new FreezeRegistry(opts.freezeFile ?? null);
    this.client = connectFederation(opts.address, opts.credentials, {
      'grpc-node.flow_control_window': 16 << 20,
      ...opts.channelOptions,
    });
  }

  /**
   * Runs until the coordinator says the study ended (Stop; resolves with its reason) or
   * `shutdown()` is called. Every other end of a session (the coordinator restarting, a socket
   * error at any point) is followed by a reconnect with backoff; the session is picked up again.
   * Rejects only with PermanentConnectionError (certificates, CA, an unlisted site).
   */
  async run(): Promise<string> {
    return (await this.runUntilEnd()).reason;
  }

  /** Like run(), saying how the study ended (for the exit status of `fl site`). */
  async runUntilEnd(): Promise<AgentEnd> {
    const backoff = new Backoff(this.opts.backoff.initial_ms, this.opts.backoff.max_ms);
    // Keeps the process alive while the agent runs: an agent never ends because the event loop
    // ran empty (which would exit silently with status 0 or 13).
    const alive = setInterval(() => undefined, 60_000);
    try {
      while (!this.abort.signal.aborted) {
        try {
          await this.session(() => backoff.reset());
          if (this.stopReason !== null) break;
        } catch (err) {
        if (err instanceof PermanentConnectionError) {
          this.log.error({ reason: err.problem.reason, advice: err.problem.advice }, err.problem.reason);
          throw err;
        }
        const e = (isServiceError(err) ? err : { code: grpc.status.UNKNOWN, details: (err as Error).message, message: (err as Error).message }) as grpc.ServiceError;
        const problem = classifyConnectionError(e, this.opts.address);
        if (problem.permanent) {
          // Not a network problem (certificate, CA, an unlisted site): retrying cannot help.
          this.log.error({ code: e.code, details: e.details, advice: problem.advice }, problem.reason);
          throw new PermanentConnectionError(problem, { cause: err });
        }
          if (this.abort.signal.aborted) break;
          const delay = backoff.next();
          this.log.warn({ reason: problem.reason, details: e.details, advice: problem.advice, retryInMs: delay, attempt: backoff.attempts }, 'session with the coordinator ended; reconnecting');
          await sleep(delay, this.abort.signal);
        }
      }
      await this.queue;
    } finally {
      clearInterval(alive);
      this.client.close();
    }
    if (this.stopReason !== null) return { ended: classifyStop(this.stopReason), reason: this.stopReason };
    return { ended: 'shutdown', reason: 'shut down by a signal' };
  }

  shutdown(): void {
    this.abort.abort();
  }

  private session(onWelcome: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = this.client.session();
      this.call = call;
      this.stats.connects++;
      const onAbort = () => call.cancel();
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
      const done = (err?: Error) => {
        this.abort.signal.removeEventListener('abort', onAbort);
        if (err && this.stopReason === null && !this.abort.signal.aborted) reject(err);
        else resolve();
      };
      call.onMessage((m) => {
        if (m.type === 'welcome') {
          onWelcome();
          this.log.info({ study: m.studyId, round: m.currentRound }, 'connected to coordinator');
        } else if (m.type === 'train' || m.type === 'evaluate') {
          const task = m;
          if (this.seenTasks.has(task.taskId)) {
            // Sent again after a reconnect while this agent still has it (queued, running or
            // done): it carries on, and does not run it a second time.
            this.log.info({ task: task.taskId }, 'task already in hand; continuing it');
            return;
          }
          this.seenTasks.add(task.taskId);
          this.queue = this.queue.then(() => this.runTask(task)).catch((err) => {
            // An evaluation that failed here may be asked again (the coordinator sends it again
            // when this site reconnects): then it runs again.
            if (task.type === 'evaluate') this.seenTasks.delete(task.taskId);
            this.log.error({ err: (err as Error).message, task: task.taskId }, 'task failed');
          });
        } else if (m.type === 'freeze') {
          const f = m;
          this.queue = this.queue.then(() => this.onFreeze(f)).catch((err) => {
            this.log.error({ err: (err as Error).message, logSeq: f.logSeq }, 'freeze notice not recorded');
          });
        } else if (m.type === 'cosign') {
          const req = m;
          this.queue = this.queue.then(() => this.cosign(req, call)).catch((err) => {
            this.log.warn({ err: (err as Error).message }, 'co-signing failed');
          });
        } else if (m.type === 'phase') {
          const req = m;
          this.queue = this.queue.then(() => this.phase(req, call)).catch((err) => {
            this.log.warn({ err: (err as Error).message, phase: req.phase }, 'phase request failed');
          });
        } else if (m.type === 'stop') {
          this.stopReason = m.reason || 'study stopped';
          this.log.info({ reason: this.stopReason, ended: classifyStop(this.stopReason) }, 'coordinator ended the study');
          call.end();
        }
      }, (err: ProtocolError) => {
        // A message this agent cannot accept (e.g. a malformed model config): the task fails, the session stays.
        this.log.error({ err: err.message, task: err.taskId }, 'refused a message from the coordinator');
        if (err.taskId !== undefined) this.status(err.taskId, 'failed', 0, err.message.slice(0, 200));
      });
      call.onError((err) => done(err));
      call.onEnd(() => done(this.stopReason === null ? Object.assign(new Error('session closed by the coordinator'), { code: grpc.status.UNAVAILABLE }) : undefined));
      const cohortCounts = this.trainer.cohortCounts();
      const train = cohortCounts.train;
      const hello = {
        studyId: this.opts.studyId, siteId: this.opts.siteId, agentVersion: this.opts.version ?? '0.1.0',
        backend: this.trainer.backend, cohortCounts,
        // The declared train-cohort size, signed: it bounds this site's example counts in the study log.
        ...(this.opts.siteKey && train !== undefined ? { joinSignature: signJoin(this.opts.siteKey, { study: this.opts.studyId, site: this.opts.siteId, train_cases: train }) } : {}),
      };
      try {
        this.check('hello', hello);
      } catch (err) {
        call.cancel();
        // The same Hello would be blocked on every reconnect: stop, loudly, instead of looping.
        reject(new PermanentConnectionError({
          permanent: true,
          reason: `this site's privacy guard blocked its own Hello: ${(err as Error).message}`,
          advice: 'this is a bug in fl site (a Hello carries only ids, cohort counts and a signature); report it with this log line',
        }, { cause: err }));
        return;
      }
      call.send({ type: 'hello', ...hello });
    });
  }

  /**
   * Answers a phase request with the handler registered for its prefix ("tabular.sums" →
   * "tabular"); a missing handler or a handler's refusal (e.g. fewer than min_cell cases) is sent
   * back as the reply's error, so the coordinator lists it as this site's failure.
   */
  private async phase(req: PhaseRequest, call: SessionStream): Promise<void> {
    const prefix = req.phase.slice(0, req.phase.indexOf('.'));
    const handler = this.opts.phaseHandlers?.[prefix];
    let payload: Uint8Array = new Uint8Array(0);
    let error = '';
    if (req.studyId !== this.opts.studyId) error = `phase request for study "${req.studyId}", this site is in "${this.opts.studyId}"`;
    else if (!handler) error = `this site has no handler for "${req.phase}"`;
    else {
      try {
        payload = await handler(req);
      } catch (err) {
        error = (err as Error).message.replace(/[^\x20-\x7e]/g, ' ').slice(0, 1000);
        this.log.warn({ phase: req.phase, model: req.model, reason: error }, 'refused a phase request');
      }
    }
    let reply = { exchangeId: req.exchangeId, phase: req.phase, payload, error };
    try {
      this.check('phase-reply', reply);
    } catch (err) {
      // What the handler produced may not leave the site; the coordinator is told why, not what.
      reply = { ...reply, payload: new Uint8Array(0), error: `blocked by this site's privacy guard: ${(err as Error).message.replace(/[^\x20-\x7e]/g, ' ').slice(0, 300)}` };
      this.check('phase-reply', reply);
    }
    call.send({ type: 'phase_reply', exchangeId: reply.exchangeId, payload: reply.payload, error: reply.error });
  }

  private get policy(): SitePolicy {
    return this.opts.policy ?? DEFAULT_SITE_POLICY;
  }

  /** Loudly: an error line at the site, and a refusal (not a crash) to the coordinator. */
  private refuse(taskId: string, err: PolicyRefusal): void {
    this.log.error({ task: taskId, reason: err.message }, 'refused a task under this site\'s policy');
    this.status(taskId, 'failed', 0, err.statusMessage);
  }

  private async onFreeze(f: FreezeNotice): Promise<void> {
    const taskId = `freeze-${f.logSeq}`;
    try {
      // Without a site key (insecure mode) nothing was co-signed and no log key pinned: there is no
      // trust to check a proof against, so the notice is taken as is (one-machine experiments only).
      if (this.opts.siteKey) checkFreezeNotice(this.policy, f, this.opts.studyId, await this.pinnedCoordinatorKey());
      else if (this.policy.require_freeze_proof) this.log.warn({ logSeq: f.logSeq }, 'insecure mode: freeze notice taken without checking its proof');
    } catch (err) {
      if (!(err instanceof PolicyRefusal)) throw err;
      this.refuse(taskId, err);
      return;
    }
    await this.freezes.record(f.models.map((x) => ({
      model: x.ref.model, digest: x.ref.digest, threshold: x.threshold, logSeq: f.logSeq, recordHash: f.recordHash,
    })));
    this.log.info({ models: f.models.map((x) => `${x.ref.model}@${x.ref.digest.slice(0, 12)}`), logSeq: f.logSeq }, 'recorded frozen models');
    this.status(taskId, 'done', 1, 'freeze recorded');
  }

  private async pinnedCoordinatorKey(): Promise<KeyObject | null> {
    if (!this.opts.stateDir) return null;
    try {
      return createPublicKey(await readFile(join(this.opts.stateDir, 'coordinator-log.pub'), 'utf8'));
    } catch {
      return null;
    }
  }

  /** Every outbound message passes the privacy guard first (when one is configured). */
  private check<K extends OutboundKind>(kind: K, payload: OutboundPayloads[K]): void {
    this.opts.guard?.guardOutbound(kind, payload);
  }

  private status(taskId: string, state: 'running' | 'done' | 'failed', progress: number, message: string): void {
    const call = this.call;
    if (!call) return;
    try {
      const value = { taskId, state, progress: Math.max(0, Math.min(1, progress)), message, metrics: {} };
      this.check('status', value);
      call.send({ type: 'status', ...value });
    } catch {
      // session gone; progress is best-effort
    }
  }

  private async runTask(task: Task): Promise<void> {
    this.stats.tasks++;
    // The site's policy first: a refused task is logged here and reported as a refusal.
    try {
      if (task.type === 'train') checkTrainTask(this.policy, task);
      else checkEvaluateTask(this.policy, task);
    } catch (err) {
      if (!(err instanceof PolicyRefusal)) throw err;
      this.refuse(task.taskId, err);
      return;
    }
    if (task.type === 'train') {
      await this.train(task);
    } else {
      try {
        await this.withRetries(`task ${task.taskId}`, () => this.evaluate(task));
      } catch (err) {
        this.status(task.taskId, 'failed', 0, (err as Error).message.slice(0, 200));
        throw err;
      }
    }
  }

  /**
   * Runs a task step again after a transient transport error (the coordinator restarting, a cut
   * connection during a download or a submission), with backoff, until it succeeds, fails for
   * another reason, or the agent stops. A refusal (invalid, not in the round) is not retried.
   */
  private async withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const backoff = new Backoff(this.opts.backoff.initial_ms, this.opts.backoff.max_ms);
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        const code = isServiceError(err) ? err.code : null;
        if (code === null || !RETRYABLE.has(code) || this.abort.signal.aborted || this.stopReason !== null) throw err;
        const delay = backoff.next();
        this.log.warn({ what, code, details: (err as grpc.ServiceError).details, retryInMs: delay }, 'transfer interrupted; retrying');
        await sleep(delay, this.abort.signal);
      }
    }
  }

  private async train(t: TrainTask): Promise<void> {
    const task = t;
    const configs = t.modelConfigs;
    const n = t.models.length;
    for (let i = 0; i < n; i++) {
      const ref = t.models[i]!;
      const spec = configs[ref.model];
      if (!spec) throw new Error(`task ${task.taskId}: no architecture config for model "${ref.model}"`);
      const global = await this.withRetries(`download of ${ref.model}`, () => downloadModel(this.client, { studyId: task.studyId, model: ref.model, version: ref.version, expectDigest: ref.digest }, { onBulkFallback: this.bulkFallback }));
      this.opts.guard?.setModelSpec(ref.model, global.set.infos);
      this.status(task.taskId, 'running', i / n, `training ${ref.model}`);
      const started = Date.now();
      const result = await this.trainer.train({
        round: task.round, model: ref.model, ...(spec.family ? { family: spec.family } : {}), architecture: spec.architecture, config: { ...spec.config }, ...(spec.endpoint ? { endpoint: spec.endpoint } : {}), global: global.set,
        epochs: t.epochs, batchSize: t.batchSize, learningRate: t.learningRate, seed: t.seed, strategyParams: { ...t.strategyParams },
        onProgress: (f, msg) => this.status(task.taskId, 'running', (i + f) / n, `${ref.model}: ${msg}`),
      });
      const w = result.weights.data;
      const g = global.set.data;
      // The update (trained minus global) is computed in the trained weights' own array: it is not
      // used afterwards, and a model-sized allocation per round is spared (LocalTrainResult). Not
      // when a trainer handed back memory it shares with the global model.
      const delta = w.buffer !== g.buffer && w.length === g.length ? w : new Float32Array(g.length);
      for (let k = 0; k < delta.length; k++) delta[k] = w[k]! - g[k]!;
      let update: TensorSet = { infos: global.set.infos, data: delta };
      const metrics: Record<string, number> = { ...result.metrics, train_seconds: (Date.now() - started) / 1000 };
      const clip = t.strategyParams.dp_clip;
      const sigma = t.strategyParams.dp_noise_multiplier;
      if (clip !== undefined && sigma !== undefined) {
        // Differential privacy at the site: clip to L2 norm C, add N(0, (sigma*C)^2) noise.
        const dp = privatiseUpdate(delta, { clip, noiseMultiplier: sigma }, new GaussianSampler());
        metrics.dp_norm_before_clip = dp.normBeforeClip;
        metrics.dp_clipped = dp.clipped ? 1 : 0;
      }
      let digest: string;
      if (t.strategyParams.secagg === 1) {
        // Secure aggregation: only the masked ring vector leaves the site, never the plain update.
        const sa = this.opts.secureAggregation;
        if (!sa) throw new Error(`task ${task.taskId}: the study uses secure aggregation, but this site has no secure-aggregation handler; nothing uploaded`);
        const masked = sa.maskUpdate(ref.model, task.round, delta, result.numExamples, t.strategyParams.secagg_clip_norm);
        update = { infos: global.set.infos, data: new Float32Array(masked.buffer, masked.byteOffset, masked.byteLength / 4) };
        digest = this.opts.guard?.approveMaskedUpdate(ref.model, update) ?? tensorSetDigest(update);
      } else {
        digest = this.opts.guard?.approveUpdate(ref.model, update) ?? tensorSetDigest(update);
      }
      const updateId = `${this.opts.siteId}-${ref.model}-r${task.round}-${randomUUID().slice(0, 8)}`;
      // The site's signature over what it sends, so the log proves which site sent which update.
      const signature = this.opts.siteKey
        ? signUpdate(this.opts.siteKey, { study: task.studyId, round: task.round, model: ref.model, site: this.opts.siteId, update_id: updateId, num_examples: result.numExamples, digest })
        : '';
      await this.upload({
        studyId: task.studyId, siteId: this.opts.siteId, model: ref.model, round: task.round, modelVersion: ref.version,
        numExamples: result.numExamples, updateId, metrics, taskId: task.taskId, signature,
      }, update, digest);
    }
    this.status(task.taskId, 'done', 1, 'all models uploaded');
  }

  private async evaluate(t: EvaluateTask): Promise<void> {
    const task = t;
    if (!this.opts.pseudonymSecret) throw new Error('evaluation needs pseudonym_secret in the site config (case ids never leave the site)');
    const heldOut = t.cohorts.filter((c) => !NON_HELD_OUT.has(c));
    if (heldOut.length > 0 && !t.heldOut) throw new Error(`refusing to score held-out cohort(s) ${heldOut.join(', ')} outside a held-out evaluation`);
    const configs = t.modelConfigs;
    const aggregate = t.privacy === 'aggregate';
    const summaries: AggregateEvaluation = { v: 1, cohorts: {} };
    const byCase = new Map<string, { caseId: string; cohort: string; label: 0 | 1; scores: Record<string, number> }>();
    // Subgroup flags (issue 16 item 2): one true/false per declared subgroup on each prediction row,
    // from the manifest; never in privacy "aggregate" mode (nothing per case leaves the site then).
    const subgroups = aggregate ? [] : t.subgroups.map((s) => subgroupSchema.parse(s));
    this.opts.guard?.setSubgroups(subgroups.map((s) => s.name));
    let flags: Map<string, Record<string, boolean>> | null = null;
    if (subgroups.length) {
      if (!this.trainer.subgroupFlags) throw new Error(`task ${task.taskId}: the study declares subgroups, but this site's trainer cannot read manifest columns`);
      flags = await this.trainer.subgroupFlags(subgroups);
    }
    for (const fm of t.models) {
      const ref = fm.ref;
      if (heldOut.length > 0) {
        const frozen = this.freezes.frozen(ref.model, ref.digest);
        if (!frozen) {
          throw new Error(`refusing held-out evaluation: model "${ref.model}" digest ${ref.digest.slice(0, 16)}... was never frozen`);
        }
      }
      const spec = configs[ref.model];
      if (!spec) throw new Error(`task ${task.taskId}: no architecture config for model "${ref.model}"`);
      const g = await downloadModel(this.client, { studyId: task.studyId, model: ref.model, version: ref.version, expectDigest: ref.digest }, { onBulkFallback: this.bulkFallback });
      this.opts.guard?.setModelSpec(ref.model, g.set.infos);
      this.status(task.taskId, 'running', 0, `scoring ${t.cohorts.join('+')} with ${ref.model}`);
      const scored = await this.trainer.evaluate({ model: ref.model, ...(spec.family ? { family: spec.family } : {}), architecture: spec.architecture, config: { ...spec.config }, ...(spec.endpoint ? { endpoint: spec.endpoint } : {}), weights: g.set, cohorts: [...t.cohorts], modelConfigs: configs });
      if (aggregate) {
        // Only counts on a threshold grid leave the site: no score, no pseudonym.
        for (const cohort of t.cohorts) {
          const cases = scored.filter((c) => c.cohort === cohort);
          (summaries.cohorts[cohort] ??= {})[ref.model] = summarise(cases.map((c) => c.label), cases.map((c) => c.score), heldOut.length > 0 ? fm.threshold : undefined);
        }
        continue;
      }
      // A hierarchical endpoint's deeper levels label the same case differently: their rows get
      // their own pseudonym (level named in the HMAC input), so each level is evaluated on its own cases.
      const chain = spec.endpoint;
      const level = chain && chain.length > 1 ? String(chain[chain.length - 1]!.name) : null;
      for (const c of scored) {
        const key = pseudonymise(level ? `${c.caseId}\u0000level:${level}` : c.caseId, this.opts.pseudonymSecret);
        const row = byCase.get(key) ?? { caseId: c.caseId, cohort: c.cohort, label: c.label, scores: {} };
        row.scores[ref.model] = c.score;
        byCase.set(key, row);
      }
    }
    const aggregateJson = aggregate ? encodeEvaluationAggregate(summaries, `site "${this.opts.siteId}"`) : '';
    const predictions = [...byCase.entries()]
      .map(([caseKey, r]) => ({ caseKey, cohort: r.cohort, label: r.label, scores: r.scores, ...(flags ? { subgroups: { ...flags.get(r.caseId) } } : {}) }))
      .sort((a, b) => (a.cohort === b.cohort ? a.caseKey.localeCompare(b.caseKey) : a.cohort.localeCompare(b.cohort)));
    const digest = aggregate ? createHash('sha256').update(aggregateJson).digest('hex') : predictionsDigest(predictions);
    const BATCH = 500;
    const batches = [];
    for (let i = 0; i < Math.max(1, predictions.length); i += BATCH) {
      const batch = {
        studyId: task.studyId, siteId: this.opts.siteId, taskId: task.taskId,
        predictions: predictions.slice(i, i + BATCH), aggregateJson: i === 0 ? aggregateJson : '', digest,
      };
      this.check('evaluation', batch); // before anything is sent
      batches.push(batch);
    }
    await this.client.submitEvaluation(batches);
    this.log.info({ task: task.taskId, cases: predictions.length, cohorts: t.cohorts, digest: digest.slice(0, 12) }, 'evaluation submitted');
    this.status(task.taskId, 'done', 1, 'evaluation submitted');
  }

  /**
   * Co-signs a tree head of the study log after checking it is signed by the coordinator's log key
   * (pinned on first use, or given in the config) and extends the last head this site signed.
   */
  private async cosign(req: CosignRequest, call: SessionStream): Promise<void> {
    const { siteKey, stateDir } = this.opts;
    if (!siteKey || !stateDir) return; // no key (insecure mode): nothing to sign with
    const pinPath = join(stateDir, 'coordinator-log.pub');
    let pinned: string;
    try {
      pinned = await readFile(pinPath, 'utf8');
    } catch {
      await mkdir(stateDir, { recursive: true });
      await writeFile(pinPath, req.coordinatorPublicKey, { mode: 0o644 });
      pinned = req.coordinatorPublicKey;
      this.log.info({ pinPath }, 'pinned the coordinator study-log key (trust on first use)');
    }
    const cosigner = await SiteCosigner.open(join(stateDir, 'cosign-state.json'), {
      site: this.opts.siteId, study: this.opts.studyId, siteKey, coordinatorKey: createPublicKey(pinned),
    });
    let response;
    try {
      if (pinned.trim() !== req.coordinatorPublicKey.trim()) throw new Error('the study log is signed with a different key than the one this site pinned');
      const { signature } = await cosigner.cosign(req.head, req.proof);
      response = { head: req.head, signature, error: '', lastSize: req.head.tree_size };
    } catch (err) {
      response = { head: req.head, signature: '', error: (err as Error).message.slice(0, 200), lastSize: cosigner.lastSigned()?.tree_size ?? 0 };
      this.log.error({
        reason: response.error,
        advice: 'do not trust this coordinator\'s study log: keep work_dir/cosign-state.json and ask the auditor to run `fl audit verify --ca study-ca.pem --strict --cosign-state DIR...` against it',
      }, 'REFUSED to co-sign the study log');
    }
    call.send({ type: 'cosignature', ...response });
  }

  /** An offered bulk channel that could not be opened: said once per fallback period (transfers go on the call meanwhile). */
  private readonly bulkFallback = (reason: string): void => {
    this.log.warn({ reason }, 'the coordinator\'s bulk channel could not be opened; model transfers go on the gRPC call for the next 10 minutes (slower; allow outbound TCP to the coordinator\'s bulk_port)');
  };

  private async upload(header: Parameters<typeof uploadUpdate>[1], set: TensorSet, digest: string): Promise<void> {
    const backoff = new Backoff(this.opts.backoff.initial_ms, this.opts.backoff.max_ms);
    let resumeOffset = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const receipt = await uploadUpdate(this.client, header, set, {
          digest, resumeOffset, ...(this.opts.guard ? { guard: this.opts.guard as unknown as OutboundGuard } : {}),
          onBulkFallback: this.bulkFallback,
        });
        this.stats.uploads++;
        this.log.info({ model: header.model, round: header.round, digest: receipt.digest.slice(0, 12), message: receipt.message }, 'update accepted');
        return;
      } catch (err) {
        const e = isServiceError(err) ? err : null;
        if (!e || !RETRYABLE.has(e.code) || attempt >= UPLOAD_ATTEMPTS || this.abort.signal.aborted || this.stopReason !== null) {
          this.stats.rejected++;
          this.log.warn({ model: header.model, round: header.round, code: e?.code, details: e?.details ?? (err as Error).message }, 'update not accepted');
          return;
        }
        await sleep(backoff.next(), this.abort.signal);
        // Resume from the last block the coordinator verified (or learn it was accepted after all).
        // The channel may still be reconnecting (a status call then fails at once): ask again
        // with backoff rather than restarting the upload from byte 0.
        let status: Awaited<ReturnType<FederationClient['uploadStatus']>> | null = null;
        for (let ask = 0; ask < 5 && !status && !this.abort.signal.aborted; ask++) {
          status = await this.client
            .uploadStatus({ studyId: header.studyId, siteId: header.siteId, updateId: header.updateId, model: header.model, round: header.round })
            .catch((err: unknown) => {
              this.log.debug({ model: header.model, round: header.round, err: (err as Error).message }, 'upload status not available yet');
              return null;
            });
          if (!status) await sleep(backoff.next(), this.abort.signal);
        }
        if (status?.accepted) {
          this.stats.uploads++;
          this.log.info({ model: header.model, round: header.round }, 'update accepted (receipt was lost)');
          return;
        }
        resumeOffset = status?.receivedBytes ?? 0;
        if (resumeOffset > 0) this.log.info({ model: header.model, round: header.round, resumeOffset }, 'resuming the upload');
        else this.log.warn({ model: header.model, round: header.round, code: e.code, details: e.details, attempt: attempt + 1 }, 'upload interrupted; sending it again');
      }
    }
  }
}
