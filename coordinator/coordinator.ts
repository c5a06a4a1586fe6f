// Composition of the coordinator: config → model store, strategies, round engine, gRPC server.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type * as grpc from '@grpc/grpc-js';
import { isSumsModel, type CoordinatorFile } from '../shared/config/study.js';
import { unfittedTensorSet } from '../shared/families/tabular/model.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { serverCredentials, insecureServerCredentials } from '../shared/security/tls.js';
import { serverOptions } from '../shared/security/limits.js';
import { DenyList } from '../shared/security/fingerprint.js';
import { ModelStore } from './model-store.js';
import { SiteRegistry } from './site-registry.js';
import { EventBus } from './events.js';
import { RoundEngine, StudyFailedError, type RoundResult, type StudyRecorder } from './round-engine.js';
import { createGrpcServer, bindServer } from './server.js';
import { mtlsGatekeeper, insecureGatekeeper } from './gatekeeper.js';
import { createStudyStrategies } from '../shared/strategies/study.js';
import type { StrategyState } from '../shared/strategies/types.js';
import { encodeStrategyState, decodeStrategyState } from '../shared/strategies/state.js';
import { writeTensorSetFile, readTensorSetFile } from '../shared/tensor/file.js';
import { existsSync } from 'node:fs';
import { buildReport, canonicalDigest, type StudyReport } from './report.js';
import { loadStudyState, saveStudyState } from './study-state.js';
import { createHash } from 'node:crypto';
import { StudyLog } from '../shared/audit/study-log.js';
import type { KeyObject } from 'node:crypto';
import { modelConfigsFor, type CosignResponse, type ModelConfigs, type StatusResponse } from '../shared/protocol/index.js';
import { Cosigning } from './cosigning.js';
import { PhaseExchange } from './phase-exchange.js';
import { renderStudyHtml } from './report-html.js';
import { startNatsEventPublisher } from './nats-events.js';
import { loadSigningKey, saveSigningKey, generateSigningKey } from '../shared/audit/keys.js';
import { EvaluationCollector } from './evaluation.js';
import { ConfigError } from '../shared/config/load.js';

export interface StudyOutcome {
  readonly state: 'completed' | 'failed';
  readonly reason?: string;
  readonly rounds: RoundResult[];
  readonly report: StudyReport;
}

export interface CoordinatorHandle {
  readonly port: number;
  readonly events: EventBus;
  readonly engine: RoundEngine;
  readonly store: ModelStore;
  readonly sites: SiteRegistry;
  readonly evaluation: EvaluationCollector;
  readonly modelConfigs: ModelConfigs;
  readonly file: CoordinatorFile;
  readonly recorder: StudyRecorder;
  /** Phase requests to sites and their answers (strategy phases, fits from sums). */
  readonly phases: PhaseExchange;
  /** The study's status as `fl status --json` shows it (StudyAdmin.GetStatus); read-only views use it. */
  status(): StatusResponse;
  /** Starts the study (when not auto-started); idempotent. */
  start(): void;
  /** Resolves when the study has ended (report written). */
  readonly done: Promise<StudyOutcome>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly log: Logger;
  /** Builds the initial global model of each study model (deterministic from the config). */
  readonly initialModels: (file: CoordinatorFile) => Promise<Map<string, TensorSet>>;
  readonly autoStart?: boolean;
  readonly recorder?: StudyRecorder;
  /** Work after training, merged into the report; default: the study's held-out evaluation when configured. */
  readonly afterTraining?: (ctx: { handle: CoordinatorHandle; rounds: RoundResult[] }) => Promise<Record<string, unknown>>;
  readonly events?: EventBus;
  readonly denyFingerprints?: readonly string[];
  readonly serverOptions?: grpc.ChannelOptions;
}

