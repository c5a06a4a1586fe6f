// Fits the study's tabular models (families logistic, lasso_logistic, gbdt) from the sites' sums,
// once the image rounds (if any) are done and before the freeze: models in dependency order (a
// model whose inputs include another model's score comes after it), each dependency frozen in the
// study log before its scores are read, every fitted model stored as a tensor set (version 1) and
// recorded with its digest. The sums travel as `tabular.sums` phase exchanges through a
// PhaseTransport; a study with secure aggregation passes its own `transportFor` (the seam: the
// secure-aggregation transport sums the sites' vectors and answers with the total as one reply).
import type { Logger } from 'pino';
import { z } from 'zod';
import { isSumsModel, type CoordinatorFile } from '../shared/config/study.js';
import type { ModelConfigs } from '../shared/protocol/index.js';
import type { PhaseTransport } from '../shared/strategies/types.js';
import { tabularConfig, encodeTabularModel, deepColumn, SECOND_DELINEATION, type PcaInput, type TabularModel } from '../shared/families/tabular/index.js';
import { Federation } from '../shared/tabular/federation.js';
import { pooledPca } from '../shared/tabular/stats.js';
import { fitTabular, type Fitted, type FitSpec } from '../shared/tabular/fit.js';
import { columnTerms } from '../shared/tabular/config.js';
import type { SiteReply, SiteRequest, Transport } from '../shared/tabular/protocol.js';
import { DEFAULT_SETTINGS, featureNames } from '../shared/radiomics/extract.js';
import { parseRegion, regionName } from '../shared/radiomics/regions.js';
import { errorMessage, FlError } from '../shared/errors/index.js';
import type { ModelStore } from './model-store.js';
import type { SiteRegistry } from './site-registry.js';
import type { EventBus } from '../shared/events/events.js';
import { StudyFailedError, type RoundResult, type StudyRecorder } from './round-engine.js';
import { chooseVersions } from './study-evaluation.js';

export interface FitFromSumsHost {
  readonly file: CoordinatorFile;
  readonly store: Pick<ModelStore, 'get' | 'put' | 'version'>;
  readonly sites: Pick<SiteRegistry, 'connectedSites'>;
  readonly events: Pick<EventBus, 'publish'>;
  readonly modelConfigs: ModelConfigs;
  readonly recorder?: StudyRecorder;
  /** The phase transport of one model's fit over the given sites (PhaseExchange.transport, or secure aggregation's). */
  transportFor(round: number, model: string, sites: readonly string[]): PhaseTransport;
}

/** `fitted.<model>` of the report: the fit's object plus where the fitted model is stored. */
export type FittedReport = Fitted & { version: number; digest: string; depends_on: string[]; pca?: Record<string, unknown> };

const FIT_VERSION = 1;

/** The model names a tabular entry reads as inputs (its `inputs.scores`). */
function dependenciesOf(m: CoordinatorFile['study']['models'][number]): string[] {
  const inputs = (m.config as { inputs?: { scores?: unknown; deep_features?: { model?: unknown } } }).inputs;
  const scores = Array.isArray(inputs?.scores) ? inputs.scores.map(String) : [];
  const deep = inputs?.deep_features?.model;
  return typeof deep === 'string' && !scores.includes(deep) ? [...scores, deep] : scores;
}

/** Width of an image network's penultimate layer: the input size of its output layer (the last 2-D kernel). */
export function penultimateWidth(infos: readonly { name: string; shape: readonly number[] }[], model: string): number {
  const kernel = [...infos].reverse().find((t) => t.shape.length === 2);
  if (!kernel) throw new StudyFailedError(`model "${model}" has no dense output layer whose input could serve as deep features`);
  return kernel.shape[0]!;
}

