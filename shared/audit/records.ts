// The records of the study log: one zod schema per event type, joined in a discriminated union
// on `type`. Every record carries `seq` (0, 1, 2, … = its Merkle leaf index) and `time` (ISO 8601
// UTC, non-decreasing). Schemas are loose objects: extra fields are kept (and hashed), so the
// coordinator can add detail without a schema change. A new event type is one more schema here
// and one more entry in `RECORD_SCHEMAS`.
//
// Digests of tensor sets, configs, results and reports are SHA-256 lowercase hex.
import { z } from 'zod';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest (64 lowercase hex digits)');
const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
const name = z.string().min(1).max(200);
const round = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

const base = {
  seq: z.number().int().nonnegative(),
  time: z.iso.datetime({ offset: false, precision: 3 }),
};

export const StudyConfigRecord = z.looseObject({
  ...base, type: z.literal('study_config'),
  study: name.optional(),
  /** SHA-256 of the study configuration as loaded (canonical form defined by the coordinator). */
  digest: hex64,
});

export const SiteJoinedRecord = z.looseObject({
  ...base, type: z.literal('site_joined'),
  site: name,
  /** SHA-256 of the site's DER certificate. */
  cert_fingerprint: hex64,
  /** Base64 DER SPKI of the key the site signs updates and co-signatures with (if it does). */
  public_key: base64.optional(),
  /** Base64 DER of the site's certificate (issued by the study CA; its key is `public_key`). */
  certificate: base64.optional(),
  /** The train-cohort size the site declared: the bound on num_examples of its updates. */
  train_cases: count.optional(),
  /** The site's signature over joinStatement(study, site, train_cases). */
  join_signature: base64.optional(),
});

export const RoundStartedRecord = z.looseObject({
  ...base, type: z.literal('round_started'),
  round,
  participants: z.array(name),
  /** Per model: the global model version and digest sent to the participants. */
  models: z.record(name, z.looseObject({ version: count, digest: hex64 })),
  deadline_unix_ms: z.number().int().nonnegative().optional(),
});

export const UpdateAcceptedRecord = z.looseObject({
  ...base, type: z.literal('update_accepted'),
  round, model: name, site: name,
  update_id: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be [A-Za-z0-9._-]'),
  num_examples: count,
  digest: hex64,
  /** The site's signature (base64) over `updateSignatureStatement(...)`, or null when unsigned. */
  signature: base64.nullable(),
  /** Base64 SPKI of the signing key when it was not announced in the site's site_joined record. */
  site_public_key: base64.optional(),
});

export const UpdateRejectedRecord = z.looseObject({
  ...base, type: z.literal('update_rejected'),
  round, model: name, site: name,
  reason: z.string().min(1),
});

export const ArrivalEntry = z.looseObject({ site: name, update_id: z.string().min(1), digest: hex64, num_examples: count });

export const RoundAggregatedRecord = z.looseObject({
  ...base, type: z.literal('round_aggregated'),
  round, model: name,
  strategy: name,
  /** Accepted updates in the order they were summed (by site name). */
  summation_order: z.array(ArrivalEntry).optional(),
  /** Logs written before `summation_order` existed: the same list under a misleading name (it
   *  never was the arrival order). Read through `summationOrder()`. */
  arrival_order: z.array(ArrivalEntry).optional(),
  /** Update ids in the order they arrived. */
  received_order: z.array(z.string().min(1)).optional(),
  /** The strategy's full configuration (name and parameters), so a replay rebuilds the same rule. */
  strategy_config: z.looseObject({ name }).optional(),
  global_digest_before: hex64,
  aggregated_digest: hex64,
}).refine((r) => r.summation_order !== undefined || r.arrival_order !== undefined, { message: 'needs summation_order (or, in older logs, arrival_order)', path: ['summation_order'] });

/** The updates of a round_aggregated record in the order they were summed (old logs: arrival_order). */
export function summationOrder(r: z.output<typeof RoundAggregatedRecord>): z.output<typeof ArrivalEntry>[] {
  return r.summation_order ?? r.arrival_order ?? [];
}

export const SiteDroppedRecord = z.looseObject({
  ...base, type: z.literal('site_dropped'),
  round: round.optional(),
  site: name,
  reason: z.string().min(1),
});

export const PrivacyAccountingRecord = z.looseObject({
  ...base, type: z.literal('privacy_accounting'),
  round: round.optional(), model: name.optional(), site: name.optional(),
  epsilon: z.number().nonnegative(),
  delta: z.number().min(0).max(1),
});

/**
 * Secure aggregation of one model in one round (issue 17): who took part at each step, the
 * threshold, the digest of each masked upload and of the unmasked ring sum, and the secrets the
 * round revealed (survivors' self-mask seeds, dropped sites' mask keys), so an audit replay can
 * re-derive the aggregate from the spooled masked uploads.
 */
export const SecureAggregationRecord = z.looseObject({
  ...base, type: z.literal('secure_aggregation'),
  round, model: name,
  session: z.looseObject({
    study: name, sites: z.array(name).min(1), threshold: count, elements: count, chunkElements: count,
    quantization: z.looseObject({ clip: z.number().positive(), bits: count }),
  }),
  survivors: z.array(name), dropped: z.array(name),
  weights: z.record(z.string(), z.number()),
  upload_digests: z.record(z.string(), hex64),
  aggregate_sha256: hex64,
  revealed: z.looseObject({ selfSeeds: z.record(z.string(), base64), droppedMaskKeys: z.record(z.string(), base64) }),
  mask_keys: z.record(z.string(), base64),
  update_ids: z.record(z.string(), name),
});

