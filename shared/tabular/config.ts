// Study-config entry of a tabular model (family, inputs, selection rules, gbdt settings), with
// defaults; errors name the field, e.g. `models[2].selection.lasso.rule: ...`.
import { z } from 'zod';
import { FlError } from '../errors/index.js';

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'a name of letters, digits, _ . - starting with a letter');

export const tabularInputsSchema = z.object({
  /** Manifest columns (clinical variables), numeric or 0/1. */
  columns: z.array(name).optional(),
  /** Radiomics features of `fl radiomics` for a modality and regions (optionally a subset of features). */
  radiomics: z.object({
    modality: name,
    regions: z.array(name).min(1),
    features: z.array(name).optional(),
  }).strict().optional(),
  /** Scores of other frozen models of the study (a Rad-score, a CNN's output) used as features. */
  scores: z.array(name).optional(),
  /** Penultimate-layer features of a frozen image model, reduced by PCA of the pooled covariance. */
  deep_features: z.object({ model: name, components: z.number().int().min(1).max(512).default(5) }).strict().optional(),
}).strict().refine((v) => Boolean(v.columns?.length || v.radiomics || v.scores?.length || v.deep_features), {
  message: 'name at least one input: columns, radiomics, scores or deep_features',
});

export const lassoSelectionSchema = z.object({
  folds: z.number().int().min(3).max(50).default(10),
  rule: z.enum(['min', '1se']).default('1se'),
  /** A fixed lambda instead of cross-validation. */
  lambda: z.number().positive().optional(),
  nlambda: z.number().int().min(2).max(1000).default(100),
  seed: z.number().int().min(0).default(1),
}).strict();

export const selectionSchema = z.object({
  /** Keep features with ICC(2,1) between the two delineations >= icc_min. */
  icc_min: z.number().min(0).max(1).default(0.75),
  /** Then drop a feature whose |Pearson r| with an already kept (higher-ICC) feature exceeds pearson_max. */
  pearson_max: z.number().gt(0).max(1).default(0.9),
  lasso: lassoSelectionSchema.default({ folds: 10, rule: '1se', nlambda: 100, seed: 1 }),
}).strict();

export const gbdtSchema = z.object({
  rounds: z.number().int().min(1).max(10000).default(100),
  max_depth: z.number().int().min(1).max(12).default(3),
  learning_rate: z.number().gt(0).max(1).default(0.1),
  lambda: z.number().min(0).default(1),
  gamma: z.number().min(0).default(0),
  min_child_weight: z.number().min(0).default(1),
  bins: z.number().int().min(2).max(1024).default(32),
}).strict();

export const tabularModelSchema = z.object({
  name,
  family: z.enum(['logistic', 'lasso_logistic', 'gbdt']),
  /** Outcome column (default: the study's label column). */
  outcome: name.optional(),
  inputs: tabularInputsSchema,
  selection: selectionSchema.optional(),
  gbdt: gbdtSchema.optional(),
  /** Disclosure control: the smallest number of cases a site sends sums over. */
  min_cell: z.number().int().min(1).default(5),
  /** Missing values: complete cases (rows with a missing used value are dropped and counted per site). */
  missing: z.enum(['complete_case']).default('complete_case'),
}).strict().superRefine((v, ctx) => {
  if (v.gbdt && v.family !== 'gbdt') ctx.addIssue({ code: 'custom', path: ['gbdt'], message: `gbdt settings given for family ${v.family}` });
  if (v.selection?.lasso.lambda !== undefined && v.family !== 'lasso_logistic') ctx.addIssue({ code: 'custom', path: ['selection', 'lasso'], message: `lasso settings given for family ${v.family}` });
});

export type TabularModelConfig = z.infer<typeof tabularModelSchema>;

/** Parses one model entry; `where` prefixes the field paths (e.g. "study.yaml: models[2]"). */
export function parseTabularModel(value: unknown, where = 'model'): TabularModelConfig {
  const r = tabularModelSchema.safeParse(value);
  if (r.success) {
    const out = r.data;
    if (out.family === 'lasso_logistic' && !out.selection) out.selection = selectionSchema.parse({});
    if (out.family === 'gbdt' && !out.gbdt) out.gbdt = gbdtSchema.parse({});
    return out;
  }
  const lines = r.error.issues.map((i) => `${where}${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`);
  throw new FlError('config.invalid', `invalid tabular model:\n  ${lines.join('\n  ')}`);
}