/** Tabular models in dependency order; an unknown or circular dependency is a config error naming the model. */
export function fitOrder(models: CoordinatorFile['study']['models']): string[] {
  const byName = new Map(models.map((m) => [m.name, m]));
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    const m = byName.get(name)!;
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new FlError('config.invalid', `study.models: circular score inputs ${[...path, name].join(' -> ')}`, { user: true });
    state.set(name, 'visiting');
    for (const d of dependenciesOf(m)) {
      if (!byName.has(d)) throw new FlError('config.invalid', `study.models ("${name}").inputs.scores: no model "${d}" in the study`, { user: true });
      if (d === name) throw new FlError('config.invalid', `study.models ("${name}").inputs.scores: a model cannot read its own score`, { user: true });
      visit(d, [...path, name]);
    }
    state.set(name, 'done');
    if (isSumsModel(m)) order.push(name);
  };
  for (const m of models) visit(m.name, []);
  return order;
}

/** The predictor columns and ICC pairs of a tabular entry, in the order the site builds them. */
export function fitSpecOf(entry: { name: string; architecture: string; config: Record<string, unknown> }): FitSpec {
  const cfg = tabularConfig(entry);
  const columns = (cfg.inputs.columns ?? []).flatMap((c) => columnTerms(c).terms);
  const iccPairs: Record<string, string> = {};
  const r = cfg.inputs.radiomics;
  if (r) {
    const features = r.features ?? featureNames(DEFAULT_SETTINGS.families);
    for (const region of r.regions) {
      for (const f of features) {
        const col = `${r.modality}.${regionName(parseRegion(region))}.${f}`;
        columns.push(col);
        iccPairs[col] = col + SECOND_DELINEATION;
      }
    }
  }
  columns.push(...(cfg.inputs.scores ?? []));
  const deep = cfg.inputs.deep_features;
  if (deep) for (let c = 1; c <= deep.components; c++) columns.push(`${deep.model}.pc${c}`);
  const sel = cfg.selection;
  return {
    family: cfg.family, outcome: cfg.outcome ?? 'label', columns,
    ...(sel && r ? { iccPairs, iccMin: sel.icc_min } : {}),
    ...(sel ? { pearsonMax: sel.pearson_max } : {}),
    ...(sel && cfg.family === 'lasso_logistic' ? {
      ...(sel.lasso.lambda !== undefined ? { lambda: sel.lasso.lambda } : {}),
      folds: sel.lasso.folds, rule: sel.lasso.rule, seed: sel.lasso.seed, nlambda: sel.lasso.nlambda,
    } : {}),
    ...(cfg.gbdt ? {
      gbdt: {
        rounds: cfg.gbdt.rounds, maxDepth: cfg.gbdt.max_depth, learningRate: cfg.gbdt.learning_rate, lambda: cfg.gbdt.lambda,
        gamma: cfg.gbdt.gamma, minChildWeight: cfg.gbdt.min_child_weight, bins: cfg.gbdt.bins,
      },
    } : {}),
    minCell: cfg.min_cell, onRefusal: 'fail',
  };
}

/** The fitted model as the tensor set the store, the freeze and the sites' scoring use. */
export function modelOf(f: Fitted, dependencies: TabularModel['dependencies'], pca: readonly PcaInput[] = []): TabularModel {
  const features = f.family === 'gbdt' ? f.selected.model : f.terms.filter((t) => t.term !== '(Intercept)' && t.estimate !== null && t.estimate !== 0).map((t) => t.term);
  // Components the model does not use are left out; a source model is kept while any of its components is.
  const usedPca = pca.map((p) => {
    const keep = p.names.map((n, c) => [n, c] as const).filter(([n]) => features.includes(n));
    return { ...p, names: keep.map(([n]) => n), loadings: keep.map(([, c]) => p.loadings[c]!) };
  }).filter((p) => p.names.length > 0);
  const deps = dependencies.filter((d) => features.includes(d.model) || usedPca.some((p) => p.model === d.model));
  const extra = usedPca.length > 0 ? { pca: usedPca } : {};
  if (f.family === 'gbdt') {
    return { family: 'gbdt', features, baseScore: f.gbdt!.baseScore, edges: f.gbdt!.edges, trees: f.gbdt!.trees, dependencies: deps, ...extra };
  }
  const intercept = f.terms.find((t) => t.term === '(Intercept)');
  return { family: f.family, features, intercept: intercept?.estimate ?? 0, coef: features.map((n) => f.terms.find((t) => t.term === n)!.estimate!), dependencies: deps, ...extra };
}

