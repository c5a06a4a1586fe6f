// A site agent's configuration (site.yaml).
import { z } from 'zod';
import { tlsKitSchema } from './tls.js';
import { modalitySettingsSchema } from './modality.js';

export const backendSchema = z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);

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
