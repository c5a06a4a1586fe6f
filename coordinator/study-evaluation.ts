// After training: choose each model's final version by the configured rule, choose its
// operating threshold on pooled federated validation predictions, FREEZE (study log first, then
// a notice to every site), and only then ask the sites to score their held-out cohorts.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { buildFreezeNotice, type FrozenModel, type ModelConfigs } from '../shared/protocol/index.js';
import type { PredictionRecord } from '../shared/evaluation/predictions.js';
import { isSumsModel, type CoordinatorFile } from '../shared/config/study.js';
import type { RoundResult, StudyRecorder } from './round-engine.js';
import type { ModelStore } from './model-store.js';
import type { SiteRegistry } from './site-registry.js';
import type { EventBus } from '../shared/events/events.js';
import type { EvaluationCollector, SiteEvaluation } from './evaluation.js';
import { recordedResultKey, type EvaluationProgress, type EvaluationResultStore } from './study-state.js';
import { atomicWriteFile } from '../shared/util/atomic-write.js';
import { StudyFailedError } from './round-engine.js';
import { chooseThreshold } from './threshold.js';
import { gridThreshold, pool, type ModelSummary } from '../shared/evaluation/aggregate.js';
import { aggregateStatistics } from './aggregate-statistics.js';
import { reportCohort } from './report-cohorts.js';
import { buildStudyStatistics, predictionsCsv, type StudyLevel, type StudyPredictionRow } from './study-statistics.js';
import { checkLevelCohorts, studyLevels, type Population, type ResolvedLevel } from '../shared/config/endpoint.js';

/**
 * What the held-out evaluation needs from a running coordinator (its CoordinatorHandle provides
 * it); declared here so this module does not import coordinator.ts, which loads this one.
 */
export interface EvaluationHost {
  readonly file: CoordinatorFile;
  readonly store: Pick<ModelStore, 'version' | 'get'>;
  readonly sites: Pick<SiteRegistry, 'reachableSites' | 'send'>;
  readonly events: Pick<EventBus, 'publish'>;
  readonly evaluation: Pick<EvaluationCollector, 'request'>;
  readonly modelConfigs: ModelConfigs;
  readonly recorder?: StudyRecorder;
  /** Persisted progress (a resumed evaluation continues from it); absent: nothing is persisted. */
  readonly resume?: EvaluationResume;
}

/** How the evaluation persists its progress and, after a restart, waits for the sites. */
export interface EvaluationResume {
  /** Progress saved by an earlier run of this coordinator (null: a fresh evaluation). */
  readonly saved: EvaluationProgress | null;
  save(p: EvaluationProgress): Promise<void>;
  readonly results: EvaluationResultStore;
  /** Waits (up to the join timeout) for these sites to connect before anything is asked. */
  waitForSites(sites: readonly string[]): Promise<string[]>;
  /**
   * recordedResultKey of every held-out result the study log recorded before the restart. A
   * result saved just before a kill may have missed its record (saved, then killed before the record
   * reached the log): it is recorded on resume, so the log names every result the report uses.
   */
  readonly recordedResults?: ReadonlySet<string>;
}

export interface FrozenChoice {
  readonly model: string;
  readonly version: number;
  readonly digest: string;
  readonly threshold: number;
  readonly thresholdRule: string;
  readonly selection: string;
  readonly validation: { n: number; positives: number; fraction_below_threshold: number | null };
}

/** The version each model is frozen at, by the configured rule (`final` or best validation AUC). */
export function chooseVersions(rounds: readonly RoundResult[], models: readonly string[], rule: 'final' | 'best_validation_auc'): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of models) {
    const done = rounds.filter((r) => r.state !== 'failed' && r.models[m]);
    if (done.length === 0) throw new StudyFailedError(`model "${m}" has no completed round to freeze`);
    let best = done[done.length - 1]!;
    if (rule === 'best_validation_auc') {
      for (const r of done) {
        const auc = r.models[m]!.metrics.val_auc ?? -Infinity;
        if (auc > (best.models[m]!.metrics.val_auc ?? -Infinity)) best = r; // ties keep the later round
      }
    }
    out.set(m, best.round);
  }
  return out;
}

