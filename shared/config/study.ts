// The study configuration (study.yaml), validated by zod; errors name the field.
import { z } from 'zod';
import { tlsKitSchema } from './tls.js';
import { endpointFields, refineEndpointFields } from './endpoint.js';
import { secureAggregationSchema, validateSecureAggregation } from '../secagg/params.js';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" or "-" (max 64)');

const table1Column = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'a manifest column: letters, digits and _');

export const studyModelSchema = z.strictObject({
  /** Name of the model within the study (e.g. "ddfn"). */
  name: id,
  /** Model family (shared/families/registry.ts): `image` for the networks; default: the family
   *  that registers the architecture. */
  family: z.string().min(1).optional(),
  /** Registered architecture within the family (shared/models/registry.ts); defaults to the name. */
  architecture: z.string().min(1).optional(),
  /** Architecture config (modalities, input size, widths...), validated by the architecture. */
  config: z.record(z.string(), z.unknown()).default({}),
  /** With a hierarchical endpoint (study `levels:`): the level this model predicts (default the first). */
  level: z.string().min(1).optional(),
  // Tabular models (family logistic | lasso_logistic | gbdt; shared/tabular/config.ts): inputs,
  // selection rules, tree settings, outcome, min_cell, missing. Validated by the family (errors
  // name the field); carried to the family in `config`.
  inputs: z.unknown().optional(),
  selection: z.unknown().optional(),
  gbdt: z.unknown().optional(),
  outcome: z.unknown().optional(),
  min_cell: z.unknown().optional(),
  missing: z.unknown().optional(),
}).superRefine((m, ctx) => {
  const tabular = TABULAR_FAMILIES.includes(m.family as (typeof TABULAR_FAMILIES)[number]);
  for (const k of TABULAR_KEYS) {
    if (m[k] !== undefined && !tabular) ctx.addIssue({ code: 'custom', path: [k], message: `only tabular models (family: ${TABULAR_FAMILIES.join(' | ')}) take "${k}"` });
  }
  if (tabular && m.inputs === undefined) ctx.addIssue({ code: 'custom', path: ['inputs'], message: `a ${m.family} model names its inputs (columns, radiomics, scores)` });
}).transform(({ inputs, selection, gbdt, outcome, min_cell, missing, ...m }) => {
  const extra = { inputs, selection, gbdt, outcome, min_cell, missing };
  const given = Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined));
  if (Object.keys(given).length === 0) return m;
  return { ...m, architecture: m.architecture ?? m.family, config: { ...m.config, ...given } };
});

/** Families whose models are fitted from sums after the image rounds (shared/families/tabular). */
export const TABULAR_FAMILIES = ['logistic', 'lasso_logistic', 'gbdt'] as const;
const TABULAR_KEYS = ['inputs', 'selection', 'gbdt', 'outcome', 'min_cell', 'missing'] as const;

/** True for a model fitted from sums (not trained in rounds). */
export function isSumsModel(m: { readonly family?: string | undefined }): boolean {
  return TABULAR_FAMILIES.includes(m.family as (typeof TABULAR_FAMILIES)[number]);
}

export const trainingSchema = z.strictObject({
  epochs: z.int().min(1).max(1000).default(1),
  batch_size: z.int().min(1).max(4096).default(16),
  learning_rate: z.number().positive().max(10).default(0.001),
  seed: z.int().min(0).default(42),
});

/** Which cohorts train, which validate (model selection, threshold), which are held out. */
export const cohortRolesSchema = z.strictObject({
  train: z.array(z.literal('train')).min(1).default(['train']),
  validation: z.array(z.literal('validation')).default(['validation']),
  /** Never seen by training or selection; scored only by frozen models. */
  held_out: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/)).default(['test', 'prospective']),
}).superRefine((c, ctx) => {
  c.held_out.forEach((h, i) => {
    if (h === 'train' || h === 'validation') ctx.addIssue({ code: 'custom', path: ['held_out', i], message: `"${h}" cannot be held out` });
  });
});

export const evaluationSchema = z.strictObject({
  /** Which round's model is final: the last, or the best by federated validation AUC. */
  selection: z.enum(['final', 'best_validation_auc']).default('final'),
  /** Operating threshold chosen on pooled validation predictions. */
  threshold: z.strictObject({
    rule: z.enum(['youden', 'target_sensitivity', 'target_npv', 'fixed']).default('target_sensitivity'),
    /** Target for target_* rules, the threshold itself for `fixed`. */
    value: z.number().min(0).max(1).default(0.9),
  }).default({ rule: 'target_sensitivity', value: 0.9 }),
  /** Cases leave sites as pseudonymised predictions, or only as aggregate counts. */
  privacy: z.enum(['predictions', 'aggregate']).default('predictions'),
  deadline_s: z.number().positive().default(600),
  /** Paired bootstrap replicates for P-values of NPV/specificity differences. */
  bootstrap: z.int().min(0).max(100_000).default(2000),
  /** Model compared against the others (DeLong, bootstrap). */
  reference_model: z.string().optional(),
});

