// A site agent's configuration (site.yaml).
import { z } from 'zod';
import { tlsKitSchema } from './tls.js';
import { modalitySettingsSchema } from './modality.js';

/** Start of the TaskStatus message of a task a site refused under its `policy:` (the coordinator records it). */
export const POLICY_REFUSAL_PREFIX = 'refused by site policy: ';

export const backendSchema = z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);

const range = (what: string) => z.strictObject({ min: z.number().positive(), max: z.number().positive() })
  .refine((r) => r.min <= r.max, { message: `${what}: min must not exceed max` });

/** What this site accepts whatever the coordinator asks (`policy:` in site.yaml). */
export const sitePolicySchema = z.strictObject({
  /** Evaluation privacy modes this site accepts. */
  privacy: z.array(z.enum(['predictions', 'aggregate'])).min(1).default(['predictions', 'aggregate']),
  /** Cohorts whose per-case scores may leave the site (`aggregate`-only sites: none). */
  per_case_cohorts: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'cohort names are lowercase')).default(['validation', 'test', 'prospective']),
  /** Bounds on the training settings of a task (absent: no bound). */
  training: z.strictObject({
    learning_rate: range('learning_rate').optional(),
    epochs: z.strictObject({ min: z.int().min(1), max: z.int().min(1) }).refine((r) => r.min <= r.max, { message: 'epochs: min must not exceed max' }).optional(),
    batch_size: z.strictObject({ min: z.int().min(1), max: z.int().min(1) }).refine((r) => r.min <= r.max, { message: 'batch_size: min must not exceed max' }).optional(),
    /** Registered architectures or families this site trains (`all`: any). */
    models: z.array(z.string().min(1)).min(1).default(['all']),
  }).default({ models: ['all'] }),
  /** A freeze notice must carry a signed tree head and the inclusion proof of its models_frozen record. */
  require_freeze_proof: z.boolean().default(true),
});
export type SitePolicy = z.output<typeof sitePolicySchema>;
export const DEFAULT_SITE_POLICY: SitePolicy = sitePolicySchema.parse({});

export const siteSchema = z.strictObject({
  /** The study this agent takes part in (from the startup kit). */
  study_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" or "-" (max 64)'),
  site_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" or "-" (max 64)'),
  /** Coordinator address host:port (the agent dials out). */
  coordinator: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port'),
  /** The site's manifest CSV (paths inside it are relative to it). */
  manifest: z.string().min(1),
  /** Local working directory (downloaded models, logs). */
  work_dir: z.string().min(1).default('.fl-site'),
  backend: backendSchema.default('auto'),
  /** Training threads (data-parallel replicas on the wasm/cpu backends); default: the cores this process may use. */
  threads: z.int().min(1).max(256).optional(),
  tls: tlsKitSchema.optional(),
  insecure: z.boolean().default(false),
  /** Secret for pseudonymising case ids in evaluation results (HMAC-SHA256). */
  pseudonym_secret: z.string().min(16).optional(),
  /** Per-modality image settings: colour (`channels: rgb`, e.g. cdus) and the frame policy of
   *  cine files (`frames: fixed:N | peak | mean | sample:K`). Default: grey, single frame. */
  modalities: z.record(z.string().regex(/^[a-z][a-z0-9]*$/, 'modality names are lowercase letters and digits'), modalitySettingsSchema).default({}),
  /** Images must stay inside this folder (default: the manifest's folder). */
  data_root: z.string().min(1).optional(),
  /** Cache of preprocessed model-sized tensors (default: .fl-cache beside the manifest). */
  cache_dir: z.string().min(1).optional(),
  /** Manifest columns beyond age, tumor_size_mm, ki67, n_positive_nodes that tabular models may read
   *  (e.g. aus_positive, molecular_subtype); their values stay at the site, only sums leave. */
  tabular_columns: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'column names are letters, digits and _')).default([]),
  /** Smallest number of cases (and of each outcome class) a tabular sum may come from (DataSHIELD's
   *  disclosure floor); a study may ask for more, never fewer. */
  min_cell: z.int().min(1).default(5),
  /** What this site accepts whatever the coordinator asks (see sitePolicySchema). */
  policy: sitePolicySchema.default(DEFAULT_SITE_POLICY),
  /** Reconnect backoff, milliseconds. */
  backoff: z.strictObject({
    initial_ms: z.int().min(1).default(200),
    max_ms: z.int().min(1).default(10_000),
  }).default({ initial_ms: 200, max_ms: 10_000 }),
}).superRefine((c, ctx) => {
  if (!c.tls && !c.insecure) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'required unless insecure: true (use the startup kit from `fl provision`)' });
  }
});
export type SiteConfig = z.output<typeof siteSchema>;
