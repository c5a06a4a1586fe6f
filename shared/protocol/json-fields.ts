// The zod schemas of every JSON field (and free-form map) that travels inside a fl.v1 message,
// defined once and used by both the sending side (encode: a builder bug fails before anything is
// sent) and the receiving side (decode: a peer's malformed field is refused with a message that
// names the party and the field).
import { z } from 'zod';
import { status } from '@grpc/grpc-js';
import { SignedTreeHeadSchema, type SignedTreeHead } from '../audit/tree-head.js';
import type { ConsistencyProof } from '../audit/proofs.js';
import { aggregateSchema, type AggregateEvaluation } from '../evaluation/aggregate.js';
import { ProtocolError } from './errors.js';

const MAX_MAP_ENTRIES = 256;
const key = (what: string) => z.string().regex(/^[A-Za-z0-9_.:/-]{1,128}$/, `${what} names are 1-128 letters, digits or "_.:/-"`);
/** Any IEEE double (a site may report NaN for an undefined metric, e.g. AUC with one class). */
const double = z.custom<number>((v) => typeof v === 'number', 'must be a number');

/** Metric maps (TaskStatus.metrics, UpdateHeader.metrics, RoundSummary.metrics). */
export const metricsSchema = z
  .record(key('metric'), double)
  .refine((m) => Object.keys(m).length <= MAX_MAP_ENTRIES, `at most ${MAX_MAP_ENTRIES} metrics`);
export type Metrics = Readonly<Record<string, number>>;

/** Cases per cohort in Hello (counts only). */
export const cohortCountsSchema = z
  .record(key('cohort'), z.number().int().min(0))
  .refine((m) => Object.keys(m).length <= MAX_MAP_ENTRIES, `at most ${MAX_MAP_ENTRIES} cohorts`);

/**
 * TrainTask.strategy_params: what the strategy asks each site to do locally. Known keys carry
 * their range; other keys (a strategy's own) must be finite numbers.
 */
export const strategyParamsSchema = z
  .record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'parameter names are lowercase snake_case'), z.number().refine(Number.isFinite, 'must be finite'))
  .superRefine((p, ctx) => {
    const check = (k: string, ok: (v: number) => boolean, what: string) => {
      const v = p[k];
      if (v !== undefined && !ok(v)) ctx.addIssue({ code: 'custom', path: [k], message: what });
    };
    check('proximal_mu', (v) => v >= 0, 'proximal_mu must be >= 0');
    check('dp_clip', (v) => v > 0, 'dp_clip must be > 0');
    check('dp_noise_multiplier', (v) => v >= 0, 'dp_noise_multiplier must be >= 0');
    if (('dp_clip' in p) !== ('dp_noise_multiplier' in p)) ctx.addIssue({ code: 'custom', path: [], message: 'dp_clip and dp_noise_multiplier come together' });
    if (Object.keys(p).length > 64) ctx.addIssue({ code: 'custom', path: [], message: 'at most 64 parameters' });
  });
export type StrategyParams = Readonly<Record<string, number>>;

/**
 * TrainTask/EvaluateTask.model_config_json: per study model, the registered architecture and its
 * config (validated in detail by the architecture when the site builds the model).
 */
export const modelSpecSchema = z.strictObject({
  /** Model family (shared/families); absent: the family that registers the architecture. */
  family: z.string().min(1).max(64).optional(),
  architecture: z.string().min(1).max(128),
  config: z.record(z.string(), z.unknown()),
  /** The model's endpoint (issue 16): the chain of levels down to the model's own (level k among
   *  the positives of level k - 1), as the study wrote them; the site validates each level
   *  (shared/config/endpoint.ts levelSchema) and relabels its cases. Absent: the `label` column. */
  endpoint: z.array(z.record(z.string(), z.unknown())).min(1).max(4).optional(),
});
export const modelConfigsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'model names are letters, digits, "._-" (max 64)'),
  modelSpecSchema,
);
export interface ModelSpec {
  readonly family?: string | undefined;
  readonly architecture: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly endpoint?: readonly Readonly<Record<string, unknown>>[] | undefined;
}
export type ModelConfigs = Readonly<Record<string, ModelSpec>>;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** CosignRequest.proof_json. */
export const consistencyProofSchema = z.strictObject({
  first_size: z.number().int().min(0),
  second_size: z.number().int().min(0),
  first_root: hex64,
  second_root: hex64,
  path: z.array(hex64).max(128),
});

