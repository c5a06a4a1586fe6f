// Composition of the coordinator: config → model store, strategies, round engine, gRPC server.
import { mkdir, readFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type * as grpc from '@grpc/grpc-js';
import { isSumsModel, type CoordinatorFile } from '../shared/config/study.js';
import { unfittedTensorSet } from '../shared/families/tabular/model.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { serverCredentials, insecureServerCredentials, loadTlsKit } from '../shared/security/tls.js';
import { BulkListener } from './bulk-listener.js';
import { serverOptions } from '../shared/security/limits.js';
import { DenyList } from '../shared/security/fingerprint.js';
import { ModelStore } from './model-store.js';
import { SiteRegistry } from './site-registry.js';
import { EventBus } from '../shared/events/events.js';
import { RoundEngine, StudyFailedError, StudyStoppedError, StudyStorageError, type RoundResult, type StudyRecorder } from './round-engine.js';
import { createGrpcServer, bindServer } from './server.js';
import { mtlsGatekeeper, insecureGatekeeper } from './gatekeeper.js';
import { createStudyStrategies } from '../shared/strategies/study.js';
import type { StrategyState } from '../shared/strategies/types.js';
import { encodeStrategyState, decodeStrategyState } from '../shared/strategies/state.js';
import { writeTensorSetFile, readTensorSetFile } from '../shared/tensor/file.js';
import { existsSync } from 'node:fs';
import { buildReport, canonicalDigest, type StudyReport } from './report.js';
import { loadStudyState, saveStudyState, EvaluationResultStore, recordedResultKey, ENDED_PHASES, type StudyPhase, type StudyState, type EvaluationProgress, type StudyEnd } from './study-state.js';
import { atomicWriteFile, checkWritableDir, AtomicWriteError } from '../shared/util/atomic-write.js';
import { FlError } from '../shared/errors/index.js';
import type { EvaluationResume } from './study-evaluation.js';
import { createHash } from 'node:crypto';
import { StudyLog } from '../shared/audit/study-log.js';
import type { KeyObject } from 'node:crypto';
import { endpointChain } from '../shared/config/endpoint.js';
import { modelConfigsFor, type CosignResponse, type ModelConfigs, type StatusResponse } from '../shared/protocol/index.js';
import { Cosigning } from './cosigning.js';
import { PhaseExchange } from './phase-exchange.js';
import { renderStudyHtml } from './report-html.js';
import { startNatsEventPublisher } from './nats-events.js';
import { loadSigningKey, saveSigningKey, generateSigningKey } from '../shared/audit/keys.js';
import { EvaluationCollector } from './evaluation.js';
import { ConfigError } from '../shared/config/load.js';
import { watchRevocations } from './revocations.js';

export interface StudyOutcome {
  /**
   * completed / failed / stopped (by an admin, or by a signal: then `resumable`) end with a
   * report; `interrupted` (a write failed: disk full, I/O error) ends without one: the study
   * resumes from its last saved state when the coordinator is started again.
   */
  readonly state: 'completed' | 'failed' | 'stopped' | 'interrupted';
  readonly reason?: string;
  /** Who stopped the study (an admin's name, or "signal SIGTERM"). */
  readonly stoppedBy?: string;
  /** A stop by a signal: the study continues when the coordinator starts again. */
  readonly resumable?: boolean;
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
  /** Persisted evaluation progress (the held-out evaluation resumes from it). */
  readonly resume: EvaluationResume;
  /** The study's status as `fl status --json` shows it (StudyAdmin.GetStatus); read-only views use it. */
  status(): StatusResponse;
  /** Starts the study (when not auto-started); idempotent. */
  start(): void;
  /**
   * Stops the study. An admin's stop (`resumable` false) ends it: state "stopped", the sites are
   * told the study ended; `evaluate` freezes the last completed round and runs the held-out
   * evaluation first. A signal's stop (`resumable` true) keeps the study resumable and the sites
   * keep reconnecting. Either way the stop and who did it are in the study log and a report is written.
   */
  stop(by: string, opts?: { resumable?: boolean; evaluate?: boolean }): void;
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

/** `fl coordinator` on a study that has ended: nothing is touched; the CLI says so and exits 0. */
export class StudyEndedError extends FlError {
  constructor(readonly end: StudyEnd, dataDir: string) {
    super('study.ended', `study already ${end.state}${end.by ? ` by ${end.by}` : ''}${end.reason ? ` (${end.reason})` : ''} at ${end.at}; report ${end.report}; nothing was changed (use a new data_dir to run it again)`, { user: false });
    void dataDir;
  }
}

/** The end of the study recorded in DATA/state.json, or null (read-only; for `fl coordinator` before it starts anything). */
export async function readStudyEnd(dataDir: string): Promise<StudyEnd | null> {
  const st = await loadStudyState(join(dataDir, 'state.json')).catch(() => null);
  return st && st.phase && ENDED_PHASES.has(st.phase) && st.ended ? st.ended : null;
}

/** host and port of a `host:port` (brackets of an IPv6 host removed; an empty host is every interface), or null. */
function hostPort(address: string): { host: string; port: number } | null {
  const m = /^(.*):(\d+)$/.exec(address);
  return m ? { host: m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(m[2]) } : null;
}

/**
 * Where the bulk channel listens (coordinator.bulk_port; default any free port on listen's host, so
 * that an unconfigured coordinator never takes a fixed port nobody asked for), or null when off.
 */
function bulkAddress(listen: string, bulkPort: number | 'off' | undefined): { host: string; port: number } | null {
  if (bulkPort === 'off') return null;
  const at = hostPort(listen);
  return at && { host: at.host, port: bulkPort ?? 0 };
}

/**
 * Fails (a user error naming the config key and the address) when `address` cannot be bound,
 * before anything is written.
 */
async function checkPortFree(address: string, key = 'coordinator.listen'): Promise<void> {
  const at = hostPort(address);
  if (!at || at.port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', (err: NodeJS.ErrnoException) => reject(new FlError(key,
      `${key} ${address}: ${err.code === 'EADDRINUSE' ? 'the port is in use (another coordinator running?); stop it or choose another port' : err.code === 'EACCES' ? 'permission denied for this port' : err.message}`, { cause: err })));
    srv.listen(at.port, at.host, () => srv.close(() => resolve()));
  });
}

