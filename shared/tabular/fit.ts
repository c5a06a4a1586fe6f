// One tabular model fitted federatedly, start to finish: optional feature selection (ICC, then
// redundancy), then the family's fit; the output is the report's `fitted.<model>` object plus
// extra keys (round trips, fit time, rows dropped per site, excluded sites, family details).
import { FlError } from '../errors/index.js';
import { Federation } from './federation.js';
import { fitGbdt, GBDT_DEFAULTS, type GbdtModel, type GbdtParams } from './gbdt.js';
import { fitLasso } from './lasso.js';
import { fitLogistic, type Term } from './logistic.js';
import { iccFilter, redundancyFilter } from './selection.js';
import { pooledCorrelation, pooledIcc, pooledMoments } from './stats.js';
import type { Transport } from './protocol.js';

export type Family = 'logistic' | 'lasso_logistic' | 'gbdt';

export interface FitSpec {
  family: Family;
  outcome: string;
  columns: string[];
  /** Feature -> its second-delineation column, for the ICC filter. */
  iccPairs?: Record<string, string>;
  iccMin?: number;
  /** Redundancy filter threshold; default 0.9 for lasso_logistic, off otherwise unless given. */
  pearsonMax?: number;
  lambda?: number;
  folds?: number;
  rule?: 'min' | '1se';
  seed?: number;
  nlambda?: number;
  gbdt?: Partial<GbdtParams>;
  minCell?: number;
  onRefusal?: 'fail' | 'exclude';
}

export interface Fitted {
  family: Family;
  n: number;
  events: number;
  terms: Term[];
  lambda: number | null;
  lambda_rule: 'min' | '1se' | 'fixed' | null;
  selected: { input: string[]; icc: string[]; pearson: string[]; model: string[] };
  standardization: Record<string, { mean: number; sd: number }>;
  iterations: number;
  converged: boolean;
  round_trips: number;
  fit_ms: number;
  dropped_missing: Record<string, number>;
  excluded_sites: { site: string; code: string; message: string }[];
  icc?: Record<string, number>;
  deviance?: number;
  null_deviance?: number;
  aic?: number;
  aliased?: string[];
  separation?: { detected: boolean; message?: string };
  lambda_min?: number;
  lambda_1se?: number;
  lambda_max?: number;
  cv?: { lambda: number; cvm: number; cvsd: number; nonzero: number }[];
  gbdt?: Pick<GbdtModel, 'baseScore' | 'edges' | 'trees' | 'params' | 'smallNodes'>;
}

export async function fitTabular(transport: Transport, spec: FitSpec): Promise<Fitted> {
  const t0 = performance.now();
  const fed = new Federation(transport, spec.onRefusal ?? 'fail');
  if (spec.columns.length === 0) throw new FlError('tabular.columns', 'no predictor columns given');
  const dup = spec.columns.find((c, i) => spec.columns.indexOf(c) !== i);
  if (dup) throw new FlError('tabular.columns', `column "${dup}" given twice`);
  if (spec.columns.includes(spec.outcome)) throw new FlError('tabular.columns', `the outcome "${spec.outcome}" is also a predictor column`);
  const input = [...spec.columns];
  let columns = input;
  let icc: Record<string, number> | undefined;
  // Screening round (all columns used by any step, so the complete cases are fixed once).
  const used = [...input, ...Object.entries(spec.iccPairs ?? {}).filter(([f]) => input.includes(f)).map(([, f2]) => f2)];
  fed.completeOn = used;
  await pooledMoments(fed, spec.outcome, used, undefined, { screening: true });
  if (spec.iccPairs && Object.keys(spec.iccPairs).length > 0) {
    for (const f of Object.keys(spec.iccPairs)) if (!input.includes(f)) throw new FlError('tabular.icc', `--icc-pair names "${f}", which is not one of the --columns`);
    const pairs = input.filter((f) => spec.iccPairs![f]).map((f) => [f, spec.iccPairs![f]!] as [string, string]);
    const res = await pooledIcc(fed, spec.outcome, pairs);
    icc = Object.fromEntries(res.map((r) => [r.pair[0], r.icc]));
    columns = iccFilter(columns, icc, spec.iccMin ?? 0.75).kept;
    if (columns.length === 0) throw new FlError('tabular.selection', `no feature has ICC >= ${spec.iccMin ?? 0.75}`);
  }
  const afterIcc = [...columns];
  const pearsonMax = spec.pearsonMax ?? (spec.family === 'lasso_logistic' ? 0.9 : undefined);
  if (pearsonMax !== undefined && columns.length > 1) {
    const c = await pooledCorrelation(fed, spec.outcome, columns);
    columns = redundancyFilter(columns, c.r, icc ?? {}, pearsonMax);
  }
  const afterPearson = [...columns];
  const base = {
    selected: { input, icc: afterIcc, pearson: afterPearson, model: columns },
    dropped_missing: fed.droppedMissing, excluded_sites: fed.excluded, ...(icc ? { icc } : {}),
  };
  let out: Fitted;
  if (spec.family === 'logistic') {
    const r = await fitLogistic(fed, spec.outcome, columns);
    const [m] = await pooledMoments(fed, spec.outcome, columns);
    out = {
      family: 'logistic', n: r.n, events: r.events, terms: r.terms, lambda: null, lambda_rule: null, ...base,
      selected: { ...base.selected, model: columns.filter((c) => !r.aliased.includes(c)) },
      standardization: Object.fromEntries(columns.map((c, j) => [c, { mean: m!.mean[j]!, sd: m!.sd[j]! }])),
      iterations: r.iterations, converged: r.converged, round_trips: 0, fit_ms: 0,
      deviance: r.deviance, null_deviance: r.null_deviance, aic: r.aic, aliased: r.aliased, separation: r.separation,
    };
  } else if (spec.family === 'lasso_logistic') {
    const r = await fitLasso(fed, spec.outcome, columns, {
      ...(spec.lambda !== undefined ? { lambda: [spec.lambda] } : {}),
      folds: spec.folds ?? 10, rule: spec.rule ?? 'min', seed: spec.seed ?? 1, ...(spec.nlambda ? { nlambda: spec.nlambda } : {}),
    });
    out = {
      family: 'lasso_logistic', n: r.n, events: r.events, terms: r.terms, lambda: r.lambda, lambda_rule: r.lambda_rule, ...base,
      selected: { ...base.selected, model: r.nonzero },
      standardization: r.standardization, iterations: r.iterations, converged: r.converged, round_trips: 0, fit_ms: 0,
      deviance: r.deviance, lambda_max: r.lambda_max,
      ...(r.path ? { lambda_min: r.lambda_min!, lambda_1se: r.lambda_1se!, cv: r.path } : {}),
    };
  } else {
    const m = await fitGbdt(fed, spec.outcome, columns, { ...GBDT_DEFAULTS, ...spec.gbdt }, spec.minCell ?? 5);
    const [mom] = await pooledMoments(fed, spec.outcome, columns);
    out = {
      family: 'gbdt', n: m.n, events: m.events, terms: [], lambda: null, lambda_rule: null, ...base,
      standardization: Object.fromEntries(columns.map((c, j) => [c, { mean: mom!.mean[j]!, sd: mom!.sd[j]! }])),
      iterations: m.trees.length, converged: true, round_trips: 0, fit_ms: 0,
      gbdt: { baseScore: m.baseScore, edges: m.edges, trees: m.trees, params: m.params, smallNodes: m.smallNodes },
    };
  }
  out.round_trips = fed.roundTrips;
  out.fit_ms = Math.round(performance.now() - t0);
  return out;
}
