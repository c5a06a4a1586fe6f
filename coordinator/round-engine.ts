// The round engine: waits for sites, runs rounds with a deadline and a quorum, admits and
// accepts updates, aggregates each model with its strategy, and checkpoints every global model.
//
// Every round ends in a definite state: completed, completed without some sites (quorum reached
// by the deadline), or failed (quorum missed) with the reason. A site that disconnects or misses
// the deadline is left out of that round's aggregate; it rejoins at the next round.
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { buildTrainTask, type CoordinatorMessage, type ModelConfigs, type UpdateHeader } from '../shared/protocol/index.js';
import type { StudyConfig } from '../shared/config/study.js';
import type { ModelStore } from './model-store.js';
import type { SiteRegistry } from './site-registry.js';
import type { EventBus, RoundState } from '../shared/events/events.js';
import type { Admission, ReceivedUpdate } from './update-receiver.js';
import { invalid, precondition, duplicate } from './errors.js';
import type { AggregateResult, Failure, Strategy, StrategyState } from '../shared/strategies/types.js';
import { QuorumError } from '../shared/strategies/wrappers.js';
import type { PhaseExchange } from './phase-exchange.js';
import { fileUpdateReader } from '../shared/aggregate/reader.js';
import { readTensorFileLayout } from '../shared/tensor/file.js';

export interface AcceptedUpdate {
  readonly round: number;
  readonly model: string;
  readonly site: string;
  readonly updateId: string;
  readonly numExamples: number;
  readonly digest: string;
  readonly path: string;
  readonly metrics: Record<string, number>;
  readonly arrival: number;
  /** Sum of squares summed at receipt (ReceivedUpdate.sumOfSquares), when known. */
  readonly sumOfSquares?: number;
}

export interface RoundResult {
  readonly round: number;
  readonly state: RoundState;
  readonly reason?: string;
  readonly participants: string[];
  readonly dropped: Record<string, string>;
  /** Differential privacy spent after this round (when the study uses DP). */
  readonly privacy?: { epsilon: number; delta: number; noise_multiplier: number; clip: number; releases: number };
  readonly started: number;
  readonly ended: number;
  /** Per model: sites aggregated (arrival order), examples, metrics, digests. */
  readonly models: Record<string, {
    sites: string[];
    num_examples: number;
    metrics: Record<string, number>;
    global_digest_before: string;
    global_digest: string;
    strategy_metrics: Record<string, number>;
    rejected: { site: string; reason: string }[];
    /** Each summed site's share of the examples (its weight in a FedAvg-style mean). */
    weights?: Record<string, { num_examples: number; weight: number }>;
  }>;
}

/** Durable study log hooks (the tamper-evident audit log implements it). */
export interface StudyRecorder {
  /** Durably appends a record (fsync'ed before it resolves); returns its sequence number and leaf hash. */
  append(record: Record<string, unknown> & { type: string }): Promise<{ seq: number; hash: string }>;
  /** The record line of `seq`, a signed tree head covering it and its inclusion proof (signed logs only). */
  proveRecord?(seq: number): { record: string; head: unknown; proof: unknown } | null;
}

interface RoundRun {
  readonly round: number;
  readonly participants: Set<string>;
  readonly deadline: number;
  readonly started: number;
  readonly accepted: Map<string, Map<string, AcceptedUpdate>>;
  readonly rejected: Map<string, { site: string; reason: string }[]>;
  readonly dropped: Map<string, string>;
  readonly digestsBefore: Map<string, string>;
  /** The task as sent, so a site that reconnects within the grace period gets it again at once. */
  task: CoordinatorMessage | null;
  readonly taskArgs: { taskId: string; strategyParams: Record<string, number>; deadline: number } | null;
  arrivals: number;
  settle: () => void;
  settled: boolean;
}