export const studySchema = z.strictObject({
  id,
  title: z.string().optional(),
  rounds: z.int().min(1).max(10_000),
  min_sites: z.int().min(1),
  /** Sites expected to take part; when given, only these may join. */
  sites: z.array(id).optional(),
  /** How long the coordinator waits for updates in a round, in seconds. */
  round_deadline_s: z.number().positive().default(600),
  /** A site that disconnects mid-round stays in it if it reconnects within this many seconds
   *  (its transfers resume); after that it is left out of the round. 0 = drop at once. */
  reconnect_grace_s: z.number().min(0).default(15),
  /** How long to wait for min_sites to connect before the first round, in seconds. */
  join_timeout_s: z.number().positive().default(600),
  models: z.array(studyModelSchema).min(1),
  training: trainingSchema.default(trainingSchema.parse({})),
  cohorts: cohortRolesSchema.default(cohortRolesSchema.parse({})),
  /** Differential privacy (optional): each site clips its update to L2 norm `clip` and adds
   *  Gaussian noise N(0, (noise_multiplier * clip)^2); the coordinator accounts epsilon (RDP). */
  dp: z.strictObject({
    clip: z.number().positive(),
    noise_multiplier: z.number().positive(),
    delta: z.number().gt(0).lt(1).default(1e-5),
  }).optional(),
  /** Held-out evaluation after training; omit `evaluation` to train only. */
  evaluation: evaluationSchema.optional(),
  /** Aggregation strategy; validated by the coordinator's strategy registry (coordinator/strategies). */
  strategy: z.looseObject({ name: z.string().min(1) }).default({ name: 'fedavg' }),
  /** Reject an update whose L2 norm exceeds `factor` x the round's median norm (0 = off). */
  outlier_norm_factor: z.number().min(0).default(10),
  /** Endpoint from manifest columns, restricted population, hierarchical levels, subgroups (endpoint.ts). */
  ...endpointFields,
  /** Table 1 (baseline characteristics per cohort and site, from site aggregates; coordinator/table1.ts).
   *  columns: a manifest column name (numeric) or {name, type: numeric | binary | categorical, levels,
   *  edges (histogram edges for the median/IQR; default from the pooled mean +- 3 SD)}.
   *  Default: the clinical columns and the columns of the tabular models' inputs. */
  table1: z.strictObject({
    columns: z.array(z.union([
      table1Column,
      z.strictObject({
        name: table1Column,
        type: z.enum(['numeric', 'binary', 'categorical']).default('numeric'),
        levels: z.array(z.string().regex(/^[A-Za-z0-9_.+-]{1,40}$/, 'levels are letters, digits, _ . + - (max 40)')).min(1).max(100).optional(),
        edges: z.array(z.number().finite()).min(2).max(201).optional(),
      }).superRefine((c, ctx) => {
        if (c.type === 'categorical' && !c.levels) ctx.addIssue({ code: 'custom', path: ['levels'], message: `categorical column "${c.name}" needs its levels` });
        if (c.type !== 'categorical' && c.levels) ctx.addIssue({ code: 'custom', path: ['levels'], message: `levels are for categorical columns ("${c.name}" is ${c.type})` });
        if (c.edges && (c.type !== 'numeric' || c.edges.some((e, i) => i > 0 && !(e > c.edges![i - 1]!)))) ctx.addIssue({ code: 'custom', path: ['edges'], message: 'edges are for numeric columns and must increase' });
      }),
    ])).min(1).max(500),
  }).optional(),
  /** Secure aggregation (shared/secagg/README.md): the coordinator learns only the sum of the updates.
   *  threshold T in ceil(2n/3)..n for n listed sites (or min_sites); quantization {clip, bits}. */
  secure_aggregation: secureAggregationSchema.optional(),
}).superRefine((s, ctx) => {
  refineEndpointFields(s, ctx);
  if (s.secure_aggregation?.enabled) {
    try {
      validateSecureAggregation(s.secure_aggregation, s.sites?.length ?? s.min_sites, 'study');
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['secure_aggregation'], message: (err as Error).message });
    }
    if (s.outlier_norm_factor > 0) {
      ctx.addIssue({ code: 'custom', path: ['outlier_norm_factor'], message: 'secure_aggregation hides individual updates, so the norm-outlier filter cannot run: set outlier_norm_factor: 0' });
    }
    // Tabular fits read each site's sums (coordinator/fit-from-sums.ts); until they travel through
    // secure aggregation (its transportFor seam), a study that promises only totals refuses them.
    s.models.forEach((m, i) => {
      if (isSumsModel(m)) ctx.addIssue({ code: 'custom', path: ['models', i, 'family'], message: `a ${m.family} model is fitted from each site's sums, which the coordinator would see one site at a time; secure aggregation of tabular sums is not available yet: fit it in a study without secure_aggregation` });
    });
  }
  if (s.sites && s.min_sites > s.sites.length) {
    ctx.addIssue({ code: 'custom', path: ['min_sites'], message: `min_sites (${s.min_sites}) exceeds the ${s.sites.length} listed sites` });
  }
  const levelNames = (s.levels ?? []).map((l) => l.name);
  s.models.forEach((m, i) => {
    if (m.level !== undefined && !levelNames.includes(m.level)) ctx.addIssue({ code: 'custom', path: ['models', i, 'level'], message: levelNames.length ? `level "${m.level}" is not one of the study's levels (${levelNames.join(', ')})` : `level "${m.level}" is given, but the study declares no levels` });
  });
  const seen = new Set<string>();
  s.models.forEach((m, i) => {
    if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `duplicate model name "${m.name}"` });
    seen.add(m.name);
  });
  // predictions.csv has one column per model and per subgroup beside site, cohort, case_key, label, level.
  const taken = new Set(['site', 'cohort', 'case_key', 'label', 'level', ...s.models.map((m) => m.name)]);
  (s.subgroups ?? []).forEach((g, i) => {
    if (taken.has(g.name)) ctx.addIssue({ code: 'custom', path: ['subgroups', i, 'name'], message: `subgroup "${g.name}" would name the same predictions.csv column as a model or site, cohort, case_key, label, level: rename it` });
  });
});
export type StudyConfig = z.output<typeof studySchema>;

