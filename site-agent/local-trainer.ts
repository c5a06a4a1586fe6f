// The site's Trainer: for each model a task names, the model's family (shared/families) binds it
// to this site's data and trains or scores it. Training reaches the `train` cohort only (the
// dataset's cohort guard); image datasets are opened once per (modalities, input size) and cached,
// and a model bound to the data is kept across rounds.
import type { Logger } from 'pino';
import { selectBackend, type BackendChoice } from '../shared/tfjs/backend.js';
import { bootReplicas } from '../shared/tfjs/parallel/data-parallel.js';
import { familyOf } from '../shared/families/registry.js';
import type { ImageDataset, SiteData } from '../shared/families/data.js';
import type { SiteModel } from '../shared/families/types.js';
import { openSiteDataset } from './data/dataset.js';
import { inputChannels, type ModalitySettings } from '../shared/config/modality.js';
import { FlError } from '../shared/errors/index.js';
import { loadManifest, ManifestError, type Cohort, type Manifest, type ManifestCheck } from './data/manifest.js';
import { ImageCache } from './data/image-cache.js';
import { applyEndpoint, endpointKey, manifestRows } from './data/endpoint.js';
import { parseEndpointChain, subgroupMembership, type Level, type Subgroup } from '../shared/config/endpoint.js';
import type { Trainer, TrainRequest, TrainResult, EvaluateRequest, ScoredCase, ModelRef, SumsRequest } from './trainer.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { openTabularData } from './data/tabular-table.js';
import { dirname, join } from 'node:path';

export interface LocalTrainerOptions {
  readonly manifest: string;
  readonly backend: BackendChoice;
  readonly log: Logger;
  readonly pseudonymSecret?: string;
  /** Per-modality colour and frame settings (site.yaml `modalities:`). */
  readonly modalities?: Readonly<Record<string, ModalitySettings>>;
  readonly dataRoot?: string;
  readonly cacheDir?: string;
  /** The site's id (named in refusals of tabular sums). */
  readonly siteId?: string;
  /** Downloads a model version by reference (a tabular model's inputs may be other models' scores). */
  readonly fetchModel?: (ref: { model: string; version: number; digest: string }) => Promise<TensorSet>;
  /** Manifest columns (beyond the clinical ones) tabular models may read (site.yaml tabular_columns). */
  readonly tabularColumns?: readonly string[];
  /** The site's disclosure floor for tabular sums (site.yaml min_cell). */
  readonly minCell?: number;
  /** Training threads: data-parallel replicas when the backend is wasm or cpu (default 1). */
  readonly threads?: number;
}

/**
 * The image settings for a model's inputs: the site's declared settings, checked against the
 * channels the model reads (a colour stream needs `channels: rgb`, and the reverse).
 */
export function settingsForModel(model: string, channels: Readonly<Record<string, number>>, declared: Readonly<Record<string, ModalitySettings>> = {}): Record<string, ModalitySettings> {
  const out: Record<string, ModalitySettings> = {};
  for (const [m, c] of Object.entries(channels)) {
    const site = declared[m];
    const settings: ModalitySettings = site ?? (c === 3 ? { channels: 'rgb' } : { channels: 'grey' });
    const provides = inputChannels(settings);
    if (provides !== c) {
      throw new FlError('site.modality-channels',
        `model "${model}" reads ${m} with ${c} channel(s), but this site provides ${provides} (site.yaml modalities.${m}: ${JSON.stringify(site ?? {})}); ` +
        (c === 3 ? `declare modalities.${m}.channels: rgb` : provides === 3 ? `declare modalities.${m}.channels: grey, or train a colour model` : `set modalities.${m}.frames to give ${c} channel(s), e.g. sample:${c}`));
    }
    out[m] = settings;
  }
  return out;
}

/** The tensor cache folder of a site (site.yaml cache_dir, default .fl-cache beside the manifest). */
export function siteCacheDir(o: Pick<LocalTrainerOptions, 'manifest' | 'cacheDir'>): string {
  return o.cacheDir ?? join(dirname(o.manifest), '.fl-cache');
}