/** The last (non-voided) round_aggregated digest per model for each round, from the study log. */
function loggedDigests(entries: readonly { type: string; [k: string]: unknown }[]): Map<number, Map<string, { digest: string; seq: number }>> {
  const out = new Map<number, Map<string, { digest: string; seq: number }>>();
  for (const e of entries) {
    if (e.type === 'round_interrupted') out.delete(e.round as number);
    if (e.type !== 'round_aggregated') continue;
    const r = e.round as number;
    if (!out.has(r)) out.set(r, new Map());
    out.get(r)!.set(e.model as string, { digest: e.aggregated_digest as string, seq: e.seq as number });
  }
  return out;
}

/**
 * report.json when it is the one named by the last `report` record of the study log written after
 * the last resume (then it is final), else null.
 */
async function reportOnRecord(reportPath: string, entries: readonly { type: string; seq: number; [k: string]: unknown }[]): Promise<{ report: StudyReport & { state: 'completed' | 'failed' | 'stopped'; reason?: string | null }; sha256: string } | null> {
  const lastResume = entries.filter((e) => e.type === 'study_resumed').at(-1)?.seq ?? -1;
  const rec = entries.filter((e) => e.type === 'report').at(-1);
  if (!rec || rec.seq < lastResume || !existsSync(reportPath)) return null;
  const text = await readFile(reportPath);
  const sha256 = createHash('sha256').update(text).digest('hex');
  if (sha256 !== rec.digest) return null;
  const report = JSON.parse(text.toString('utf8')) as StudyReport & { state: 'completed' | 'failed' | 'stopped'; reason?: string | null };
  return ['completed', 'failed', 'stopped'].includes(report.state) ? { report, sha256 } : null;
}