/** The read-only HTTP view of a study. Binds to loopback unless `listen` names another host. */
export const httpSchema = z.strictObject({
  /** HOST:PORT, or PORT alone for 127.0.0.1:PORT. 0.0.0.0 exposes the dashboard to the network: set a token. */
  listen: z.union([z.number().int().min(0).max(65535), z.string()]).transform((v, ctx) => {
    const text = String(v);
    const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^\s:]+):)?(\d{1,5})$/.exec(text);
    if (!m || Number(m[2]) > 65535) {
      ctx.addIssue({ code: 'custom', message: `expected HOST:PORT or PORT (e.g. 127.0.0.1:9464), got "${text}"` });
      return z.NEVER;
    }
    return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  }),
  /** Bearer token required on every request (Authorization: Bearer TOKEN, or ?token= for browsers). */
  token: z.string().min(16, 'use at least 16 characters (e.g. `openssl rand -hex 24`)').optional(),
});
export type HttpConfig = z.output<typeof httpSchema>;

export const coordinatorSchema = z.strictObject({
  /** host:port to listen on. */
  listen: z.string().regex(/^[^\s:]*:\d{1,5}$/, 'expected host:port, e.g. 0.0.0.0:7443').default('0.0.0.0:7443'),
  /**
   * The bulk channel: a second port on the same host and certificates (mutual TLS) that carries the
   * bytes of admitted uploads beside their gRPC call, without HTTP/2 framing. A port, 0 for any free
   * port, or "off" (everything on the gRPC port). Default: any free port on listen's host, which
   * suits one machine or an open network; behind a firewall set a fixed port (7444 beside 7443 in
   * deploy/) and open it. Sites that cannot reach it send on the gRPC call instead (slower, same
   * checks).
   */
  bulk_port: z.union([z.number().int().min(0).max(65535), z.literal('off')]).optional(),
  /**
   * The port the sites are told to dial for the bulk channel, when a port forward in front of the
   * coordinator (NAT, a container mapping) exposes bulk_port under another number. Default: bulk_port.
   */
  bulk_advertised_port: z.number().int().min(1).max(65535).optional(),
  /** Where checkpoints, spooled updates, the study log and reports go. */
  data_dir: z.string().min(1),
  tls: tlsKitSchema.optional(),
  /** Plain-text gRPC; only for experiments on one machine. */
  insecure: z.boolean().default(false),
  /** The tamper-evident study log (default DATA_DIR/audit); its Ed25519 key in DATA_DIR/keys/. */
  audit_dir: z.string().min(1).optional(),
  /** SHA-256 fingerprints of revoked party certificates (refused at every call). */
  revoked_fingerprints: z.array(z.string().regex(/^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/, 'expected a SHA-256 fingerprint (64 hex digits, colons optional)')).default([]),
  /** A file of revoked fingerprints (one per line, `#` comments), added to revoked_fingerprints and
   *  re-read while the coordinator runs (on change and on SIGHUP). */
  revoked_fingerprints_file: z.string().min(1).optional(),
  /** An upload or evaluation stream must send its header within this many seconds. */
  header_timeout_s: z.number().positive().max(300).default(5),
  /** ...and then must not go this long without a message (it is cancelled and its slot freed). */
  progress_timeout_s: z.number().positive().max(3600).default(30),
  /** NATS server URL for events and the replicated log; in-process bus when absent. */
  nats_url: z.string().optional(),
  /** Read-only dashboard and metrics over HTTP (`/`, `/api/status`, `/events`, `/metrics`); off when absent. */
  http: httpSchema.optional(),
}).superRefine((c, ctx) => {
  if (!c.tls && !c.insecure) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'required unless insecure: true (run `fl provision` to make certificates)' });
  }
});
export type CoordinatorConfig = z.output<typeof coordinatorSchema>;

/** The coordinator's config file: the study and where/how to serve it. */
export const coordinatorFileSchema = z.strictObject({
  study: studySchema,
  coordinator: coordinatorSchema,
});
export type CoordinatorFile = z.output<typeof coordinatorFileSchema>;