/**
 * The checks `fl site` runs before it dials the coordinator: the manifest with every image, one at
 * a time. A file whose content hash is in the cache's facts (from an earlier start, a dataset or
 * `fl data check --cache`) is not decoded; others are decoded once and their facts cached. Throws a
 * ManifestError listing every row at fault (the CLI exits 2).
 */
export async function startCheck(o: Pick<LocalTrainerOptions, 'manifest' | 'cacheDir' | 'dataRoot' | 'modalities' | 'log' | 'tabularColumns'>): Promise<ManifestCheck> {
  const started = performance.now();
  const cache = new ImageCache(siteCacheDir(o));
  let decoded = 0;
  let images = 0;
  try {
    const check = await loadManifest(o.manifest, {
      cache,
      ...(o.modalities ? { modalitySettings: o.modalities } : {}),
      ...(o.dataRoot ? { dataRoot: o.dataRoot } : {}),
      ...(o.tabularColumns?.length ? { extraColumns: o.tabularColumns } : {}),
      onFacts: (fromCache) => {
        images++;
        if (!fromCache) decoded++;
      },
    });
    o.log.info({ images, decoded, from_cache: images - decoded, seconds: Number(((performance.now() - started) / 1000).toFixed(2)), warnings: check.warnings.length },
      'manifest checked: paths inside the data root, images decode, no identical images across cohorts or modalities');
    for (const w of check.warnings) o.log.warn({ row: w.line, column: w.column }, w.message);
    return check;
  } catch (err) {
    if (err instanceof ManifestError) {
      o.log.error({ exit: 2, manifest: err.path, problems: err.problems.length }, 'site agent refusing to start: the manifest has problems');
    }
    throw err;
  }
}