export interface RoundEngineDeps {
  readonly study: StudyConfig;
  readonly store: ModelStore;
  readonly strategies: Map<string, Strategy>;
  readonly sites: SiteRegistry;
  readonly events: EventBus;
  readonly dataDir: string;
  readonly log: Logger;
  readonly recorder?: StudyRecorder;
  /** Transport for strategy phases (multi-phase rounds); required by strategies that declare phases. */
  readonly phases?: PhaseExchange;
  /** { model: { architecture, config } } sent with every training task. */
  readonly modelConfigs: ModelConfigs;
  /** The train-cohort size each site declared when it joined (signed, in its site_joined record):
   *  an update claiming more examples is refused. Undefined: no bound known for the site. */
  readonly declaredExamples?: (site: string) => number | undefined;
  /** Called (and awaited) after every completed round: durable study state. */
  readonly persist?: (results: readonly RoundResult[], strategyState: Record<string, StrategyState>) => Promise<void>;
}

function siteWeights(summed: readonly AcceptedUpdate[]): Record<string, { num_examples: number; weight: number }> {
  const total = summed.reduce((s, u) => s + u.numExamples, 0);
  return Object.fromEntries(summed.map((u) => [u.site, { num_examples: u.numExamples, weight: total > 0 ? u.numExamples / total : 0 }]));
}

async function removePartials(dir: string, log: Logger): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const stale = names.filter((n) => n.endsWith('.partial') || n.endsWith('.blocks'));
  await Promise.all(stale.map((n) => rm(join(dir, n), { force: true })));
  if (stale.length > 0) log.info({ dir, files: stale.length }, 'removed abandoned partial uploads of the closed round');
}

export class StudyFailedError extends Error {
  override name = 'StudyFailedError';
}

/** The study was stopped (by an admin, or by a signal to the coordinator): not a failure. */
export class StudyStoppedError extends Error {
  override name = 'StudyStoppedError';
  constructor(readonly by: string, readonly resumable: boolean) {
    super(`study stopped by ${by}`);
  }
}

/** A write the study relies on failed (disk full, I/O error): the study is interrupted, not failed. */
export class StudyStorageError extends Error {
  override name = 'StudyStorageError';
}