/** CosignRequest.head_json and CosignResponse.head_json. */
export const treeHeadSchema = SignedTreeHeadSchema;

/** EvaluationReport.aggregate_json: counts on a threshold grid per cohort and model. */
export const evaluationAggregateSchema = aggregateSchema;
export const MAX_AGGREGATE_JSON_BYTES = 4 << 20;

/** Validates a decoded (not JSON) field, e.g. a map. */
export function checkField<T>(schema: z.ZodType<T>, value: unknown, field: string, party: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = issue.path.length ? `.${issue.path.join('.')}` : '';
  // A bad map key: the key schema's own message says what names are allowed.
  const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  throw new ProtocolError(`${party}: field "${field}${at}": ${message}`);
}

/** Parses and validates a JSON field. `text` empty is an error (callers decide when a field is optional). */
export function parseJsonField<T>(schema: z.ZodType<T>, text: string, field: string, party: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ProtocolError(`${party}: field "${field}" is not JSON`);
  }
  return checkField(schema, parsed, field, party);
}

/** Validates then serialises a JSON field on the sending side. */
export function encodeJsonField<T>(schema: z.ZodType<T>, value: T, field: string, party: string): string {
  return JSON.stringify(checkField(schema, value, field, party));
}

/** EvaluateTask.subgroups_json: the study's declared subgroups as written (shared/config/endpoint.ts
 *  subgroupSchema parses `when` at the site); each site adds one flag per subgroup to a prediction row. */
export const subgroupsWireSchema = z.array(z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'lower-case letters, digits and "_" (max 40)'),
  column: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'a manifest column name'),
  when: z.string().min(1).max(64),
})).max(16, 'at most 16 subgroups')
  .refine((a) => new Set(a.map((s) => s.name)).size === a.length, 'subgroup names are unique');
export type SubgroupsWire = z.output<typeof subgroupsWireSchema>;

export function parseSubgroups(text: string, field: string, party: string): SubgroupsWire {
  return text === '' ? [] : parseJsonField(subgroupsWireSchema, text, field, party);
}

export function parseModelConfigs(text: string, field: string, party: string): ModelConfigs {
  return parseJsonField(modelConfigsSchema, text, field, party);
}

export function parseTreeHead(text: string, field: string, party: string): SignedTreeHead {
  return parseJsonField(treeHeadSchema, text, field, party);
}

export function parseConsistencyProof(text: string, field: string, party: string): ConsistencyProof {
  return parseJsonField(consistencyProofSchema, text, field, party);
}

/** EvaluationReport.aggregate_json (size first: RESOURCE_EXHAUSTED, then JSON and schema). */
export function parseEvaluationAggregate(text: string, party: string): AggregateEvaluation {
  if (text.length > MAX_AGGREGATE_JSON_BYTES) {
    throw new ProtocolError(`${party}: field "aggregate_json": aggregate results too large (${text.length} bytes, at most ${MAX_AGGREGATE_JSON_BYTES})`, { grpcCode: status.RESOURCE_EXHAUSTED });
  }
  return parseJsonField(evaluationAggregateSchema, text, 'aggregate_json', party);
}

export function encodeEvaluationAggregate(a: AggregateEvaluation, party: string): string {
  return encodeJsonField(evaluationAggregateSchema, a, 'aggregate_json', party);
}
