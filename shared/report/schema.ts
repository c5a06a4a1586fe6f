// The report.json contract, as zod schemas: the study report the coordinator writes (and the
// demo prints), and the statistics panel `fl evaluate` computes (its `cohorts`). The HTML report,
// `fl evaluate`, the demo, the dashboard and the tests read reports through these types, never by
// casting. Objects are loose: a newer coordinator may add keys (older readers keep working), but
// every key a reader uses is named and typed here.
import { z } from 'zod';

/** A number in a report: JSON has no NaN, so undefined figures are null (with a reason beside them). */
const num = z.number();
const maybe = num.nullable();
const ci = z.tuple([num, num]).readonly().nullable();
/** Metric maps: values may be non-finite in memory (NaN AUC of a one-class cohort) and null in JSON. */
const metricMap = z.record(z.string(), z.union([num, z.nan(), z.null()]));

export const estimateSchema = z.looseObject({
  estimate: maybe,
  ci: ci.optional(),
  method: z.string().optional(),
  /** Why the estimate (or its interval) is undefined. */
  reason: z.string().optional(),
  numerator: num.optional(),
  denominator: num.optional(),
  se: maybe.optional(),
  x: num.optional(),
  n: num.optional(),
});

export const rocPointSchema = z.union([z.tuple([num, num]).readonly(), z.looseObject({ fpr: num, tpr: num })]);

export const calibrationSchema = z.looseObject({
  intercept: maybe,
  slope: maybe,
  brier: maybe,
  reason: z.string().optional(),
  /** e.g. scores of exactly 0 or 1 clipped before the fit (the slope depends on that constant). */
  note: z.string().optional(),
  bins: num.optional(),
  curve: z.array(z.looseObject({ mean_predicted: num, observed: num, n: num, ci: z.tuple([num, num]).readonly().optional() })).optional(),
});

export const decisionPointSchema = z.looseObject({ threshold: num, net_benefit: num, treat_all: num });

export const modelStatsSchema = z.looseObject({
  n: num.optional(),
  positives: num.optional(),
  auc: estimateSchema,
  threshold: num,
  sensitivity: estimateSchema,
  specificity: estimateSchema,
  ppv: estimateSchema,
  npv: estimateSchema,
  accuracy: estimateSchema,
  fraction_below_threshold: maybe.optional(),
  fraction_below_threshold_reason: z.string().optional(),
  roc: z.array(rocPointSchema).optional(),
  roc_reason: z.string().optional(),
  calibration: calibrationSchema.optional(),
  /** null when undefined (scores that are not probabilities, no cases): see decision_curve_reason. */
  decision_curve: z.array(decisionPointSchema).nullable().optional(),
  decision_curve_reason: z.string().optional(),
});

export const differenceSchema = z.looseObject({
  estimate: maybe,
  ci: ci.optional(),
  p: maybe.optional(),
  reason: z.string().optional(),
});

export const comparisonSchema = z.looseObject({
  a: z.string(),
  b: z.string(),
  auc_difference: maybe,
  delong: z.looseObject({ z: maybe, p: maybe, reason: z.string().optional() }),
  npv_difference: differenceSchema.optional(),
  specificity_difference: differenceSchema.optional(),
  bootstrap: z.looseObject({
    replicates: num.optional(),
    npv_difference: differenceSchema.optional(),
    specificity_difference: differenceSchema.optional(),
  }).optional(),
});

export const groupSchema = z.looseObject({
  n: num,
  positives: num,
  models: z.record(z.string(), modelStatsSchema),
  comparisons: z.array(comparisonSchema).optional(),
});

export const cohortSchema = groupSchema.extend({
  subgroups: z.record(z.string(), groupSchema).optional(),
});

/** What the statistics panel (HTML) needs: the cohorts of `fl evaluate` or of a study report. */
export const statisticsPanelSchema = z.looseObject({
  cohorts: z.record(z.string(), cohortSchema),
});

export const roundReportSchema = z.looseObject({
  round: num,
  state: z.enum(['completed', 'completed_without_some_sites', 'failed']),
  reason: z.string().optional(),
  participants: z.array(z.string()),
  dropped: z.record(z.string(), z.string()),
  duration_s: num,
  privacy: z.looseObject({ epsilon: num, delta: num, noise_multiplier: num, clip: num, releases: num }).optional(),
  models: z.record(z.string(), z.looseObject({
    sites: z.array(z.string()),
    num_examples: num,
    metrics: metricMap,
    global_digest_before: z.string(),
    global_digest: z.string(),
    strategy_metrics: metricMap,
    rejected: z.array(z.looseObject({ site: z.string(), reason: z.string() })),
  })),
});

export const frozenModelSchema = z.looseObject({
  model: z.string(),
  version: num,
  digest: z.string(),
  threshold: num,
  thresholdRule: z.string(),
  selection: z.string().optional(),
  validation: z.looseObject({ n: num, positives: num, fraction_below_threshold: maybe }),
});

const table1CellSchema = z.looseObject({ text: z.string().nullable(), reason: z.string().optional() });
const table1RowSchema = z.looseObject({ variable: z.string(), statistic: z.string(), cells: z.record(z.string(), table1CellSchema) });
/** Table 1 (baseline characteristics per cohort and site) pooled from site aggregates (coordinator/table1.ts);
 *  or only a reason (and the sites that did not answer) when there is none. */
