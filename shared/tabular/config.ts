// Study-config entry of a tabular model (family, inputs, selection rules, gbdt settings), with
// defaults; errors name the field, e.g. `models[2].selection.lasso.rule: ...`.
import { z } from 'zod';
import { FlError } from '../errors/index.js';

const name = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'a name of letters, digits, _ . - starting with a letter');

/**
 * A manifest column with its type: `numeric` (a number), `binary` (0/1) or `categorical` with its
 * levels (the first is the reference; the model gets one 0/1 indicator `column=level` per other
 * level). A bare name is numeric.
 */
export const columnSpecSchema = z.union([
  name,
  z.object({
    name,
    type: z.enum(['numeric', 'binary', 'categorical']).default('numeric'),
    levels: z.array(z.string().regex(/^[A-Za-z0-9_.+-]{1,40}$/, 'levels are letters, digits, _ . + - (max 40)')).min(2).optional(),
  }).strict().superRefine((c, ctx) => {
    if (c.type === 'categorical' && !c.levels) ctx.addIssue({ code: 'custom', path: ['levels'], message: `categorical column "${c.name}" needs its levels (the first is the reference)` });
    if (c.type !== 'categorical' && c.levels) ctx.addIssue({ code: 'custom', path: ['levels'], message: `levels are for categorical columns ("${c.name}" is ${c.type})` });
    if (c.levels && new Set(c.levels).size !== c.levels.length) ctx.addIssue({ code: 'custom', path: ['levels'], message: 'levels must differ' });
  }),
]);
export type ColumnSpec = z.infer<typeof columnSpecSchema>;

/** The name, type and model terms of a column spec (categorical: one indicator `name=level` per non-reference level). */
export function columnTerms(c: ColumnSpec): { name: string; type: 'numeric' | 'binary' | 'categorical'; levels: string[]; terms: string[] } {
  if (typeof c === 'string') return { name: c, type: 'numeric', levels: [], terms: [c] };
  const levels = c.levels ?? [];
  return { name: c.name, type: c.type, levels, terms: c.type === 'categorical' ? levels.slice(1).map((l) => `${c.name}=${l}`) : [c.name] };
}

export const tabularInputsSchema = z.object({
  /** Manifest columns (clinical variables): a name (numeric) or {name, type: numeric | binary | categorical, levels}. */
  columns: z.array(columnSpecSchema).optional(),
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