// Replies are input from outside: numbers only, in the shapes of shared/tabular/protocol.ts.
const n = z.number().finite();
const vec = z.array(n);
const mat = z.array(vec);
const replySchemas: Record<SiteRequest['kind'], z.ZodType> = {
  moments: z.strictObject({ droppedMissing: n, subsets: z.array(z.strictObject({ n, events: n, sum: vec, sumSq: vec, cross: mat.optional() })) }),
  icc: z.strictObject({ droppedMissing: n, pairs: z.array(z.strictObject({ n, s1: n, s2: n, ss: n, subjectSq: n })) }),
  glm: z.strictObject({ droppedMissing: n, tasks: z.array(z.strictObject({ n, events: n, score: vec, information: mat, deviance: n, saturated: n })) }),
  deviance: z.strictObject({ droppedMissing: n, tasks: z.array(z.strictObject({ n, deviance: vec })) }),
  sketch: z.strictObject({ droppedMissing: n, n, counts: mat }),
  histograms: z.strictObject({ droppedMissing: n, nodes: z.array(z.strictObject({ id: n, count: n, grad: mat, hess: mat })), small: vec }),
};

const REFUSAL = /refused: (min_cell|hessian_rows|no_rows): (.*)$/s;

/** One model's fit over the phase transport: each request is one round trip to every participating site. */
/**
 * A site that is cut off mid-fit (disconnect, deadline) is asked again once it is back: a sums
 * request is stateless at the site, so the same request gives the same sums. `retry.waitFor`
 * resolves when the sites are connected again (false after the grace period: the fit fails).
 */
export interface SumsRetry {
  readonly attempts: number;
  waitFor(sites: readonly string[]): Promise<boolean>;
}

export function sumsTransport(
  pt: PhaseTransport, payloadBase: { spec: unknown; modelConfigs: unknown; dependencies: unknown; deep?: unknown }, deadlineMs: number,
  stats: { bytesOut: number; bytesIn: number; retries?: number }, retry: SumsRetry = { attempts: 0, waitFor: async () => false },
): Transport {
  return async (request) => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...payloadBase, request }));
    const replies: SiteReply[] = [];
    let ask = [...pt.sites];
    for (let attempt = 0; ask.length > 0; attempt++) {
      stats.bytesOut += bytes.byteLength * ask.length;
      const { answers, failures } = await pt.exchange('tabular.sums', new Map(ask.map((s) => [s, bytes])), deadlineMs);
      const lost: { site: string; reason: string }[] = [];
      for (const f of failures) {
        const m = REFUSAL.exec(f.reason);
        if (m) replies.push({ site: f.site, ok: false, code: m[1] as 'min_cell', message: m[2]! });
        else if (/refused: /.test(f.reason)) throw new StudyFailedError(`site ${f.site} could not answer a ${request.kind} request of the fit: ${f.reason}`);
        else lost.push(f);
      }
      for (const [site, payload] of answers) {
        stats.bytesIn += payload.byteLength;
        let json: unknown;
        try { json = JSON.parse(new TextDecoder().decode(payload)); } catch { throw new StudyFailedError(`site ${site}: its ${request.kind} reply is not JSON`); }
        const r = replySchemas[request.kind].safeParse(json);
        if (!r.success) throw new StudyFailedError(`site ${site}: its ${request.kind} reply does not have the expected shape (${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message})`);
        replies.push({ site, ok: true, ...(r.data as object) } as SiteReply);
      }
      ask = lost.map((f) => f.site);
      if (ask.length === 0) break;
      const why = lost.map((f) => `${f.site}: ${f.reason}`).join('; ');
      if (attempt >= retry.attempts || !(await retry.waitFor(ask))) {
        throw new StudyFailedError(`the fit needs every site's sums; ${why}${retry.attempts > 0 ? ` (asked ${attempt + 1} times)` : ''}`);
      }
      stats.retries = (stats.retries ?? 0) + ask.length;
    }
    // Sites in a fixed order, so the sums (and the fit) do not depend on network timing.
    return replies.sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0));
  };
}