export async function startCoordinator(file: CoordinatorFile, opts: StartOptions): Promise<CoordinatorHandle> {
  const { study, coordinator } = file;
  const log = opts.log;
  const dataDir = coordinator.data_dir;
  // Before the first byte is written: an ended study is left alone; the data_dir must be
  // writable, the certificates readable and the port free (a failed start leaves nothing behind).
  const ended = await readStudyEnd(dataDir);
  if (ended) throw new StudyEndedError(ended, dataDir);
  await checkWritableDir(dataDir, 'coordinator.data_dir');
  const creds = coordinator.insecure ? insecureServerCredentials(log) : serverCredentials(coordinator.tls!, log);
  await checkPortFree(coordinator.listen);
  const bulkAt = bulkAddress(coordinator.listen, coordinator.bulk_port);
  if (bulkAt && coordinator.bulk_port !== undefined) await checkPortFree(`${bulkAt.host}:${bulkAt.port}`, 'coordinator.bulk_port');
  const statePath = join(dataDir, 'state.json');
  // A damaged state is an error naming the file and both digests (never a silent restart).
  let saved: StudyState | null = await loadStudyState(statePath);
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
  // strategies and the checkpoint checks see the trained (image) models only; fit-from-sums.ts fits
  // the others after the rounds.
  const trainedStudy = { ...study, models: study.models.filter((m) => !isSumsModel(m)) };
  const { byModel: strategies, accounting } = createStudyStrategies(trainedStudy);
  // Resume after a crash or restart: finished rounds from the state file, models from checkpoints,
  // both checked against the digests in the study log. Nothing here ever starts history again.
  const studyDigest = canonicalDigest(study);
  let resumeFrom = 1;
  if (saved && saved.study_digest !== studyDigest) {
    throw new FlError('study.state', `${dataDir} holds the state of a different study configuration (digest ${saved.study_digest.slice(0, 12)}...); use a new data_dir`);
  }
  // A snapshot of the log as found at start (the log's own array grows with every append).
  const logEntries = [...(studyLog?.entries() ?? [])] as unknown as { type: string; seq: number; [k: string]: unknown }[];
  if (!saved && logEntries.some((e) => e.type === 'study_config')) {
    const rounds = new Set(logEntries.filter((e) => e.type === 'round_aggregated').map((e) => e.round as number));
    throw new FlError('study.state', `${statePath} is missing, but the study log ${coordinator.audit_dir ?? join(dataDir, 'audit')} already records this study (${logEntries.length} records, ${rounds.size} aggregated round(s)); starting again would fork its history. Restore state.json from a backup, or use a new data_dir for a new study`);
  }
  if (saved) {
    const last = saved.rounds.filter((r) => r.state !== 'failed').at(-1)?.round ?? 0;
    const logged = loggedDigests(logEntries).get(last);
    for (const m of trainedStudy.models) {
      const path = store.checkpointPath(m.name, last);
      const expected = last === 0 ? null : saved.rounds.find((r) => r.round === last)?.models[m.name]?.global_digest ?? null;
      const inLog = logged?.get(m.name);
      if (expected && inLog && inLog.digest !== expected) {
        throw new FlError('study.state', `${statePath}: round ${last} of "${m.name}" has digest ${expected}, the study log (record ${inLog.seq}) has ${inLog.digest}; the state does not belong to this log`);
      }
      let g;
      try {
        g = await store.version(m.name, last);
      } catch (err) {
        const found = /content ([0-9a-f]{64})/.exec((err as Error).message)?.[1];
        throw new FlError('study.checkpoint', `checkpoint ${path} is damaged or missing (expected digest ${expected ?? inLog?.digest ?? '(round 0)'}, found ${found ?? (err as Error).message}); restore it from a backup (the study log and the other checkpoints are untouched)`, { cause: err });
      }
      if (expected && g.digest !== expected) {
        throw new FlError('study.checkpoint', `checkpoint ${path} does not match the study log (expected digest ${expected}, found ${g.digest}); restore it from a backup`);
      }
      store.adopt(g);
    }
    resumeFrom = last + 1;
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
  // Tabular models: their fitted version (1) when a resumed study already fitted them, else the
  // unfitted marker until the fit after the rounds (a fit is deterministic in the sums).
  const fittedPath = join(dataDir, 'fitted.json');
  let fittedSaved: Record<string, unknown> | null = null;
  for (const m of study.models) {
    if (!isSumsModel(m)) continue;
    const fitted = saved && saved.phase && saved.phase !== 'training' ? await store.version(m.name, 1).catch(() => null) : null;
    if (fitted) store.adopt(fitted);
    else if (!store.has(m.name)) await store.put(m.name, 0, unfittedTensorSet(), { round: 0, initial: true });
  }
  if (saved && saved.phase && saved.phase !== 'training' && existsSync(fittedPath)) {
    fittedSaved = JSON.parse(await readFile(fittedPath, 'utf8')) as Record<string, unknown>;
  }
  let savedStrategy: Record<string, Record<string, unknown>> = (saved?.strategy_state ?? {}) as Record<string, Record<string, unknown>>;
  let phase: StudyPhase = saved?.phase ?? 'training';
  let progress: EvaluationProgress | null = saved?.evaluation ?? null;
  const progressAtStart = progress;
  const saveState = (p: StudyPhase, extra: { ended?: StudyEnd } = {}) =>
    saveStudyState(statePath, { version: 2, study_digest: studyDigest, phase: p, rounds: [...engine.results], strategy_state: savedStrategy as never, ...(progress ? { evaluation: progress } : {}), ...extra });
  // Each model carries its endpoint (the chain of levels down to its own) to the sites.
  const modelConfigs = modelConfigsFor(study.models.map((m) => ({ ...m, endpoint: endpointChain(study, m) ?? undefined })));
  const phases = new PhaseExchange(study.id, sites);
  const engine = new RoundEngine({
    study: trainedStudy, store, strategies, sites, events, dataDir, log, modelConfigs, phases,
    declaredExamples: (site) => sites.all().find((x) => x.site === site)?.cohortCounts.train,
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
      savedStrategy = encoded;
      await saveStudyState(statePath, { version: 2, study_digest: studyDigest, phase: 'training', rounds: [...results], strategy_state: encoded });
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
    accounting?.restore(saved.rounds.filter((r) => r.state !== 'failed').length * trainedStudy.models.length);
    log.info({ round: resumeFrom, phase: saved.phase ?? 'training' }, saved.phase && saved.phase !== 'training' ? `resuming the study at ${saved.phase}` : 'resuming the study after the last completed round');
    // An attempt of the next round that was started but never saved is recorded as interrupted,
    // so its re-run is not a fork of the history.
    const lastStarted = logEntries.filter((e) => e.type === 'round_started').at(-1);
    const lastVoid = logEntries.filter((e) => e.type === 'round_interrupted').at(-1);
    if (lastStarted && (lastStarted.round as number) >= resumeFrom && (!lastVoid || lastVoid.seq < lastStarted.seq)) {
      await recorder.append({ type: 'round_interrupted', round: lastStarted.round as number, reason: 'the coordinator stopped before the round was saved; it is run again' });
    }
    await recorder.append({ type: 'study_resumed', phase: saved.phase ?? 'training', from_round: resumeFrom });
  }

  // eslint-disable-next-line prefer-const -- assigned once below; closures above need the binding
  let handle!: CoordinatorHandle;
  let started = false;
  let state = 'waiting';
  let resolveStart!: () => void;
  const startSignal = new Promise<void>((r) => (resolveStart = r));
  const deny = new DenyList(opts.denyFingerprints ?? []);
  // A reload also ends the open sessions of certificates it revokes (not only their next call).
  const closeRevoked = () => {
    const closed = sites.closeRevoked((fp) => deny.has(fp));
    if (closed.length > 0) log.warn({ sites: closed }, 'closed the sessions of revoked certificates');
  };
  const revocations = coordinator.revoked_fingerprints_file ? watchRevocations(coordinator.revoked_fingerprints_file, opts.denyFingerprints ?? [], deny, log, 1000, closeRevoked) : null;
  const gate = coordinator.insecure ? insecureGatekeeper() : mtlsGatekeeper(deny, log);
  const evaluation = new EvaluationCollector(study.id, sites, gate, log, study.reconnect_grace_s * 1000, study.levels?.length ?? 1);
  const cosigning = studyLog && auditKey ? new Cosigning(studyLog, auditKey, sites, log, events) : null;
  // Listed sites that never connected are shown too (not connected, never seen), so a status reads
  // "1/2 sites connected" rather than "1/1" while the other hospital is still down.
  const status = (): StatusResponse => {
    const seen = sites.all();
    const missing = (study.sites ?? []).filter((s) => !seen.some((x) => x.site === s));
    return {
      studyId: study.id, state, round: engine.currentRound,
      sites: [
        ...seen.map((s) => ({ siteId: s.site, connected: s.connected, backend: s.backend, lastSeenUnixMs: s.lastSeen, cosignRefused: cosigning?.refused.get(s.site) ?? '' })),
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
  const recordAdmin = (action: string, by: { name: string; fingerprint: string | null }) => {
    log.info({ admin: by.name, fingerprint: by.fingerprint, action }, 'admin action');
    recorder.append({ type: 'admin_action', action, admin: by.name, ...(by.fingerprint ? { cert_fingerprint: by.fingerprint } : {}) })
      .catch((err: Error) => log.error({ err }, 'could not record admin_action'));
  };
  const joined = new Set<string>();
  sites.onChange((site, connected) => {
    const fp = sites.all().find((x) => x.site === site)?.fingerprint;
    if (!connected || !fp || joined.has(`${site}/${fp}`)) return;
    joined.add(`${site}/${fp}`);
    const info = sites.all().find((x) => x.site === site);
    const pk = info?.publicKey;
    const train = info?.cohortCounts.train;
    recorder.append({
      type: 'site_joined', site, cert_fingerprint: fp, ...(pk ? { public_key: pk } : {}),
      ...(info?.certificate ? { certificate: info.certificate } : {}),
      ...(train !== undefined ? { train_cases: train } : {}),
      ...(info?.joinSignature ? { join_signature: info.joinSignature } : {}),
    }).catch((err: Error) => log.error({ err }, 'could not record site_joined'));
  });
  // The bulk channel for model bytes (uploads and downloads). An explicit bulk_port that cannot be
  // bound stops the start (checked above); the default (any free port) binds.
  let bulk: BulkListener | null = null;
  if (bulkAt) {
    const tls = coordinator.insecure ? null : loadTlsKit(coordinator.tls!);
    bulk = await BulkListener.listen(bulkAt.host, bulkAt.port, tls, {
      headerMs: coordinator.header_timeout_s * 1000, log,
      ...(coordinator.bulk_advertised_port !== undefined ? { advertisePort: coordinator.bulk_advertised_port } : {}),
    }).catch((err: NodeJS.ErrnoException) => {
      if (coordinator.bulk_port !== undefined) throw new FlError('coordinator.bulk_port', `coordinator.bulk_port ${bulkAt.host}:${bulkAt.port}: ${err.message}`, { cause: err });
      log.warn({ port: bulkAt.port, err: err.message }, 'the bulk channel could not listen; model transfers go on the gRPC call (set coordinator.bulk_port, or "off")');
      return null;
    });
  }
  const server = createGrpcServer({
    bulk,
    studyId: study.id, allowedSites: study.sites, gate, sites, store, engine, events, log, heartbeatIntervalMs: 15_000, evaluation,
    ...(cosigning ? { onCosignature: (site: string, r: CosignResponse) => void cosigning.receive(site, r) } : {}),
    onPhaseReply: (site, r) => phases.receive(site, r),
    streamTimeouts: { headerMs: coordinator.header_timeout_s * 1000, progressMs: coordinator.progress_timeout_s * 1000 },
    maxUploadsPerParty: study.models.length + 1,
    onTaskRefused: (site, taskId, reason) => {
      recorder.append({ type: 'task_refused', site, task_id: taskId, reason }).catch((err: Error) => log.error({ err }, 'could not record task_refused'));
      events.publish({ type: 'log', level: 'warn', message: `site ${site} refused task ${taskId}: ${reason}` });
    },
    admin: {
      status,
      start: (by) => {
        recordAdmin('start', by);
        handle.start();
      },
      stop: (by, evaluate) => {
        recordAdmin('stop', by);
        handle.stop(`admin "${by.name}"`, { evaluate });
      },
    },
  }, { ...serverOptions(), ...opts.serverOptions });
  const port = await bindServer(server, coordinator.listen, creds, log).catch(async (err: unknown) => {
    await bulk?.close();
    throw err;
  });
  log.info({ port, bulk_port: bulk?.port ?? null, study: study.id, secure: !coordinator.insecure }, 'coordinator listening');

  let stopRequest: { by: string; resumable: boolean; evaluate: boolean } | null = null;
  const reportPath = join(dataDir, 'report.json');
  // Killed after report.json and its `report` record were written but before state.json said the
  // study ended: that report is final (its digest is in the study log, after the last resume), so
  // the restart finishes the study without computing or writing it again.
  const finalReport = phase === 'reporting' ? await reportOnRecord(reportPath, logEntries) : null;
  // Once the study has ended, every site that connects is told so (a site that was reconnecting
  // while the coordinator was down learns it here); the coordinator lingers until each site that
  // took part was told, at most reconnect_grace_s.
  const told = new Set<string>();
  let endMessage: string | null = null;
  sites.onChange((site, connected) => {
    if (connected && endMessage !== null && sites.send(site, { type: 'stop', reason: endMessage })) told.add(site);
  });
  /** What the sites are told when the study ends (the same words on a restart that finishes it). */
  const endMessageFor = (st: 'completed' | 'failed' | 'stopped', by: string | null, reason: string | null): string =>
    st === 'completed' ? 'study completed' : st === 'stopped' ? `study stopped${by ? ` by ${by}` : ''}` : `study failed: ${reason ?? 'unknown'}`;
  const announceEnd = async (why: string) => {
    endMessage = why;
    for (const s of sites.connectedSites()) if (sites.send(s, { type: 'stop', reason: why })) told.add(s);
    const participants = new Set(engine.results.flatMap((r) => r.participants));
    const untold = () => [...participants].filter((s) => !told.has(s));
    if (untold().length === 0) return;
    log.info({ sites: untold(), wait_s: study.reconnect_grace_s }, 'waiting for sites that took part to reconnect, to tell them the study ended');
    const t0 = Date.now();
    while (untold().length > 0 && Date.now() - t0 < study.reconnect_grace_s * 1000) await new Promise((r) => setTimeout(r, 100));
    if (untold().length > 0) log.warn({ sites: untold() }, 'these sites were not told that the study ended (not connected); they stop when they next reach the coordinator or are stopped by hand');
  };
  const done = (async (): Promise<StudyOutcome> => {
    await startSignal;
    const t0 = Date.now();
    if (finalReport) {
      const r = finalReport.report;
      const endState = r.state;
      const reason = r.reason ?? null;
      const by = endState === 'stopped' ? /^stopped by (.+)$/.exec(reason ?? '')?.[1] ?? null : null;
      log.info({ report: reportPath, sha256: finalReport.sha256 }, 'the report was written before the restart (its digest is in the study log); finishing the study without writing it again');
      state = endState;
      if (endState === 'completed') events.publish({ type: 'study_completed', rounds: engine.results.length });
      // Sites first, then the ended state (see the end of a study below).
      await announceEnd(endMessageFor(endState, by, reason));
      await saveState(endState, { ended: { state: endState, reason, by, report: reportPath, report_sha256: finalReport.sha256, at: new Date().toISOString() } });
      return { state: endState, ...(reason ? { reason } : {}), ...(by ? { stoppedBy: by } : {}), rounds: engine.results, report: r as StudyReport };
    }
    let outcome: Omit<StudyOutcome, 'report'>;
    let extra: Record<string, unknown> = {};
    // Held-out evaluation: the caller's hook, or the study's own when it configures `evaluation`
    // (loaded on demand: a training-only study needs none of the statistics code).
    const afterTraining = opts.afterTraining ?? (study.evaluation
      ? async (ctx: { handle: CoordinatorHandle; rounds: RoundResult[] }) => ({
        ...(await (await import('./study-evaluation.js')).runStudyEvaluation(ctx.handle, ctx.rounds, log)),
        // Table 1 (baseline characteristics) from the sites' aggregates, asked once after the held-out evaluation.
        ...(await (await import('./table1.js')).collectTable1(ctx.handle, log)),
      })
      : undefined);
    const evaluate = async () => {
      state = 'evaluating';
      if (phase === 'training') {
        phase = 'evaluating';
        await saveState(phase);
      }
      return afterTraining ? afterTraining({ handle, rounds: engine.results }) : {};
    };
    try {
      if (phase === 'training') {
        state = 'training';
        if (trainedStudy.models.length > 0) await engine.runRounds(resumeFrom);
        // Tabular models: fitted from the sites' sums once the image rounds are done, before the freeze.
        if (trainedStudy.models.length < study.models.length) {
          state = 'fitting';
          const { fitModelsFromSums } = await import('./fit-from-sums.js');
          fittedSaved = await fitModelsFromSums({
            file, store, sites, events, modelConfigs, recorder, transportFor: (round, model, s) => phases.transport(round, model, s),
          }, engine.results, log);
          await atomicWriteFile(fittedPath, JSON.stringify(fittedSaved));
          // The sites co-sign the log with the fit records (as after a round); a site that has not
          // co-signed before pins the log key here, before any freeze notice asks it to check a proof.
          if (cosigning && !coordinator.insecure) cosigning.request(sites.connectedSites());
        }
      }
      if (fittedSaved) extra = { fitted: fittedSaved };
      // Also when resumed at reporting: every result is saved, so nothing is asked again and the
      // statistics are recomputed from the same inputs.
      if (afterTraining) extra = { ...extra, ...(await evaluate()) };
      outcome = { state: 'completed', rounds: engine.results };
      events.publish({ type: 'study_completed', rounds: engine.results.length });
    } catch (err) {
      const stop = err instanceof StudyStoppedError ? stopRequest ?? { by: err.by, resumable: err.resumable, evaluate: false } : null;
      if (stop) {
        outcome = { state: 'stopped', reason: `stopped by ${stop.by}`, stoppedBy: stop.by, resumable: stop.resumable, rounds: engine.results.filter((r) => r.state !== 'failed' || !/^study stopped/.test(r.reason ?? '')) };
        await recorder.append({ type: 'study_stopped', by: stop.by, resumable: stop.resumable, phase, completed_rounds: engine.results.filter((r) => r.state !== 'failed').length });
        // `fl study stop --evaluate`: freeze the last completed round and evaluate it.
        if (stop.evaluate && !stop.resumable && afterTraining && engine.results.some((r) => r.state !== 'failed')) {
          try {
            extra = await evaluate();
          } catch (e) {
            extra = { evaluation_error: (e as Error).message };
          }
        }
      } else if (err instanceof StudyFailedError) {
        outcome = { state: 'failed', reason: err.message, rounds: engine.results };
      } else {
        // Disk full, an I/O error, anything unexpected: the study is interrupted, not ended; the
        // last saved state stays valid and a restart continues from it.
        const storage = err instanceof StudyStorageError || err instanceof AtomicWriteError || (err as Error).cause instanceof AtomicWriteError;
        const reason = storage ? (err as Error).message : `internal error: ${(err as Error).message}`;
        if (!storage) log.error({ err }, 'study interrupted by an internal error');
        else log.error(reason);
        outcome = { state: 'interrupted', reason, rounds: engine.results };
      }
      if (outcome.state !== 'stopped') events.publish({ type: 'study_failed', reason: outcome.reason ?? 'unknown' });
    }
    state = outcome.state;
    if (outcome.state === 'interrupted') {
      // Tell the sites (they keep reconnecting and continue when the coordinator is back).
      sites.closeAll(`coordinator stopped: ${outcome.reason}; the study continues when it is restarted`);
      const report = buildReport({ file, outcome: { ...outcome, state: 'failed' }, store, sites: sites.all(), startedAt: t0, endedAt: Date.now(), extra });
      return { ...outcome, report };
    }
    // The report names every listed site that never joined or left, and why.
    extra = { ...extra, sites_absent: absentSites() };
    const report = buildReport({ file, outcome: outcome as never, store, sites: sites.all(), startedAt: t0, endedAt: Date.now(), extra });
    const reportText = JSON.stringify(report, null, 2) + '\n';
    try {
      if (outcome.state !== 'stopped' || !outcome.resumable) {
        phase = 'reporting';
        await saveState(phase);
      }
      const written = await atomicWriteFile(reportPath, reportText);
      if (report.cohorts) await atomicWriteFile(join(dataDir, 'report.html'), renderStudyHtml(report));
      await recorder.append({ type: 'report', digest: written.sha256, state: report.state });
      if (outcome.state !== 'stopped' || !outcome.resumable) {
        // The sites are told before state.json says the study ended: a coordinator killed in
        // between restarts in the reporting phase and tells them again (above). In the other order
        // a kill after the ended state left reconnecting sites waiting for ever, since a restart
        // of an ended study only says so and exits.
        const endState = outcome.state as 'completed' | 'failed' | 'stopped';
        await announceEnd(endMessageFor(endState, outcome.stoppedBy ?? null, outcome.reason ?? null));
        await saveState(endState, { ended: { state: endState, reason: outcome.reason ?? null, by: outcome.stoppedBy ?? null, report: reportPath, report_sha256: written.sha256, at: new Date().toISOString() } });
      }
    } catch (err) {
      const reason = (err as Error).message;
      log.error(reason);
      sites.closeAll(`coordinator stopped: ${reason}; the study continues when it is restarted`);
      return { state: 'interrupted', reason, rounds: engine.results, report };
    }
    // A resumable stop is a restart, not the end: the sites keep their sessions alive by reconnecting.
    if (outcome.state === 'stopped' && outcome.resumable) sites.closeAll(`coordinator stopped (${outcome.stoppedBy}); the study continues when it is restarted`);
    return { ...outcome, report };
  })();

  /** Listed sites that never joined, or left and did not come back, with the reason. */
  function absentSites(): Record<string, string> {
    const out: Record<string, string> = {};
    const seen = new Map(sites.all().map((s) => [s.site, s]));
    for (const s of study.sites ?? []) {
      const info = seen.get(s);
      const inRounds = engine.results.some((r) => r.participants.includes(s));
      if (!info && !inRounds) out[s] = 'never joined';
      else if (!info) out[s] = 'took part before a coordinator restart and did not reconnect';
      else if (!info.connected) {
        const dropped = [...engine.results].reverse().find((r) => r.dropped[s]);
        out[s] = `left (last seen ${new Date(info.lastSeen).toISOString()})${dropped ? `; dropped from round ${dropped.round}: ${dropped.dropped[s]}` : ''}`;
      }
    }
    return out;
  }

  handle = {
    port, events, engine, store, sites, done, evaluation, modelConfigs, file, recorder, status, phases,
    start() {
      if (started) return;
      started = true;
      resolveStart();
    },
    stop(by, o = {}) {
      stopRequest ??= { by, resumable: o.resumable ?? false, evaluate: o.evaluate ?? false };
      log.warn({ by, resumable: stopRequest.resumable }, stopRequest.resumable ? 'stopping: the study resumes when the coordinator starts again' : 'study stopped');
      engine.stop(by, stopRequest.resumable);
      if (!started) handle.start(); // --wait-for-admin: the study loop records the stop and writes the report
      evaluation.stop(new StudyStoppedError(by, stopRequest.resumable));
    },
    resume: {
      saved: progressAtStart,
      save: async (p) => {
        progress = p;
        await saveState(phase);
      },
      results: new EvaluationResultStore(dataDir),
      waitForSites: (list) => engine.waitForSites(list, study.join_timeout_s * 1000),
      recordedResults: new Set(logEntries.filter((e) => e.type === 'evaluation_result').map((e) => recordedResultKey(String(e.site), String(e.results_digest)))),
    },
    async close() {
      if (!started) engine.stop('shutdown', true);
      else handle.stop('shutdown', { resumable: true });
      phases.close();
      revocations?.close();
      sites.closeAll('coordinator shutting down');
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
      await bulk?.close();
      // Let the study loop record how it ended before the log is closed.
      if (started) await done.catch(() => undefined);
      await studyLog?.close();
      await natsEvents?.close(5000);
    },
  };
  if (opts.autoStart ?? true) handle.start();
  return handle;
}