export class RoundEngine {
  private run: RoundRun | null = null;
  private readonly strategyState = new Map<string, StrategyState>();
  readonly results: RoundResult[] = [];
  private stopped: { by: string; resumable: boolean } | null = null;
  private storageError: Error | null = null;
  private wakeJoin: (() => void) | null = null;
  /** Sites that disconnected mid-round and may still come back before they are dropped. */
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: RoundEngineDeps) {
    deps.sites.onChange((site, connected, reason) => {
      if (connected) {
        // Back within the grace period: the site stays in the round (its transfers resume) and is
        // given the open task again at once (a restarted site process has lost it; a site whose
        // socket only blipped recognises the task id and carries on).
        const t = this.graceTimers.get(site);
        if (t) {
          clearTimeout(t);
          this.graceTimers.delete(site);
        }
        const run = this.run;
        if (run && !run.settled && run.participants.has(site) && !run.dropped.has(site) && !this.siteDone(run, site)) {
          this.resendTask(run, site);
        }
        this.wakeJoin?.();
        return;
      }
      const run = this.run;
      if (run && !run.settled && run.participants.has(site) && !this.siteDone(run, site)) this.awaitReturn(run, site, reason);
    });
  }

  /** A participant that is away: dropped from the round unless it is back within reconnect_grace_s. */
  private awaitReturn(run: RoundRun, site: string, reason: string): void {
    const drop = () => {
      this.graceTimers.delete(site);
      if (run.settled || this.siteDone(run, site) || run.dropped.has(site) || this.deps.sites.isConnected(site)) return;
      run.dropped.set(site, `disconnected (${reason})`);
      this.deps.events.publish({ type: 'site_dropped', round: run.round, site, reason: `disconnected (${reason})` });
      this.maybeSettle(run);
    };
    const graceMs = this.deps.study.reconnect_grace_s * 1000;
    if (graceMs <= 0) drop();
    else if (!this.graceTimers.has(site)) this.graceTimers.set(site, setTimeout(drop, graceMs));
  }

  get currentRound(): number {
    return this.run?.round ?? this.results.length;
  }

  /** Restores finished rounds and strategy state after a restart. */
  restore(results: readonly RoundResult[], strategyState: Record<string, StrategyState>): void {
    this.results.push(...results);
    for (const [k, v] of Object.entries(strategyState)) this.strategyState.set(k, v);
  }

  /**
   * Stops the study: the open round ends without aggregating (it is re-run on resume) and
   * runRounds throws StudyStoppedError. `resumable`: a signal (the coordinator restarts later),
   * not an admin's decision to end the study.
   */
  stop(by = 'an administrator', resumable = false): void {
    this.stopped ??= { by, resumable };
    this.wakeJoin?.();
    this.run?.settle();
  }

  get stopInfo(): { by: string; resumable: boolean } | null {
    return this.stopped;
  }

  /** A write the study relies on failed: the open round ends, runRounds throws StudyStorageError. */
  storageFailed(err: Error): void {
    this.storageError ??= err;
    this.wakeJoin?.();
    this.run?.settle();
  }

  private checkInterrupted(): void {
    if (this.storageError) throw new StudyStorageError(this.storageError.message, { cause: this.storageError });
    if (this.stopped) throw new StudyStoppedError(this.stopped.by, this.stopped.resumable);
  }

  /**
   * Waits until every site of `list` is connected or `timeoutMs` passed (after a restart, before
   * asking anything). Resolves with the connected ones; throws when stopped.
   */
  async waitForSites(list: readonly string[], timeoutMs: number): Promise<string[]> {
    const { sites } = this.deps;
    const deadline = Date.now() + timeoutMs;
    while (!list.every((s) => sites.isConnected(s))) {
      this.checkInterrupted();
      const left = deadline - Date.now();
      if (left <= 0) break;
      await this.napUntilJoinOrTimeout(left);
    }
    this.checkInterrupted();
    return list.filter((s) => sites.isConnected(s));
  }

  updatesDir(model: string, round: number): string {
    return join(this.deps.dataDir, 'updates', model, `round-${round}`);
  }

  /** Runs rounds `fromRound`..`study.rounds`. Resolves with all round results; throws StudyFailedError. */
  async runRounds(fromRound = 1): Promise<RoundResult[]> {
    const { study } = this.deps;
    for (let r = fromRound; r <= study.rounds; r++) {
      this.checkInterrupted();
      await this.waitForQuorum(r, r === fromRound);
      const result = await this.runRound(r);
      // A stop or a storage failure before the aggregate: the round is not saved and is re-run on
      // resume. A round that completed is saved even when a stop arrived meanwhile.
      if (result.state === 'failed' && (this.stopped || this.storageError)) this.checkInterrupted();
      this.results.push(result);
      if (result.state !== 'failed' && this.deps.persist) {
        try {
          await this.deps.persist(this.results, Object.fromEntries(this.strategyState));
        } catch (err) {
          this.results.pop();
          throw new StudyStorageError(`round ${r} could not be saved: ${(err as Error).message}`, { cause: err });
        }
        this.deps.log.info({ round: r }, 'round saved');
      }
      if (result.state === 'failed') {
        this.deps.events.publish({ type: 'round_failed', round: r, reason: result.reason ?? 'unknown' });
        throw new StudyFailedError(`round ${r} failed: ${result.reason}`);
      }
    }
    return this.results;
  }

  private async waitForQuorum(round: number, firstOfRun: boolean): Promise<void> {
    const { study, sites, events } = this.deps;
    const deadline = Date.now() + study.join_timeout_s * 1000;
    // Before the first round this coordinator runs (a new study, or one resumed after a restart),
    // give every listed site until join_timeout_s to connect, so the study does not go on with
    // whoever reconnected first; later rounds need the quorum only.
    const listed = firstOfRun && study.sites ? study.sites : null;
    const ready = () => {
      const n = sites.connectedSites().length;
      if (listed && Date.now() < deadline) return listed.every((s) => sites.isConnected(s));
      return n >= study.min_sites;
    };
    while (!ready()) {
      this.checkInterrupted();
      const left = deadline - Date.now();
      if (left <= 0) {
        const reason = `only ${sites.connectedSites().length} of min_sites ${study.min_sites} sites connected within join_timeout_s ${study.join_timeout_s}`;
        const failed: RoundResult = {
          round, state: 'failed', reason, participants: sites.connectedSites(), dropped: {},
          started: Date.now(), ended: Date.now(), models: {},
        };
        this.results.push(failed);
        events.publish({ type: 'round_failed', round, reason });
        throw new StudyFailedError(`round ${round} failed: ${reason}`);
      }
      await this.napUntilJoinOrTimeout(left);
    }
  }

  /** Sleeps up to min(ms, 1 s), or until a site connects (wakeJoin). */
  private async napUntilJoinOrTimeout(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.min(ms, 1000));
      this.wakeJoin = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wakeJoin = null;
  }

  private async runRound(round: number): Promise<RoundResult> {
    const { study, store, sites, events, log, recorder } = this.deps;
    // A site whose connection dropped moments ago takes part: it gets the task when it reconnects
    // within reconnect_grace_s, or is dropped then (as if it had dropped during the round). Not
    // when a strategy sets the round up with the sites first (secure aggregation's key exchange
    // needs every participant there at the start).
    const setUpFirst = study.models.some((m) => (this.deps.strategies.get(m.name)!.phases ?? []).some((p) => p.when === 'before_fit'));
    const participants = setUpFirst ? sites.connectedSites() : sites.reachableSites(study.reconnect_grace_s * 1000);
    const started = Date.now();
    const deadline = started + study.round_deadline_s * 1000;
    let settle!: () => void;
    const settledPromise = new Promise<void>((resolve) => (settle = resolve));
    const run: RoundRun = {
      round, participants: new Set(participants), deadline, started,
      accepted: new Map(study.models.map((m) => [m.name, new Map()])),
      rejected: new Map(study.models.map((m) => [m.name, []])),
      dropped: new Map(), digestsBefore: new Map(study.models.map((m) => [m.name, store.get(m.name).digest])),
      task: null, taskArgs: null,
      arrivals: 0, settle: () => { run.settled = true; settle(); }, settled: false,
    };
    this.run = run;
    await recorder?.append({
      type: 'round_started', round, participants,
      models: Object.fromEntries(study.models.map((m) => [m.name, { version: store.get(m.name).version, digest: store.get(m.name).digest }])),
      deadline_unix_ms: deadline,
    });
    events.publish({ type: 'round_started', round, participants, deadline });
    log.info({ round, participants }, 'round started');

    // Phases a strategy runs before training (e.g. secure aggregation's key set-up). A phase that
    // cannot go on (fewer than its threshold of sites) fails the round with its reason.
    const setupFailure = await this.runPhases('before_fit', round, participants, run);
    if (setupFailure !== undefined) {
      this.run = null;
      run.settled = true;
      return { round, state: 'failed', reason: setupFailure, participants, dropped: {}, started, ended: Date.now(), models: {} };
    }
    const strategyParams: Record<string, number> = {};
    for (const m of study.models) Object.assign(strategyParams, this.deps.strategies.get(m.name)!.configureFit({ round, model: m.name }).params);
    const taskId = `r${round}-${randomUUID()}`;
    (run as { taskArgs: RoundRun['taskArgs'] }).taskArgs = { taskId, strategyParams, deadline };
    const task = this.trainTask(run, study.models.map((m) => m.name));
    run.task = task;
    for (const site of participants) {
      if (!sites.send(site, task)) this.awaitReturn(run, site, 'not connected when the round started');
    }

    const timer = setTimeout(() => {
      for (const site of run.participants) {
        if (!this.siteDone(run, site) && !run.dropped.has(site)) {
          run.dropped.set(site, `missed the round deadline (${study.round_deadline_s} s)`);
          events.publish({ type: 'site_dropped', round, site, reason: 'missed the round deadline' });
        }
      }
      run.settle();
    }, Math.max(0, deadline - Date.now()));
    this.maybeSettle(run); // e.g. every participant disconnected before the first await
    await settledPromise;
    clearTimeout(timer);
    for (const t of this.graceTimers.values()) clearTimeout(t);
    this.graceTimers.clear();

    for (const [site, reason] of run.dropped) {
      await recorder?.append({ type: 'site_dropped', round, site, reason });
    }
    // Abandoned partial uploads of this round can never complete now: remove them.
    for (const m of study.models) await removePartials(this.updatesDir(m.name, round), log);

    // Quorum per model, then aggregation through each model's strategy hooks (wrappers such as
    // the norm-outlier filter and DP accounting act inside aggregateFit). Every model is
    // aggregated before any is stored, so a round fails or completes as a whole.
    const models: RoundResult['models'] = {};
    let failure: string | undefined;
    // Phases a strategy runs once the updates are in (e.g. unmasking with the survivors' shares).
    failure = await this.runPhases('after_fit', round, participants.filter((s) => !run.dropped.has(s)), run);
    for (const m of study.models) {
      const accepted = run.accepted.get(m.name)!.size;
      if (accepted < study.min_sites) {
        failure ??= `model "${m.name}": ${accepted} update(s) accepted, min_sites is ${study.min_sites}`;
      }
    }
    if (this.stopped || this.storageError) {
      // Not aggregated: the round is re-run when the study resumes (or reported as not done).
      this.run = null;
      return { round, state: 'failed', reason: this.storageError ? this.storageError.message : `study stopped by ${this.stopped!.by}`, participants, dropped: Object.fromEntries(run.dropped), started, ended: Date.now(), models: {} };
    }
    const outcomes: { model: string; received: AcceptedUpdate[]; summed: AcceptedUpdate[]; out: AggregateResult; strategy: Strategy }[] = [];
    if (failure === undefined) {
      for (const m of study.models) {
        // Summation order: by site name, so the aggregate does not depend on network timing (a
        // float sum is order-sensitive) and a resumed study reproduces an uninterrupted one.
        // The true arrival order is logged beside it.
        const received = [...run.accepted.get(m.name)!.values()].sort((a, b) => a.arrival - b.arrival);
        const ordered = [...received].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0));
        const g = store.get(m.name);
        const strategy = this.deps.strategies.get(m.name)!;
        const before = this.strategyState.get(m.name) ?? strategy.initialState?.() ?? {};
        const failures: Failure[] = [
          ...[...run.dropped].map(([site, reason]) => ({ site, reason })),
          ...run.rejected.get(m.name)!.map((r) => ({ site: r.site, reason: r.reason })),
        ];
        const readers = await this.openReaders(ordered);
        let out: AggregateResult;
        try {
          out = await strategy.aggregateFit(g.set.data, readers, before, { round, model: m.name, failures, minSites: study.min_sites });
        } catch (err) {
          if (!(err instanceof QuorumError)) throw err;
          failure = err.message;
          break;
        } finally {
          await Promise.all(readers.map((r) => r.close?.()));
        }
        const excluded = new Set((out.excluded ?? []).map((e) => e.id));
        for (const e of out.excluded ?? []) {
          run.accepted.get(m.name)!.delete(e.site);
          await this.reject(e.site, { round, model: m.name }, `update ${e.id} left out of the aggregate: ${e.reason}`);
        }
        outcomes.push({ model: m.name, received, summed: ordered.filter((u) => !excluded.has(u.updateId)), out, strategy });
      }
    }
    let privacy: RoundResult['privacy'];
    if (failure === undefined) {
      for (const { model, received, summed, out, strategy } of outcomes) {
        this.strategyState.set(model, out.state);
        const g = store.get(model);
        const next = await store.put(model, round, { infos: g.set.infos, data: out.global }, {
          round, strategy: strategy.name, summation_order: summed.map((u) => u.updateId),
        });
        models[model] = {
          sites: summed.map((u) => u.site),
          num_examples: summed.reduce((s, u) => s + u.numExamples, 0),
          weights: siteWeights(summed),
          metrics: strategy.aggregateEvaluate(summed.map((u) => ({ site: u.site, numExamples: u.numExamples, metrics: u.metrics })), { round, model }),
          global_digest_before: g.digest,
          global_digest: next.digest,
          strategy_metrics: out.metrics,
          rejected: run.rejected.get(model)!,
        };
        // Facts a wrapper adds to the log, one record per key (e.g. secure_aggregation).
        for (const [type, body] of Object.entries(out.audit ?? {})) await recorder?.append({ ...(body as Record<string, unknown>), type, round, model });
        await recorder?.append({
          type: 'round_aggregated', round, model, strategy: strategy.name, strategy_config: study.strategy,
          summation_order: summed.map((u) => ({ site: u.site, update_id: u.updateId, digest: u.digest, num_examples: u.numExamples })),
          received_order: received.map((u) => u.updateId),
          global_digest_before: g.digest, aggregated_digest: next.digest,
        });
        if (out.privacy) privacy = out.privacy;
      }
    }
    if (privacy) {
      await recorder?.append({ type: 'privacy_accounting', round, ...privacy });
    }
    const ended = Date.now();
    this.run = null;
    const state: RoundState = failure !== undefined ? 'failed' : run.dropped.size > 0 ? 'completed_without_some_sites' : 'completed';
    const result: RoundResult = {
      round, state, ...(failure !== undefined ? { reason: failure } : {}), participants, dropped: Object.fromEntries(run.dropped),
      started, ended, models, ...(privacy ? { privacy } : {}),
    };
    if (state !== 'failed') {
      events.publish({
        type: 'round_completed', round, state, sites: participants.filter((s) => !run.dropped.has(s)),
        metrics: Object.fromEntries(Object.entries(models).map(([k, v]) => [k, v.metrics])),
        digests: Object.fromEntries(Object.entries(models).map(([k, v]) => [k, v.global_digest])),
      });
      log.info({ round, state, digests: Object.fromEntries(Object.entries(models).map(([k, v]) => [k, v.global_digest.slice(0, 12)])) }, 'round completed');
    }
    return result;
  }

  /**
   * Runs each model's strategy phases of one kind, threading the strategy state through them.
   * After-fit phases get the model's accepted updates as readers. Returns the reason when a phase
   * fails the round (QuorumError, e.g. fewer than secure aggregation's threshold of sites).
   */
  private async runPhases(when: 'before_fit' | 'after_fit', round: number, sites: readonly string[], run: RoundRun): Promise<string | undefined> {
    for (const m of this.deps.study.models) {
      const strategy = this.deps.strategies.get(m.name)!;
      const phases = (strategy.phases ?? []).filter((p) => p.when === when);
      if (phases.length === 0) continue;
      if (!this.deps.phases) throw new Error(`strategy "${strategy.name}" runs phases, but this coordinator has no phase transport`);
      let state = this.strategyState.get(m.name) ?? strategy.initialState?.() ?? {};
      const updates = when === 'after_fit'
        ? await this.openReaders([...run.accepted.get(m.name)!.values()].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0)))
        : undefined;
      try {
        for (const phase of phases) {
          state = await phase.run({
            round, model: m.name, minSites: this.deps.study.min_sites, modelLength: this.deps.store.get(m.name).set.data.length,
            ...(updates ? { updates } : {}),
          }, this.deps.phases.transport(round, m.name, sites), state);
        }
      } catch (err) {
        if (err instanceof QuorumError) return err.message;
        throw err;
      } finally {
        if (updates) await Promise.all(updates.map((r) => r.close?.()));
      }
      this.strategyState.set(m.name, state);
    }
    return undefined;
  }

  private trainTask(run: RoundRun, models: readonly string[]): CoordinatorMessage {
    const { study, store } = this.deps;
    const { taskId, strategyParams, deadline } = run.taskArgs!;
    return buildTrainTask({
      taskId, studyId: study.id, round: run.round, deadlineUnixMs: deadline,
      models: models.map((name) => {
        const g = store.get(name);
        return { studyId: study.id, model: name, round: run.round, version: g.version, digest: g.digest };
      }),
      training: { epochs: study.training.epochs, batchSize: study.training.batch_size, learningRate: study.training.learning_rate, seed: study.training.seed * 100_003 + run.round },
      strategyParams,
      modelConfigs: this.deps.modelConfigs,
    });
  }

  /** The open task again, for the models the site has not delivered yet (same task id). */
  private resendTask(run: RoundRun, site: string): void {
    if (!run.taskArgs) return;
    const missing = this.deps.study.models.map((m) => m.name).filter((m) => !run.accepted.get(m)?.has(site));
    if (missing.length === 0) return;
    this.deps.sites.send(site, this.trainTask(run, missing));
    this.deps.log.info({ round: run.round, site, models: missing }, 'site reconnected within the grace period; task sent again');
  }

  private openReaders(updates: readonly AcceptedUpdate[]) {
    return Promise.all(updates.map(async (u) => {
      const layout = await readTensorFileLayout(u.path);
      return fileUpdateReader(u.path, layout.dataOffset, layout.length, { id: u.updateId, site: u.site, numExamples: u.numExamples, ...(u.sumOfSquares !== undefined ? { sumOfSquares: u.sumOfSquares } : {}) });
    }));
  }

  private siteDone(run: RoundRun, site: string): boolean {
    for (const m of run.accepted.values()) if (!m.has(site)) return false;
    return true;
  }

  private maybeSettle(run: RoundRun): void {
    if (run.settled) return;
    for (const site of run.participants) {
      if (!run.dropped.has(site) && !this.siteDone(run, site)) return;
    }
    run.settle();
  }

  /**
   * Checks an announced update against the open round. Returns the admission, or an
   * `already` marker when this exact update (same update_id) was accepted before: a
   * resubmission is acknowledged and counted once.
   */
  admit(site: string, header: UpdateHeader): Admission | { already: AcceptedUpdate } {
    const { study, store } = this.deps;
    const who = `site "${site}"`;
    if (header.studyId !== study.id) throw invalid(`${who}: update for study "${header.studyId}", this is study "${study.id}"`);
    if (header.siteId !== site) throw invalid(`${who}: update claims to come from site "${header.siteId}"`);
    // Update ids live in the sending site's namespace, so one site can neither overwrite nor probe
    // another's (the refusal is the same whether or not such an id exists).
    if (!header.updateId.startsWith(`${site}-`)) throw invalid(`${who}: update_id "${header.updateId}" must start with "${site}-" (update ids are per site)`);
    if (!store.has(header.model)) throw invalid(`${who}: unknown model "${header.model}"`);
    const run = this.run;
    if (!run || run.settled) {
      const prior = this.findAccepted(header);
      if (prior) return { already: prior };
      throw precondition(`${who}: no round is open (update for round ${header.round}, model "${header.model}")`);
    }
    if (header.round !== run.round) {
      const prior = this.findAccepted(header);
      if (prior) return { already: prior };
      throw precondition(`${who}: update for round ${header.round} is stale or early; round ${run.round} is open`);
    }
    if (!run.participants.has(site)) throw precondition(`${who}: not a participant of round ${run.round} (joined after it started; it will take part in the next round)`);
    if (run.dropped.has(site)) throw precondition(`${who}: dropped from round ${run.round}: ${run.dropped.get(site)}`);
    const g = store.get(header.model);
    if (header.modelVersion !== g.version) {
      throw precondition(`${who}: update computed from version ${header.modelVersion} of "${header.model}", current version is ${g.version}`);
    }
    const prev = run.accepted.get(header.model)!.get(site);
    if (prev) {
      if (prev.updateId === header.updateId) return { already: prev };
      throw duplicate(`${who}: already sent an update for model "${header.model}" in round ${run.round} (one update per site per round)`);
    }
    if (!/^[A-Za-z0-9._-]{8,80}$/.test(header.updateId)) throw invalid(`${who}: update_id must be 8-80 characters [A-Za-z0-9._-]`);
    const declared = this.deps.declaredExamples?.(site);
    if (declared !== undefined && header.numExamples > declared) {
      throw invalid(`${who}: update ${header.updateId} claims ${header.numExamples} training examples, more than the ${declared} train cases the site declared when it joined`);
    }
    return {
      round: run.round, model: header.model, site, spec: g.set.infos,
      ...(this.deps.strategies.get(header.model)?.maskedUpdates ? { masked: true } : {}),
      spoolPath: join(this.updatesDir(header.model, run.round), `${header.updateId}.flt`),
    };
  }

  /** Accepts a verified update into the open round (and the study log before acknowledging it). */
  async accept(admission: Admission, update: ReceivedUpdate): Promise<AcceptedUpdate> {
    const run = this.run;
    if (!run || run.round !== admission.round || run.settled) {
      throw precondition(`site "${admission.site}": round ${admission.round} closed while the update was being received`);
    }
    const existing = run.accepted.get(admission.model)!.get(admission.site);
    if (existing) {
      if (existing.updateId === update.header.updateId) return existing;
      throw duplicate(`site "${admission.site}": already sent an update for model "${admission.model}" in round ${run.round}`);
    }
    const accepted: AcceptedUpdate = {
      round: run.round, model: admission.model, site: admission.site, updateId: update.header.updateId,
      numExamples: update.header.numExamples, digest: update.digest, path: update.path,
      metrics: { ...update.header.metrics }, arrival: run.arrivals++,
      ...(update.sumOfSquares !== undefined ? { sumOfSquares: update.sumOfSquares } : {}),
    };
    run.accepted.get(admission.model)!.set(admission.site, accepted);
    this.acceptedIds.set(accepted.updateId, accepted);
    await this.deps.recorder?.append({
      type: 'update_accepted', round: run.round, model: admission.model, site: admission.site,
      update_id: accepted.updateId, num_examples: accepted.numExamples, digest: accepted.digest,
      signature: update.header.signature || null,
    });
    this.deps.events.publish({
      type: 'update_accepted', round: run.round, model: admission.model, site: admission.site,
      numExamples: accepted.numExamples, digest: accepted.digest, metrics: accepted.metrics,
    });
    this.maybeSettle(run);
    return accepted;
  }

  /** Records a refused update; the round and the global model are unaffected. */
  async reject(site: string, header: { readonly round?: number; readonly model?: string } | undefined, reason: string): Promise<void> {
    const round = header?.round ?? this.run?.round ?? 0;
    const model = header?.model || '(unknown)';
    // Listed under the round that was open when it arrived (a stale update says so in its reason).
    this.run?.rejected.get(model)?.push({ site, reason });
    await this.deps.recorder?.append({ type: 'update_rejected', round, model, site, reason });
    this.deps.events.publish({ type: 'update_rejected', round, model, site, reason });
  }

  private findAccepted(header: UpdateHeader): AcceptedUpdate | undefined {
    return this.acceptedUpdate(header.siteId, header.updateId);
  }

  /** The update with this id accepted from this site, if any (another site's ids are not visible). */
  acceptedUpdate(site: string, updateId: string): AcceptedUpdate | undefined {
    const u = this.acceptedIds.get(updateId);
    return u && u.site === site ? u : undefined;
  }

  /** Every accepted update id, so a resubmission after a lost receipt is counted once. */
  private readonly acceptedIds = new Map<string, AcceptedUpdate>();
}