export async function createLocalTrainer(o: LocalTrainerOptions): Promise<Trainer> {
  const selected = await selectBackend(o.backend, { info: (m) => o.log.info(m) });
  o.log.info({ backend: selected.name, detail: selected.detail }, 'tfjs backend selected');
  // Data-parallel training: the worker threads load tfjs and their backend now, while the manifest
  // is checked (nearly all of their start-up); they build a model when a task names one.
  if ((o.threads ?? 1) > 1 && (selected.name === 'wasm' || selected.name === 'cpu')) {
    const count = o.threads! - 1;
    bootReplicas({ backend: selected.name, count }).catch((err: unknown) =>
      o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'training workers did not start ahead; the first round starts them'));
  }
  // Validate the manifest up front (every problem at once) so a broken site fails before it joins:
  // rows, containment (paths and symlinks inside the data root), decoding, frame/colour policies and
  // leakage (identical decoded pixels across cohorts or modalities of one case). Image facts and
  // pixel hashes go to the same cache the datasets read, so the datasets do not hash again and a
  // restart decodes nothing (see startCheck).
  const check = await startCheck(o);
  const counts: Record<string, number> = {};
  for (const c of check.manifest.cases) counts[c.cohort] = (counts[c.cohort] ?? 0) + 1;

  const datasets = new Map<string, Promise<ImageDataset>>();
  // Configs of the study's models as tasks and sums requests announce them (a tabular model may
  // read another model's score; the reference names the model, this map its family and config).
  const specs = new Map<string, Omit<ModelRef, 'model'>>();
  const remember = (configs: Readonly<Record<string, Omit<ModelRef, 'model'>>> | undefined) => {
    for (const [k, v] of Object.entries(configs ?? {})) specs.set(k, v);
  };
  const depScores = new Map<string, Promise<Map<string, number>>>();
  const depFeatures = new Map<string, Promise<Map<string, Float32Array>>>();
  const tables = new Map<string, ReturnType<typeof openTabularData>>();
  const tabularCache = o.cacheDir ?? join(dirname(o.manifest), '.fl-cache');
  const threads = o.threads ?? 1;
  o.log.info({ threads, backend: selected.name }, threads > 1 && (selected.name === 'wasm' || selected.name === 'cpu')
    ? 'local training is data-parallel' : 'local training on one replica (the backend parallelises itself or threads is 1)');
  // Each endpoint chain (the study's outcome, population, level) sees its own cases and labels
  // (data/endpoint.ts); models without one read the manifest's label column, as before.
  const endpointManifests = new Map<string, Promise<Manifest>>();
  const manifestFor = (chain: Level[] | null): Promise<Manifest> => {
    if (!chain) return Promise.resolve(check.manifest);
    const key = endpointKey(chain);
    let m = endpointManifests.get(key);
    if (!m) {
      m = applyEndpoint(check.manifest, chain, o.siteId ?? 'this site').then((e) => {
        o.log.info({ level: e.level.name, cases: e.level.rows.length, cohorts: e.level.cohorts, excluded: e.level.excluded }, 'endpoint applied to this site\'s cases');
        return e.manifest;
      });
      endpointManifests.set(key, m);
    }
    return m;
  };
  const siteDatas = new Map<string, SiteData>();
  const siteDataFor = (chain: Level[] | null): SiteData => {
    const key = endpointKey(chain);
    let d = siteDatas.get(key);
    if (!d) {
      d = makeSiteData(chain, key);
      siteDatas.set(key, d);
    }
    return d;
  };
  const makeSiteData = (chain: Level[] | null, ekey: string): SiteData => ({
    training: { threads },
    ...(o.siteId ? { site: o.siteId } : {}),
    ...(o.minCell !== undefined ? { minCell: o.minCell } : {}),
    table(req) {
      const key = `${ekey}:${JSON.stringify(req.inputs)}`;
      let t = tables.get(key);
      if (!t) {
        t = manifestFor(chain).then((m) => openTabularData(m, req, tabularCache, o.tabularColumns ?? []));
        tables.set(key, t);
        t.catch(() => tables.delete(key));
      }
      return t;
    },
    async modelFeatures(ref, cohorts) {
      if (!o.fetchModel) throw new FlError('tabular.deep', `model "${ref.model}": this site cannot download models to read their features`);
      const spec = specs.get(ref.model);
      if (!spec) throw new FlError('tabular.deep', `model "${ref.model}": its config was not announced to this site`);
      const key = `${ref.model}@${ref.digest}:${[...cohorts].sort().join(',')}`;
      let p = depFeatures.get(key);
      if (!p) {
        p = (async () => {
          const weights = await o.fetchModel!(ref);
          const m = await modelFor({ model: ref.model, ...spec });
          if (!m.embed) throw new FlError('tabular.deep', `model "${ref.model}": its family has no penultimate-layer features`);
          const rows = await m.embed(weights, cohorts);
          return new Map(rows.map((r) => [r.caseId, r.values]));
        })();
        depFeatures.set(key, p);
        p.catch(() => depFeatures.delete(key));
      }
      return p;
    },
    async modelScores(ref, cohorts) {
      if (!o.fetchModel) throw new FlError('tabular.scores', `model "${ref.model}": this site cannot download models to score them as inputs`);
      const spec = specs.get(ref.model);
      if (!spec) throw new FlError('tabular.scores', `model "${ref.model}": its config was not announced to this site`);
      const key = `${ref.model}@${ref.digest}:${[...cohorts].sort().join(',')}`;
      let p = depScores.get(key);
      if (!p) {
        p = (async () => {
          const weights = await o.fetchModel!(ref);
          const m = await modelFor({ model: ref.model, ...spec });
          const scored = await m.score(weights, cohorts);
          return new Map(scored.map((c) => [c.caseId, c.score]));
        })();
        depScores.set(key, p);
        p.catch(() => depScores.delete(key));
      }
      return p;
    },
    images({ model, modalities, inputSize, channels }) {
      const modalitySettings = settingsForModel(model, channels, o.modalities);
      const key = `${ekey}:${modalities.join(',')}@${inputSize}:${JSON.stringify(modalitySettings)}`;
      let d = datasets.get(key);
      if (!d) {
        d = openSiteDataset(o.manifest, {
          modalities, inputSize, modalitySettings, ...(chain ? { endpoint: () => manifestFor(chain) } : {}),
          ...(o.dataRoot ? { dataRoot: o.dataRoot } : {}), cacheDir: siteCacheDir(o),
        });
        datasets.set(key, d);
      }
      return d;
    },
  });
  const bound = new Map<string, Promise<SiteModel>>();
  const modelFor = (req: { model: string; family?: string; architecture: string; config: Record<string, unknown>; endpoint?: readonly Readonly<Record<string, unknown>>[] }) => {
    const chain = req.endpoint ? parseEndpointChain(req.endpoint, req.model) : null;
    const key = `${req.model}:${req.family ?? ''}:${req.architecture}:${JSON.stringify(req.config)}:${endpointKey(chain)}`;
    let m = bound.get(key);
    if (!m) {
      const entry = { name: req.model, architecture: req.architecture, config: req.config };
      m = familyOf(req).openSite(entry, siteDataFor(chain));
      bound.set(key, m);
    }
    return m;
  };

  return {
    backend: selected.name,
    cohortCounts: () => ({ ...counts }),

    async train(req: TrainRequest): Promise<TrainResult> {
      remember({ [req.model]: { ...(req.family ? { family: req.family } : {}), architecture: req.architecture, config: req.config, ...(req.endpoint ? { endpoint: req.endpoint } : {}) } });
      const m = await modelFor(req);
      if (!m.train) throw new Error(`model "${req.model}": its family does not train by local steps`);
      const res = await m.train(req);
      const sps = res.metrics.train_samples_per_s;
      // The round's time split (time_*_s, seconds) is for this site's log; it is not sent.
      const sec = (k: string) => (res.metrics[k] === undefined ? undefined : Number(res.metrics[k]!.toFixed(3)));
      if (sps !== undefined) {
        o.log.info({
          model: req.model, round: req.round, samples_per_s: Number(sps.toFixed(2)), replicas: res.metrics.train_replicas, steps: res.metrics.steps,
          setup_s: sec('time_setup_s'), data_s: sec('time_data_s'), step_s: sec('time_step_s'), validation_s: sec('time_val_s'),
        }, 'local training done');
      }
      const metrics = Object.fromEntries(Object.entries(res.metrics).filter(([k]) => !/^time_.*_s$/.test(k)));
      return { ...res, metrics };
    },

    async evaluate(req: EvaluateRequest): Promise<ScoredCase[]> {
      remember(req.modelConfigs);
      const m = await modelFor(req);
      return m.score(req.weights, req.cohorts as Cohort[]);
    },

    async subgroupFlags(subgroups: readonly Subgroup[]): Promise<Map<string, Record<string, boolean>>> {
      const rows = await manifestRows(check.manifest);
      const cases = check.manifest.cases;
      const out = new Map<string, Record<string, boolean>>(cases.map((c) => [c.caseId, {}]));
      for (const s of subgroups) {
        if (rows.length && !(s.column.toLowerCase() in rows[0]!)) {
          throw new FlError('subgroup.column', `subgroup ${s.name}: the manifest ${check.manifest.path} has no column "${s.column}"; add it (empty cells are missing) or ask the study to drop the subgroup`, { user: true });
        }
        const member = subgroupMembership(rows, { ...s, column: s.column.toLowerCase() }, (i) => `${check.manifest.path} line ${cases[i]!.line}`);
        member.forEach((m, i) => {
          if (m !== null) out.get(cases[i]!.caseId)![s.name] = m;
        });
      }
      return out;
    },

    async sums(req: SumsRequest): Promise<unknown> {
      remember(req.modelConfigs);
      const m = await modelFor(req);
      if (!m.sums) throw new FlError('tabular.family', `model "${req.model}": its family is not fitted from sums`);
      return m.sums(req.request);
    },
  };
}
