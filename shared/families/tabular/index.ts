// The tabular families (`logistic`, `lasso_logistic`, `gbdt`): models on a table of per-case
// inputs - manifest columns, radiomics features, scores of other frozen models of the study -
// fitted from sums (shared/tabular): the coordinator asks, each site answers with counts, score
// vectors, information matrices or gradient histograms of its `train` cohort, the coordinator takes
// the step. The fitted model is a tensor set (model.ts), so freeze, download and held-out scoring
// are those of every other model.
import { FlError } from '../../errors/index.js';
import { columnTerms, parseTabularModel, type TabularModelConfig } from '../../tabular/config.js';
import { DEFAULT_MIN_CELL, siteCompute } from '../../tabular/site.js';
import type { SiteDataset } from '../../tabular/dataset.js';
import type { SiteReply, SiteRequest } from '../../tabular/protocol.js';
import type { Cohort, SiteData, TabularTable } from '../data.js';
import type { FamilyModelEntry, ModelFamily, ModelInputs, ScoredCase, SiteModel } from '../types.js';
import { decodeTabularModel, deepColumn, expit, linearPredictor, pcaColumns, unfittedTensorSet, type PcaInput, type TabularFamilyName, type TabularModel } from './model.js';

export { encodeTabularModel, decodeTabularModel, isUnfitted, linearPredictor, deepColumn, type PcaInput, type TabularModel } from './model.js';

/** The name of the second-delineation column of a radiomics feature (for the ICC filter). */
export const SECOND_DELINEATION = '@mask_2';

/** The entry's tabular config: the study's `models[i]` words ({family, inputs, selection, ...}) live in `config`. */
export function tabularConfig(entry: FamilyModelEntry, where = `model "${entry.name}"`): TabularModelConfig {
  return parseTabularModel({ name: entry.name, family: entry.architecture, ...entry.config }, where);
}

/** A sums request as it travels to a site (JSON in the phase payload). */
export interface TabularSumsRequest {
  /** The frozen models whose scores are inputs, by name (the coordinator froze them first). */
  readonly dependencies: readonly { model: string; version: number; digest: string }[];
  /** Image models whose penultimate-layer features are inputs: raw columns `<model>.deep.<k>`, and the principal components once the coordinator has them. */
  readonly deep?: readonly { model: string; version: number; digest: string; pca?: PcaInput }[];
  readonly request: SiteRequest;
}

/** The reply a site sends: the sums without its name or an ok flag (numbers only); refusals throw. */
export type TabularSumsReply = Omit<Extract<SiteReply, { ok: true }>, 'site' | 'ok'>;

export class TabularRefusal extends FlError {
  constructor(readonly refusal: string, message: string) {
    super(`tabular.${refusal}`, `${refusal}: ${message}`, { user: true });
  }
}

/** Score of a model as an input of another: its log-odds (for a lasso_logistic model, the Rad-score). */
export function scoreAsFeature(p: number): number {
  const q = Math.min(1 - 1e-15, Math.max(1e-15, p));
  return Math.log(q / (1 - q));
}

/** Builds the table rows (feature columns + outcome) of some cases, as the tabular code reads them. */
function toDataset(site: string, table: TabularTable, outcome: string, extra: ReadonlyMap<string, Float64Array>): SiteDataset {
  const columns = new Map<string, Float64Array>(table.columns);
  for (const [k, v] of extra) columns.set(k, v);
  if (!columns.has(outcome)) columns.set(outcome, Float64Array.from(table.labels));
  return { site, caseIds: [...table.caseIds], columns, rows: table.caseIds.length };
}

async function dependencyColumns(data: SiteData, table: TabularTable, deps: TabularSumsRequest['dependencies'], cohorts: readonly Cohort[]): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  for (const d of deps) {
    if (!data.modelScores) throw new FlError('tabular.scores', `this site cannot score model "${d.model}" as an input`);
    const scores = await data.modelScores(d, cohorts);
    const col = new Float64Array(table.caseIds.length);
    table.caseIds.forEach((id, i) => {
      const s = scores.get(id);
      col[i] = s === undefined ? NaN : scoreAsFeature(s);
    });
    out.set(d.model, col);
  }
  return out;
}

async function deepColumns(data: SiteData, table: TabularTable, deep: NonNullable<TabularSumsRequest['deep']>, cohorts: readonly Cohort[]): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  const rows = table.caseIds.length;
  for (const d of deep) {
    if (!data.modelFeatures) throw new FlError('tabular.deep', `this site cannot read the features of model "${d.model}"`);
    const feats = await data.modelFeatures(d, cohorts);
    const width = feats.values().next().value?.length ?? 0;
    const raw: Float64Array[] = [];
    for (let k = 0; k < width; k++) {
      const col = new Float64Array(rows);
      table.caseIds.forEach((id, i) => { col[i] = feats.get(id)?.[k] ?? NaN; });
      raw.push(col);
      out.set(deepColumn(d.model, k), col);
    }
    if (d.pca) {
      if (d.pca.center.length !== width) throw new FlError('tabular.deep', `model "${d.model}" has ${width} features at this site, the components were computed on ${d.pca.center.length}`);
      for (const [k, v] of pcaColumns(d.pca, (j) => raw[j]!, rows)) out.set(k, v);
    }
  }
  return out;
}