export const FrozenModel = z.looseObject({
  model: name,
  version: count.optional(),
  digest: hex64,
  threshold: z.number().optional(),
});

export const ModelsFrozenRecord = z.looseObject({
  ...base, type: z.literal('models_frozen'),
  models: z.array(FrozenModel).min(1),
});

const ModelRef = z.looseObject({ model: name, digest: hex64 });

export const EvaluationRequestedRecord = z.looseObject({
  ...base, type: z.literal('evaluation_requested'),
  models: z.array(ModelRef).min(1),
  cohorts: z.array(name).optional(),
  sites: z.array(name).optional(),
});

export const EvaluationResultRecord = z.looseObject({
  ...base, type: z.literal('evaluation_result'),
  site: name,
  cohort: name.optional(),
  cohorts: z.array(name).optional(),
  results_digest: hex64,
  /** The models scored; when absent, those of the latest evaluation_requested record. */
  models: z.array(ModelRef).optional(),
});

export const ReportRecord = z.looseObject({
  ...base, type: z.literal('report'),
  digest: hex64,
});

/**
 * Written by the log itself when it reopens after a crash: a torn last line was quarantined
 * (never accepted, never silently dropped) and/or complete records after the last signed tree
 * head are now covered by a new head.
 */
export const LogRecoveredRecord = z.looseObject({
  ...base, type: z.literal('log_recovered'),
  torn_bytes: count,
  torn_sha256: hex64.optional(),
  /** Where the torn bytes were kept (relative to the log directory). */
  quarantined_to: z.string().min(1).optional(),
  /** Complete records found after the last signed tree head. */
  unsigned_records: count,
});

/** A round attempt that was started but never saved (the coordinator stopped); it is run again. */
export const RoundInterruptedRecord = z.looseObject({
  ...base, type: z.literal('round_interrupted'),
  round,
  reason: z.string().min(1).max(2000),
});

/** The study was stopped: by an admin (it ends) or by a signal (`resumable`: it continues at the next start). */
export const StudyStoppedRecord = z.looseObject({
  ...base, type: z.literal('study_stopped'),
  by: z.string().min(1).max(300),
  resumable: z.boolean(),
});

/** The coordinator started again on the same data_dir and continues the study (never a new study_config). */
export const StudyResumedRecord = z.looseObject({
  ...base, type: z.literal('study_resumed'),
  phase: z.string().min(1).max(40),
  from_round: round,
});

/** An administrator's action (start, stop, any change), naming the admin certificate. */
export const AdminActionRecord = z.looseObject({
  ...base, type: z.literal('admin_action'),
  action: name,
  admin: name,
  cert_fingerprint: hex64.optional(),
});

/** A task a site refused under its own policy (reported by the site, with its reason). */
export const TaskRefusedRecord = z.looseObject({
  ...base, type: z.literal('task_refused'),
  site: name,
  task_id: z.string().min(1).max(200),
  reason: z.string().min(1),
});

export const RECORD_SCHEMAS = [
  StudyConfigRecord, SiteJoinedRecord, RoundStartedRecord, UpdateAcceptedRecord, UpdateRejectedRecord,
  RoundAggregatedRecord, SiteDroppedRecord, PrivacyAccountingRecord, SecureAggregationRecord, ModelsFrozenRecord,
  EvaluationRequestedRecord, EvaluationResultRecord, ReportRecord, LogRecoveredRecord,
  RoundInterruptedRecord, StudyStoppedRecord, StudyResumedRecord, AdminActionRecord, TaskRefusedRecord,
] as const;

export const AuditRecordSchema = z.discriminatedUnion('type', RECORD_SCHEMAS);
export type AuditRecord = z.infer<typeof AuditRecordSchema>;
export type RecordType = AuditRecord['type'];
export const RECORD_TYPES: readonly RecordType[] = RECORD_SCHEMAS.map((s) => s.shape.type.value);

/** A record as the caller hands it to the log: seq and time are assigned by the log. */
export type RecordInput = { type: string } & Record<string, unknown>;

/** First schema problem as "field: message", or null. */
export function recordProblem(value: unknown): string | null {
  const r = AuditRecordSchema.safeParse(value);
  if (r.success) return null;
  const issue = r.error.issues[0]!;
  const path = issue.path.length ? issue.path.join('.') : '(record)';
  return `${path}: ${issue.message}`;
}

/**
 * What a site signs for an update: the study, round, model, update id, example count and the
 * update's tensor-set digest. Canonical, so coordinator, site and auditor produce the same bytes.
 */
export function updateSignatureStatement(u: { study: string; round: number; model: string; site: string; update_id: string; num_examples: number; digest: string }): string {
  return JSON.stringify(['fl-audit/update/v1', u.study, u.round, u.model, u.site, u.update_id, u.num_examples, u.digest]);
}

/** What a site signs when it joins: its study, name and train-cohort size (bounds its updates' example counts). */
export function joinStatement(u: { study: string; site: string; train_cases: number }): string {
  return JSON.stringify(['fl-audit/join/v1', u.study, u.site, u.train_cases]);
}