export async function runStudyEvaluation(h: EvaluationHost, rounds: RoundResult[], log: Logger): Promise<Record<string, unknown>> {
  const { study } = h.file;
  const ev = study.evaluation;
  if (!ev) return {};
  const models = study.models.map((m) => m.name);
  // Trained models: by the selection rule; models fitted from sums: their fitted version.
  const versions = chooseVersions(rounds, study.models.filter((m) => !isSumsModel(m)).map((m) => m.name), ev.selection);
  for (const m of study.models) if (isSumsModel(m)) versions.set(m.name, h.store.get(m.name).version);
  const refs = await Promise.all(models.map(async (m) => {
    const g = await h.store.version(m, versions.get(m)!);
    return { studyId: study.id, model: m, round: g.version, version: g.version, digest: g.digest };
  }));
  const deadlineMs = ev.deadline_s * 1000;
  const round = rounds.length;
  const resume = h.resume;
  const saved = resume?.saved ?? null;
  // The sites asked are fixed at the first attempt: a resumed evaluation asks the same ones
  // (after waiting for them with the join timeout), and only for what is not saved yet. A site whose
  // connection dropped moments ago is asked too: it gets the task when it reconnects within
  // reconnect_grace_s (leaving it out failed a study whose site blipped as the last round ended).
  const sites = saved?.sites ?? h.sites.reachableSites(study.reconnect_grace_s * 1000);
  // Nothing to ask when every held-out result was saved before the restart (then no site is waited for).
  const allSaved = saved?.frozen && resume ? (await Promise.all(sites.map((s) => resume.results.load('held-out', s)))).every((r) => r !== null) : false;
  if (saved && resume && allSaved) {
    log.info({ sites, phase: 'held-out scoring' }, 'resuming the evaluation: every result was saved before the restart');
  } else if (saved && resume) {
    const back = await resume.waitForSites(sites);
    log.info({ sites: back, of: sites, phase: saved.frozen ? 'held-out scoring' : 'validation scoring' }, 'resuming the evaluation');
  } else {
    await resume?.save({ sites });
  }
  const aggregateOnly = ev.privacy === 'aggregate';
  const collect = async (kind: 'validation' | 'held-out', a: Omit<Parameters<EvaluationHost['evaluation']['request']>[0], 'sites' | 'onResult'>, onEach?: (r: SiteEvaluation) => Promise<void>) => {
    const results = new Map<string, SiteEvaluation>();
    for (const s of sites) {
      const r = await resume?.results.load<SiteEvaluation>(kind, s);
      if (!r) continue;
      results.set(s, r);
      if (kind === 'held-out' && resume?.recordedResults && !resume.recordedResults.has(recordedResultKey(s, r.digest))) {
        log.warn({ site: s }, 'a held-out result saved before the restart was not in the study log yet; recording it now');
        await onEach?.(r);
      }
    }
    const missing = sites.filter((s) => !results.has(s));
    let failures = new Map<string, string>();
    if (missing.length > 0) {
      if (kind === 'held-out') {
        await h.recorder?.append({ type: 'evaluation_requested', cohorts: study.cohorts.held_out, models: a.models.map((f) => ({ model: f.ref.model, digest: f.ref.digest })), sites: missing });
      }
      const got = await h.evaluation.request({
        ...a, sites: missing,
        onResult: async (r) => {
          await resume?.results.save(kind, r.site, r);
          await onEach?.(r);
        },
      });
      for (const [site, r] of got.results) results.set(site, r);
      failures = got.failures;
    } else if (kind === 'held-out') {
      log.info('held-out results of every site were saved before the restart; nothing to ask');
    }
    return { results: new Map([...results].sort(([x], [y]) => x.localeCompare(y))), failures };
  };

  let frozen: FrozenChoice[];
  let validationSites: string[];
  let freezeRecord: { seq: number; hash: string };
  if (saved?.frozen) {
    frozen = saved.frozen.models as FrozenChoice[];
    validationSites = saved.frozen.validation_sites;
    freezeRecord = saved.frozen.record;
  } else {
  h.events.publish({ type: 'log', level: 'info', message: `selection (${ev.selection}): ${refs.map((r) => `${r.model}@round ${r.version}`).join(', ')}; scoring validation cohorts` });

  // 1. Federated validation predictions (not held out) → thresholds.
  const val = await collect('validation', {
    models: refs.map((ref) => ({ ref, threshold: 0 })), cohorts: study.cohorts.validation, heldOut: false,
    modelConfigs: h.modelConfigs, round, deadlineMs, privacy: ev.privacy,
  });
  if (val.results.size < study.min_sites) {
    throw new StudyFailedError(`validation scoring: ${val.results.size} site(s) answered, min_sites is ${study.min_sites} (${[...val.failures].map(([s, r]) => `${s}: ${r}`).join('; ')})`);
  }
  const pooledVal = [...val.results.values()].flatMap((r) => r.predictions);
  // The cohort rules at every level, on the pooled validation cases: each level needs positive and
  // negative cases there, or no threshold can be chosen (the study stops naming level and cohort).
  checkPooledValidation(study, aggregateOnly
    ? (m) => pool([...val.results.values()].flatMap((r) => Object.values(r.aggregate?.cohorts ?? {}).map((c) => c[m]).filter((x): x is ModelSummary => !!x)))
    : (m) => {
      const labels = pooledVal.filter((p) => m in p.scores).map((p) => p.label);
      return { n: labels.length, positives: labels.filter((l) => l === 1).length };
    }, [...val.results.keys()].sort());
  frozen = refs.map((ref): FrozenChoice => {
    if (aggregateOnly) {
      // Threshold from pooled validation counts on the 0.01 grid.
      const pooledSummary = pool([...val.results.values()].flatMap((r) => Object.values(r.aggregate?.cohorts ?? {}).map((c) => c[ref.model]).filter((x): x is ModelSummary => !!x)));
      const rule = ev.threshold.rule;
      const t = rule === 'fixed' ? { threshold: ev.threshold.value, fractionBelow: null } : gridThreshold(pooledSummary, rule, ev.threshold.value);
      if (t.threshold === null) throw new StudyFailedError(`model "${ref.model}": threshold rule ${rule} cannot be met on the validation counts`);
      return {
        model: ref.model, version: ref.version, digest: ref.digest, threshold: t.threshold, thresholdRule: `${rule} ${ev.threshold.value} (0.01 grid)`,
        selection: ev.selection, validation: { n: pooledSummary.n, positives: pooledSummary.positives, fraction_below_threshold: t.fractionBelow },
      };
    }
    const labels = pooledVal.filter((p) => ref.model in p.scores).map((p) => p.label);
    const scores = pooledVal.filter((p) => ref.model in p.scores).map((p) => p.scores[ref.model]!);
    const t = chooseThreshold(labels, scores, ev.threshold.rule, ev.threshold.value);
    return {
      model: ref.model, version: ref.version, digest: ref.digest, threshold: t.threshold, thresholdRule: t.rule,
      selection: ev.selection, validation: { n: labels.length, positives: labels.filter((l) => l === 1).length, fraction_below_threshold: t.fractionBelow },
    };
  });

  // 2. Freeze: durable record first, then the notice; only after that any held-out request.
  const rec = await h.recorder?.append({
    type: 'models_frozen',
    models: frozen.map((f) => ({ model: f.model, version: f.version, digest: f.digest, threshold: f.threshold, threshold_rule: f.thresholdRule, selection: f.selection })),
  });
  validationSites = [...val.results.keys()].sort();
  freezeRecord = { seq: rec?.seq ?? 0, hash: rec?.hash ?? '' };
  await resume?.save({ sites, frozen: { models: frozen, validation_sites: validationSites, record: freezeRecord } });
  }
  const frozenModels: FrozenModel[] = frozen.map((f) => ({
    ref: { studyId: study.id, model: f.model, round: f.version, version: f.version, digest: f.digest }, threshold: f.threshold,
  }));
  // Sent again after a restart (a site records a notice it already has once more; harmless).
  const proof = h.recorder?.proveRecord?.(freezeRecord.seq);
  const notice = buildFreezeNotice({ studyId: study.id, models: frozenModels, logSeq: freezeRecord.seq, recordHash: freezeRecord.hash, ...(proof ? { proofJson: JSON.stringify(proof) } : {}) });
  for (const s of sites) h.sites.send(s, notice);
  h.events.publish({ type: 'log', level: 'info', message: `frozen: ${frozen.map((f) => `${f.model} ${f.digest.slice(0, 12)} threshold ${f.threshold.toFixed(4)}`).join('; ')}` });

  // 3. Held-out cohorts, scored by the frozen models only.
  // Each result is saved and recorded as it arrives (a restart asks only the sites still missing).
  const held = await collect('held-out', {
    models: frozenModels, cohorts: study.cohorts.held_out, heldOut: true, modelConfigs: h.modelConfigs, round, deadlineMs, privacy: ev.privacy,
    // Subgroup flags only travel with per-case predictions (privacy "aggregate" leaves them out).
    ...(!aggregateOnly && study.subgroups?.length ? { subgroups: study.subgroups.map((s) => ({ name: s.name, column: s.column, when: s.when.text })) } : {}),
  }, async (r) => {
    await h.recorder?.append({ type: 'evaluation_result', site: r.site, cohorts: study.cohorts.held_out, results_digest: r.digest, cases: r.predictions.length });
  });
  for (const [site, reason] of held.failures) log.warn({ site, reason }, 'held-out evaluation missing from a site');

  const thresholdsByModel = Object.fromEntries(frozen.map((f) => [f.model, f.threshold]));
  const common = {
    frozen_models: frozen,
    evaluation: {
      privacy: ev.privacy,
      held_out_cohorts: study.cohorts.held_out,
      sites_answered: [...held.results.keys()].sort(),
      sites_missing: Object.fromEntries(held.failures),
      validation_sites: validationSites,
    },
  };
  if (aggregateOnly) {
    const parts: Record<string, Record<string, ModelSummary[]>> = {};
    for (const [site, r] of held.results) {
      for (const [cohort, byModel] of Object.entries(r.aggregate?.cohorts ?? {})) {
        for (const [m, summary] of Object.entries(byModel)) {
          ((parts[reportCohort(site, cohort)] ??= {})[m] ??= []).push(summary);
        }
      }
    }
    return {
      ...common, ...aggregateStatistics(parts, models, thresholdsByModel), thresholds: thresholdsByModel, reference_model: ev.reference_model ?? models[0]!,
      ...(study.subgroups?.length ? { subgroup_analyses: { reason: 'privacy "aggregate": subgroup figures and interaction tests need per-case subgroup flags, which do not leave the sites in this mode' } } : {}),
      // Each model's aggregate figures are on its own level's cases already; the per-level sections
      // (population n, comparisons) need per-case rows.
      ...(study.levels?.length ? { levels_reason: 'privacy "aggregate": no per-level sections (they need per-case predictions); each model\'s figures in cohorts are on its own level\'s cases' } : {}),
    };
  }

  // 4. Predictions file and statistics.
  // A hierarchical endpoint: each row belongs to the level whose models scored it (deeper levels'
  // rows have their own pseudonym), and the report gets one section per level.
  const levels = studyReportLevels(study);
  const levelOfModel = new Map(levels?.flatMap((l) => l.models.map((m) => [m, l.name] as const)) ?? []);
  const rows: StudyPredictionRow[] = [];
  for (const [site, r] of [...held.results.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    for (const p of r.predictions) rows.push(toRow(site, p, models, levels ? levelOfModel : null));
  }
  const dir = h.file.coordinator.data_dir;
  const subgroupNames = (study.subgroups ?? []).map((s) => s.name);
  await atomicWriteFile(join(dir, 'predictions.csv'), predictionsCsv(rows, models, { subgroups: subgroupNames, level: levels !== null }));
  const thresholds = Object.fromEntries(frozen.map((f) => [f.model, f.threshold]));
  const statistics = buildStudyStatistics(rows, models, thresholds, {
    bootstrap: ev.bootstrap, seed: study.training.seed, reference: ev.reference_model ?? models[0]!,
    subgroups: (study.subgroups ?? []).map((s) => ({ name: s.name, definition: `${s.column} ${s.when.text}` })),
    ...(levels ? { levels } : {}),
  });
  return { ...common, ...statistics };
}


function toRow(site: string, p: PredictionRecord, models: readonly string[], levelOfModel: ReadonlyMap<string, string> | null): StudyPredictionRow {
  const scores: Record<string, number> = {};
  for (const m of models) scores[m] = p.scores[m] ?? Number.NaN;
  const scoredBy = levelOfModel ? models.find((m) => Number.isFinite(scores[m]!) && levelOfModel.has(m)) : undefined;
  const level = scoredBy !== undefined ? levelOfModel!.get(scoredBy) : undefined;
  return { site, cohort: reportCohort(site, p.cohort), siteCohort: p.cohort, caseKey: p.caseKey, label: p.label as 0 | 1, scores, ...(p.subgroups ? { subgroups: p.subgroups } : {}), ...(level !== undefined ? { level } : {}) };
}

/**
 * The levels of a hierarchical endpoint as the report describes them (null for a study with one
 * endpoint: its figures are the report's top-level cohorts, and it has no `levels` section).
 */
export function studyReportLevels(study: Pick<CoordinatorFile['study'], 'levels' | 'models'>): StudyLevel[] | null {
  const levels = study.levels;
  if (!levels?.length) return null;
  return levels.map((l, k) => {
    const own = l.population ? populationText(l.population) : null;
    const parent = k > 0 ? `the positives of level ${k} "${levels[k - 1]!.name}" (${levels[k - 1]!.outcome.column} ${levels[k - 1]!.outcome.positive_when.text})` : null;
    const population = [parent, own].filter((x): x is string => x !== null).join(' and ') || 'every case with the outcome recorded';
    return {
      name: l.name, title: l.title ?? `${l.outcome.column} ${l.outcome.positive_when.text}`,
      endpoint: { outcome: `${l.outcome.column} ${l.outcome.positive_when.text}`, population },
      models: study.models.filter((m) => (m.level ?? levels[0]!.name) === l.name).map((m) => m.name),
    };
  });
}

/** checkLevelCohorts (rule "both") on the pooled validation cases of each level's first model; a StudyFailedError otherwise. */
export function checkPooledValidation(study: Pick<CoordinatorFile['study'], 'levels' | 'outcome' | 'population' | 'models'>, counts: (model: string) => { n: number; positives: number }, sites: readonly string[]): void {
  const levels = studyLevels(study);
  if (!levels) return;
  const resolved: ResolvedLevel[] = levels.flatMap((l, k) => {
    const first = study.models.find((m) => (m.level ?? levels[0]!.name) === l.name);
    if (!first) return [];
    const c = counts(first.name);
    return [{ name: l.name, title: l.title ?? `${l.outcome.column} ${l.outcome.positive_when.text}${k > 0 ? ` among the positives of level ${k}` : ''}`, rows: [], labels: [], excluded: { outside_population: 0, missing_population: 0, missing_outcome: 0 }, cohorts: { validation: { n: c.n, positives: c.positives } } }];
  });
  try {
    checkLevelCohorts(resolved, ['validation'], `the pooled validation predictions of ${sites.join(', ')}`);
  } catch (err) {
    throw new StudyFailedError((err as Error).message);
  }
}

function populationText(p: Population): string {
  return 'between' in p ? `${p.column} between ${p.between[0]} and ${p.between[1]}` : `${p.column} ${p.when.text}`;
}