export const table1PooledSchema = z.looseObject({
  cohorts: z.array(z.string()),
  n: z.record(z.string(), maybe),
  rows: z.array(table1RowSchema),
  tests: z.record(z.string(), z.looseObject({ test: z.string(), statistic: maybe, p: maybe, reason: z.string().optional() })),
  by_site: z.record(z.string(), z.looseObject({ n: z.record(z.string(), maybe), rows: z.array(table1RowSchema) })),
  notes: z.array(z.string()),
  sites_answered: z.array(z.string()),
  sites_missing: z.record(z.string(), z.string()),
});
export const table1Schema = z.union([table1PooledSchema, z.looseObject({ reason: z.string(), sites_missing: z.record(z.string(), z.string()) })]);

/** Subgroup analyses (issue 16 item 2): per subgroup its definition, cases with a missing cell and,
 *  per cohort and model, the AUC interaction test against the complement (DeLong, independent samples). */
export const subgroupAnalysesSchema = z.record(z.string(), z.looseObject({
  definition: z.string(), missing: num,
  interaction: z.record(z.string(), z.record(z.string(), z.looseObject({ difference: maybe, z: maybe, p: maybe, ci: ci.nullable(), method: z.string(), reason: z.string().optional() }))),
  reason: z.string().optional(),
}));

/**
 * One level of a hierarchical endpoint (study `levels:`; level 2 among the positives of level 1):
 * its endpoint as configured, its models and their thresholds, and the held-out figures on the
 * level's own population per cohort (same shape as the report's `cohorts`: n and positives of the
 * level's cases, every model's figures, the comparisons between every pair of the level's models,
 * the subgroups and their complements) with the subgroup interaction tests on the level's cases.
 * A study with one endpoint (outcome/population, or the label column) has no `levels` key: its
 * figures are the top-level `cohorts`.
 */
export const levelReportSchema = z.looseObject({
  /** 1-based position in the hierarchy. */
  level: num,
  name: z.string(),
  title: z.string(),
  endpoint: z.looseObject({ outcome: z.string(), population: z.string() }),
  models: z.array(z.string()),
  thresholds: z.record(z.string(), num),
  /** The level's first model: the one its headline table compares with. */
  reference_model: z.string().nullable(),
  cohorts: z.record(z.string(), cohortSchema),
  subgroup_analyses: subgroupAnalysesSchema.optional(),
});

export const studyReportSchema = z.looseObject({
  study: z.looseObject({ id: z.string(), title: z.string().nullable(), config_digest: z.string() }),
  state: z.enum(['completed', 'failed', 'stopped']),
  reason: z.string().nullable(),
  started_at: z.string(),
  ended_at: z.string(),
  duration_s: num,
  strategy: z.string(),
  sites: z.array(z.looseObject({ site: z.string(), backend: z.string(), cohorts: z.record(z.string(), num) })),
  rounds: z.array(roundReportSchema),
  final_models: z.record(z.string(), z.looseObject({ version: num, digest: z.string(), checkpoint: z.string() })),
  frozen_models: z.array(frozenModelSchema).optional(),
  evaluation: z.looseObject({
    privacy: z.string(),
    held_out_cohorts: z.array(z.string()),
    sites_answered: z.array(z.string()),
    sites_missing: z.record(z.string(), z.string()),
  }).optional(),
  cohorts: z.record(z.string(), cohortSchema).optional(),
  thresholds: z.record(z.string(), num).optional(),
  reference_model: z.string().optional(),
  cross_site_auc: z.record(z.string(), z.record(z.string(), z.looseObject({ estimate: maybe, ci: ci.optional() }).nullable())).optional(),
  table1: table1Schema.optional(),
  /** Declared subgroups (issue 16 item 2): per subgroup its definition, cases with a missing cell and,
   *  per cohort and model, the AUC interaction test against the complement (DeLong, independent
   *  samples); the figures themselves are in cohorts.<cohort>.subgroups. Only a reason in privacy "aggregate". */
  subgroup_analyses: z.union([z.looseObject({ reason: z.string() }), subgroupAnalysesSchema]).optional(),
  /** A hierarchical endpoint: one section per level (see levelReportSchema); absent otherwise. */
  levels: z.array(levelReportSchema).optional(),
  /** Why a hierarchical study has no `levels` (privacy "aggregate"). */
  levels_reason: z.string().optional(),
});

export type Estimate = z.output<typeof estimateSchema>;
export type RocPoint = z.output<typeof rocPointSchema>;
export type ModelStats = z.output<typeof modelStatsSchema>;
export type Difference = z.output<typeof differenceSchema>;
export type ComparisonStats = z.output<typeof comparisonSchema>;
export type GroupStats = z.output<typeof groupSchema>;
export type CohortStats = z.output<typeof cohortSchema>;
export type StatisticsPanel = z.output<typeof statisticsPanelSchema>;
export type RoundReport = z.output<typeof roundReportSchema>;
export type FrozenModelReport = z.output<typeof frozenModelSchema>;
export type StudyReport = z.output<typeof studyReportSchema>;
export type Table1Report = z.output<typeof table1Schema>;
export type Table1Pooled = z.output<typeof table1PooledSchema>;
export type LevelReport = z.output<typeof levelReportSchema>;

/** Parses a report.json (a study report); the error names the first field that does not fit. */
export function parseStudyReport(value: unknown, where = 'report.json'): StudyReport {
  const r = studyReportSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${where}: field "${i.path.join('.') || '(root)'}": ${i.message}`);
  }
  return r.data;
}