async function waitForSites(h: FitFromSumsHost): Promise<string[]> {
  const { study } = h.file;
  const deadline = Date.now() + study.join_timeout_s * 1000;
  for (;;) {
    const connected = h.sites.connectedSites();
    const all = study.sites ? study.sites.every((s) => connected.includes(s)) : false;
    if (all || (connected.length >= study.min_sites && (Date.now() >= deadline || !study.sites))) return [...connected].sort();
    if (Date.now() >= deadline) throw new StudyFailedError(`fits from sums: only ${connected.length} of min_sites ${study.min_sites} sites connected within join_timeout_s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Fits every tabular model of the study; returns `fitted.<model>` objects for the report. Image
 * models whose scores are inputs are frozen (study log) at the version the evaluation will freeze.
 */
export async function fitModelsFromSums(h: FitFromSumsHost, rounds: readonly RoundResult[], log: Logger): Promise<Record<string, FittedReport>> {
  const { study } = h.file;
  const order = fitOrder(study.models);
  if (order.length === 0) return {};
  const participants = await waitForSites(h);
  const round = rounds.length;
  const byName = new Map(study.models.map((m) => [m.name, m]));
  const frozen = new Map<string, { model: string; version: number; digest: string }>();
  const out: Record<string, FittedReport> = {};
  const imageVersions = (() => {
    const trained = study.models.filter((m) => !isSumsModel(m)).map((m) => m.name);
    try {
      return trained.length > 0 ? chooseVersions(rounds, trained, study.evaluation?.selection ?? 'final') : new Map<string, number>();
    } catch {
      return new Map<string, number>();
    }
  })();
  for (const name of order) {
    const m = byName.get(name)!;
    const entry = { name, architecture: m.architecture ?? m.family!, config: m.config };
    const deps = dependenciesOf(m);
    // Freeze the models whose scores are inputs (durable record first), unless already frozen.
    const toFreeze: { model: string; version: number; digest: string }[] = [];
    for (const d of deps) {
      if (frozen.has(d)) continue;
      const v = imageVersions.get(d);
      if (v === undefined) throw new StudyFailedError(`model "${name}" reads the score of "${d}", which has no completed round or fit`);
      const g = await h.store.version(d, v);
      const ref = { model: d, version: g.version, digest: g.digest };
      frozen.set(d, ref);
      toFreeze.push(ref);
    }
    if (toFreeze.length > 0) {
      await h.recorder?.append({ type: 'models_frozen', stage: 'score_inputs', reason: `scores are inputs of "${name}"`, models: toFreeze });
    }
    const spec = fitSpecOf(entry);
    const dependencies = deps.map((d) => frozen.get(d)!);
    const stats: { bytesOut: number; bytesIn: number; retries?: number } = { bytesOut: 0, bytesIn: 0 };
    // A site cut off mid-fit gets reconnect_grace_s (at least 10 s) to come back; then it is asked again.
    const retry: SumsRetry = {
      attempts: 3,
      waitFor: async (lost) => {
        const until = Date.now() + Math.max(10, study.reconnect_grace_s) * 1000;
        while (Date.now() < until) {
          const connected = h.sites.connectedSites();
          if (lost.every((s) => connected.includes(s))) return true;
          await new Promise((r) => setTimeout(r, 200));
        }
        return false;
      },
    };
    const payloadBase = {
      spec: { family: m.family, architecture: entry.architecture, config: entry.config, ...(h.modelConfigs[name]?.endpoint ? { endpoint: h.modelConfigs[name]!.endpoint } : {}) },
      modelConfigs: Object.fromEntries(deps.map((d) => [d, h.modelConfigs[d]])),
      // Models whose scores are columns (a deep-feature source is sent under `deep`).
      dependencies: dependencies.filter((d) => spec.columns.includes(d.model)),
    };
    const phase = h.transportFor(round, name, participants);
    h.events.publish({ type: 'log', level: 'info', message: `fitting ${m.family} model "${name}" from the sums of ${participants.join(', ')}` });
    let fitted: Fitted;
    const pca: PcaInput[] = [];
    let pcaReport: Record<string, unknown> | undefined;
    let pcaTrips = 0;
    try {
      // Deep features: principal components of the pooled covariance of the network's
      // penultimate-layer features (train cohorts), then the fit on the leading components.
      const deepCfg = tabularConfig(entry).inputs.deep_features;
      let deep: { model: string; version: number; digest: string; pca?: PcaInput }[] = [];
      if (deepCfg) {
        const ref = frozen.get(deepCfg.model)!;
        const width = penultimateWidth((await h.store.version(ref.model, ref.version)).set.infos, ref.model);
        if (deepCfg.components > width) throw new StudyFailedError(`model "${name}": inputs.deep_features.components is ${deepCfg.components}, but "${ref.model}" has ${width} penultimate-layer features`);
        const fed = new Federation(sumsTransport(phase, { ...payloadBase, deep: [ref] }, study.round_deadline_s * 1000, stats, retry), 'fail');
        const raw = Array.from({ length: width }, (_, k) => deepColumn(ref.model, k));
        const pc = await pooledPca(fed, spec.outcome, raw);
        pcaTrips = fed.roundTrips;
        const k = deepCfg.components;
        const input: PcaInput = {
          model: ref.model, names: Array.from({ length: k }, (_, c) => `${ref.model}.pc${c + 1}`), center: pc.mean,
          loadings: Array.from({ length: k }, (_, c) => pc.loadings.map((row) => row[c]!)),
        };
        pca.push(input);
        deep = [{ ...ref, pca: input }];
        pcaReport = { model: ref.model, features: width, components: k, n: pc.n, variances: pc.variances.slice(0, k), explained: pc.explained.slice(0, k) };
      }
      fitted = await fitTabular(sumsTransport(phase, { ...payloadBase, ...(deep.length ? { deep } : {}) }, study.round_deadline_s * 1000, stats, retry), spec);
      fitted.round_trips += pcaTrips;
    } catch (err) {
      if (err instanceof StudyFailedError) throw err;
      throw new StudyFailedError(`model "${name}": ${errorMessage(err)}`, { cause: err });
    }
    const set = encodeTabularModel(modelOf(fitted, dependencies, pca));
    const g = await h.store.put(name, FIT_VERSION, set, { round: FIT_VERSION, fitted_from_sums: true });
    await h.recorder?.append({
      type: 'models_frozen', stage: 'fitted_from_sums',
      models: [{ model: name, version: g.version, digest: g.digest }],
      fit: { family: fitted.family, n: fitted.n, events: fitted.events, round_trips: fitted.round_trips, fit_ms: fitted.fit_ms, sites: participants, depends_on: deps },
    });
    frozen.set(name, { model: name, version: g.version, digest: g.digest });
    imageVersions.set(name, g.version);
    log.info({ model: name, family: fitted.family, n: fitted.n, roundTrips: fitted.round_trips, fitMs: fitted.fit_ms, bytesOut: stats.bytesOut, bytesIn: stats.bytesIn, retries: stats.retries ?? 0, digest: g.digest.slice(0, 12) }, 'tabular model fitted from sums');
    out[name] = { ...fitted, version: g.version, digest: g.digest, depends_on: deps, ...(pcaReport ? { pca: pcaReport } : {}) };
  }
  return out;
}