export async function startCoordinator(file: CoordinatorFile, opts: StartOptions): Promise<CoordinatorHandle> {
  const { study, coordinator } = file;
  const log = opts.log;
  const dataDir = coordinator.data_dir;
  await mkdir(dataDir, { recursive: true });
  const store = new ModelStore(join(dataDir, 'checkpoints'));
  const sites = new SiteRegistry();
  const events = opts.events ?? new EventBus();
  // Study events to NATS JetStream when configured (the in-process bus always works).
  const natsEvents = coordinator.nats_url ? startNatsEventPublisher({ url: coordinator.nats_url, studyId: study.id, events, log }) : null;

  // The tamper-evident study log: every action below is recorded (fsync'ed) before it is
  // acknowledged. A caller may inject its own recorder (tests); otherwise the coordinator opens
  // its StudyLog, replicated to NATS JetStream when nats_url is set.
  let studyLog: StudyLog | null = null;
  let auditKey: KeyObject | null = null;
  let recorder = opts.recorder;
  if (!recorder) {
    const keyPath = join(dataDir, 'keys', 'audit-signing.pem');
    let key;
    try {
      key = await loadSigningKey(keyPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !/ENOENT|no such file/i.test((err as Error).message)) throw err;
      key = generateSigningKey();
      await mkdir(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
      await saveSigningKey(keyPath, key);
    }
    auditKey = key;
    studyLog = await StudyLog.open(coordinator.audit_dir ?? join(dataDir, 'audit'), {
      signingKey: key, studyId: study.id, logger: log, ...(coordinator.nats_url ? { nats: { url: coordinator.nats_url } } : {}),
    });
    recorder = studyLog;
  }

  // Models fitted from sums (tabular families) take no part in the rounds: the round engine, the
  // strategies and resume see the trained (image) models only; fit-from-sums.ts fits the others.
  const trainedStudy = { ...study, models: study.models.filter((m) => !isSumsModel(m)) };
  const { byModel: strategies, accounting } = createStudyStrategies(trainedStudy);
  // Resume after a crash or restart: finished rounds from the state file, models from checkpoints.
  const statePath = join(dataDir, 'state.json');
  const studyDigest = canonicalDigest(study);
  let resumeFrom = 1;
  let saved = await loadStudyState(statePath).catch((err: Error) => {
    log.warn(`${err.message}; starting the study from round 1 (checkpoints are kept)`);
    return null;
  });
  if (saved && saved.study_digest !== studyDigest) {
    throw new Error(`${dataDir} holds the state of a different study configuration (digest ${saved.study_digest.slice(0, 12)}...); use a new data_dir`);
  }
  if (saved) {
    const last = saved.rounds.filter((r) => r.state !== 'failed').at(-1)?.round ?? 0;
    for (const m of trainedStudy.models) {
      const g = await store.version(m.name, last).catch(() => null);
      const expected = last === 0 ? null : saved.rounds.find((r) => r.round === last)?.models[m.name]?.global_digest;
      if (!g || (expected && g.digest !== expected)) {
        log.warn(`checkpoint of "${m.name}" at round ${last} is missing or does not match the state file; starting from round 1`);
        saved = null;
        break;
      }
      await store.put(m.name, g.version, g.set, { round: g.version, resumed: true });
    }
    if (saved) resumeFrom = last + 1;
  }
  if (!saved) {
    await recorder.append({ type: 'study_config', study: study.id, digest: studyDigest, rounds: study.rounds, models: study.models.map((m) => m.name), strategy: study.strategy.name, strategy_config: study.strategy });
    const initial = await opts.initialModels(file);
    for (const m of study.models) {
      const set = initial.get(m.name);
      if (!set) throw new Error(`no initial model for "${m.name}"`);
      await store.put(m.name, 0, set, { round: 0, initial: true });
    }
  }
  // Tabular models hold an unfitted marker until their fit after the rounds (a resumed study refits them: the fit is deterministic in the sums).
  for (const m of study.models) if (isSumsModel(m) && !store.has(m.name)) await store.put(m.name, 0, unfittedTensorSet(), { round: 0, initial: true });
  const modelConfigs = modelConfigsFor(study.models);
  const phases = new PhaseExchange(study.id, sites);
  const engine = new RoundEngine({
    study: trainedStudy, store, strategies, sites, events, dataDir, log, modelConfigs, phases,
    persist: async (results, strategyState) => {
      // Strategy state: JSON in state.json, optimiser moments as checkpointed tensor files named by
      // round, so a crash between the two writes never pairs a state with another round's moments.
      const round = results.at(-1)?.round ?? 0;
      const encoded: Record<string, Record<string, unknown>> = {};
      for (const [model, st] of Object.entries(strategyState)) {
        const e = encodeStrategyState(st);
        if (e.tensors.infos.length > 0) {
          const file = `${model}-round-${round}.flt`;
          await writeTensorSetFile(join(dataDir, 'strategy', file), e.tensors, { model, round });
          encoded[model] = { ...e.json, $file: file };
        } else {
          encoded[model] = e.json;
        }
      }
      await saveStudyState(statePath, { version: 1, study_digest: studyDigest, rounds: [...results], strategy_state: encoded });
    },
    recorder,
  });
  if (saved) {
    const decoded: Record<string, StrategyState> = {};
    for (const [model, json] of Object.entries(saved.strategy_state)) {
      const { $file, ...rest } = json as { $file?: string } & Record<string, unknown>;
      const tensorsPath = typeof $file === 'string' ? join(dataDir, 'strategy', $file) : null;
      const tensors = tensorsPath && existsSync(tensorsPath) ? (await readTensorSetFile(tensorsPath)).set : { infos: [], data: new Float32Array(0) };
      decoded[model] = decodeStrategyState(rest, tensors);
    }
    engine.restore(saved.rounds, decoded);
    accounting?.restore(saved.rounds.filter((r) => r.state !== 'failed').length * study.models.length);
    log.info({ round: resumeFrom }, 'resuming the study after the last completed round');
  }

  // eslint-disable-next-line prefer-const -- assigned once below; closures above need the binding
  let handle!: CoordinatorHandle;
  let started = false;
  let state = 'waiting';
  let resolveStart!: () => void;
  const startSignal = new Promise<void>((r) => (resolveStart = r));
  const gate = coordinator.insecure ? insecureGatekeeper() : mtlsGatekeeper(new DenyList(opts.denyFingerprints ?? []), log);
  const evaluation = new EvaluationCollector(study.id, sites, gate, log);
  const cosigning = studyLog && auditKey ? new Cosigning(studyLog, auditKey, sites, log, events) : null;
  // Listed sites that never connected are shown too (not connected, never seen), so a status reads
  // "1/2 sites connected" rather than "1/1" while the other hospital is still down.
  const status = (): StatusResponse => {
    const seen = sites.all();
    const missing = (study.sites ?? []).filter((s) => !seen.some((x) => x.site === s));
    return {
      studyId: study.id, state, round: engine.currentRound,
      sites: [
        ...seen.map((s) => ({ siteId: s.site, connected: s.connected, backend: s.backend, lastSeenUnixMs: s.lastSeen })),
        ...missing.map((s) => ({ siteId: s, connected: false, backend: '', lastSeenUnixMs: 0 })),
      ],
      rounds: engine.results.map((r) => ({
        round: r.round, state: r.state, sites: r.participants.filter((p) => !(p in r.dropped)),
        metrics: Object.fromEntries(Object.entries(r.models).flatMap(([m, v]) => Object.entries(v.metrics).map(([k, x]) => [`${m}.${k}`, x]))),
      })),
    };
  };
  // After every saved round, the participants co-sign the log (mTLS only: the key is the site's certificate key).
  if (cosigning && !coordinator.insecure) {
    events.subscribe((e) => {
      if (e.type === 'round_completed') setImmediate(() => cosigning.request(e.sites.filter((s) => sites.isConnected(s))));
    });
  }
  const joined = new Set<string>();
  sites.onChange((site, connected) => {
    const fp = sites.all().find((x) => x.site === site)?.fingerprint;
    if (!connected || !fp || joined.has(`${site}/${fp}`)) return;
    joined.add(`${site}/${fp}`);
    const pk = sites.all().find((x) => x.site === site)?.publicKey;
    recorder.append({ type: 'site_joined', site, cert_fingerprint: fp, ...(pk ? { public_key: pk } : {}) }).catch((err: Error) => log.error({ err }, 'could not record site_joined'));
  });
  const server = createGrpcServer({
    studyId: study.id, allowedSites: study.sites, gate, sites, store, engine, events, log, heartbeatIntervalMs: 15_000, evaluation,
    ...(cosigning ? { onCosignature: (site: string, r: CosignResponse) => void cosigning.receive(site, r) } : {}),
    onPhaseReply: (site, r) => phases.receive(site, r),
    admin: {
      status,
      start: () => handle.start(),
      stop: () => engine.stop(),
    },
  }, { ...serverOptions(), ...opts.serverOptions });
  const creds = coordinator.insecure ? insecureServerCredentials(log) : serverCredentials(coordinator.tls!, log);
  const port = await bindServer(server, coordinator.listen, creds, log);
  log.info({ port, study: study.id, secure: !coordinator.insecure }, 'coordinator listening');

  const done = (async (): Promise<StudyOutcome> => {
    await startSignal;
    state = 'training';
    const t0 = Date.now();
    let outcome: Omit<StudyOutcome, 'report'>;
    let extra: Record<string, unknown> = {};
    try {
      const rounds = trainedStudy.models.length > 0 ? await engine.runRounds(resumeFrom) : [];
      // Tabular models: fitted from the sites' sums once the image rounds are done, before the freeze.
      if (trainedStudy.models.length < study.models.length) {
        state = 'fitting';
        const { fitModelsFromSums } = await import('./fit-from-sums.js');
        const fitted = await fitModelsFromSums({
          file, store, sites, events, modelConfigs, recorder, transportFor: (round, model, s) => phases.transport(round, model, s),
        }, rounds, log);
        extra = { fitted };
      }
      // Held-out evaluation: the caller's hook, or the study's own when it configures `evaluation`
      // (loaded on demand: a training-only study needs none of the statistics code).
      const afterTraining = opts.afterTraining ?? (study.evaluation
        ? async (ctx: { handle: CoordinatorHandle; rounds: RoundResult[] }) => (await import('./study-evaluation.js')).runStudyEvaluation(ctx.handle, ctx.rounds, log)
        : undefined);
      if (afterTraining) {
        state = 'evaluating';
        extra = { ...extra, ...(await afterTraining({ handle, rounds })) };
      }
      outcome = { state: 'completed', rounds };
      events.publish({ type: 'study_completed', rounds: rounds.length });
    } catch (err) {
      const reason = err instanceof StudyFailedError ? err.message : `internal error: ${(err as Error).message}`;
      if (!(err instanceof StudyFailedError)) log.error({ err }, 'study failed');
      outcome = { state: 'failed', reason, rounds: engine.results };
      events.publish({ type: 'study_failed', reason });
    }
    state = outcome.state;
    const report = buildReport({ file, outcome, store, sites: sites.all(), startedAt: t0, endedAt: Date.now(), extra });
    const reportText = JSON.stringify(report, null, 2) + '\n';
    await writeFile(join(dataDir, 'report.json'), reportText);
    if (report.cohorts) await writeFile(join(dataDir, 'report.html'), renderStudyHtml(report));
    await recorder.append({ type: 'report', digest: createHash('sha256').update(reportText).digest('hex'), state: report.state });
    for (const s of sites.connectedSites()) {
      sites.send(s, { type: 'stop', reason: outcome.state === 'completed' ? 'study completed' : `study failed: ${outcome.reason}` });
    }
    return { ...outcome, report };
  })();

  handle = {
    port, events, engine, store, sites, done, evaluation, modelConfigs, file, recorder, status, phases,
    start() {
      if (started) return;
      started = true;
      resolveStart();
    },
    async close() {
      engine.stop();
      phases.close();
      sites.closeAll('coordinator shutting down');
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
      // Let the study loop record how it ended before the log is closed.
      if (started) await done.catch(() => undefined);
      await studyLog?.close();
      await natsEvents?.close(5000);
    },
  };
  if (opts.autoStart ?? true) handle.start();
  return handle;
}