function family(name: TabularFamilyName, description: string): ModelFamily {
  return {
    name,
    description,
    training: 'sums',
    architectures: [{ name, description }],

    validate(entry, where) {
      const cfg = tabularConfig(entry, where);
      if (cfg.outcome && cfg.outcome !== 'label') {
        throw new FlError('config.invalid', `${where}.outcome: only the manifest's label column can be the outcome of a study model (got "${cfg.outcome}")`);
      }
    },

    inputs(entry): ModelInputs {
      const cfg = tabularConfig(entry);
      const modalities = cfg.inputs.radiomics ? [cfg.inputs.radiomics.modality] : [];
      return { modalities, channels: Object.fromEntries(modalities.map((m) => [m, 1])), columns: (cfg.inputs.columns ?? []).map((c) => columnTerms(c).name) };
    },

    async initialModel() {
      return unfittedTensorSet();
    },

    async openSite(entry, data): Promise<SiteModel> {
      const cfg = tabularConfig(entry);
      if (!data.table) throw new FlError('tabular.site', `model "${entry.name}": this site cannot read tables`);
      const table = await data.table({ model: entry.name, inputs: cfg.inputs });
      const outcome = cfg.outcome ?? 'label';
      return {
        async sums(raw: unknown): Promise<TabularSumsReply> {
          const req = raw as TabularSumsRequest;
          // Fitting reads the `train` cohort only (the table's cohort guard).
          const train = table.forTraining();
          const deps = await dependencyColumns(data, train, req.dependencies, ['train']);
          for (const [k, v] of await deepColumns(data, train, req.deep ?? [], ['train'])) deps.set(k, v);
          // Disclosure control is the site's: the study may ask for a larger min_cell, never a smaller one.
          const minCell = Math.max(cfg.min_cell, data.minCell ?? DEFAULT_MIN_CELL);
          const reply = siteCompute(toDataset(data.site ?? 'site', train, outcome, deps), req.request, { minCell });
          if (!reply.ok) throw new TabularRefusal(reply.code, reply.message);
          const { site: _s, ok: _o, ...sums } = reply;
          return sums as TabularSumsReply;
        },
        async score(weights, cohorts: readonly Cohort[]): Promise<ScoredCase[]> {
          const model: TabularModel = decodeTabularModel(weights, `model "${entry.name}"`);
          const out: ScoredCase[] = [];
          for (const cohort of cohorts) {
            const t = table.forEvaluation(cohort);
            const pcaOf = new Set((model.pca ?? []).map((p) => p.model));
            const deps = await dependencyColumns(data, t, model.dependencies.filter((d) => model.features.includes(d.model)), [cohort]);
            const deep = (model.pca ?? []).map((p) => ({ ...model.dependencies.find((d) => d.model === p.model)!, pca: p }));
            if (deep.some((d) => d.digest === undefined) || deep.length !== pcaOf.size) throw new FlError('tabular.model', `model "${entry.name}": a principal-component input has no frozen source model`);
            for (const [k, v] of await deepColumns(data, t, deep, [cohort])) deps.set(k, v);
            const cols = model.features.map((f) => {
              const c = deps.get(f) ?? t.columns.get(f);
              if (!c) throw new FlError('tabular.column', `model "${entry.name}" reads "${f}", which this site's table does not have`);
              return c;
            });
            const x = new Float64Array(cols.length);
            t.caseIds.forEach((caseId, i) => {
              let complete = true;
              cols.forEach((c, j) => { x[j] = c[i]!; if (Number.isNaN(c[i]!)) complete = false; });
              // A case with a missing input gets no score (complete-case, as in the fit); it is
              // left out of the evaluation of this model and counted by the site's log.
              if (!complete) return;
              out.push({ caseId, cohort, label: t.labels[i] as 0 | 1, score: expit(linearPredictor(model, x)) });
            });
          }
          return out;
        },
      };
    },
  };
}

export const logisticFamily = family('logistic', 'logistic regression fitted by Newton/IRLS on summed score vectors and information matrices (equals the pooled glm)');
export const lassoLogisticFamily = family('lasso_logistic', 'L1-penalised logistic regression (glmnet objective) with federated cross-validation of lambda; its linear predictor is a Rad-score');
export const gbdtFamily = family('gbdt', 'histogram-based gradient-boosted trees grown from summed per-bin gradients and Hessians');

export const TABULAR_FAMILIES = ['logistic', 'lasso_logistic', 'gbdt'] as const;
