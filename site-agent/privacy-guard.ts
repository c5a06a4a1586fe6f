// The site's outbound whitelist: every message the agent sends passes `guard.guardOutbound(kind,
// payload)` first. What may leave a hospital is: model-shaped float32 tensors (an update whose
// names/shapes/dtypes match the global model and whose values are finite), bounded flat metric
// maps, counts, pseudonymised predictions (HMAC case keys, 0/1 labels, scores in [0,1], one
// true/false flag per subgroup the study declared), and
// short control fields (ids, digests, versions). Anything else — an unknown kind, an unknown
// field, free text beyond a short status line, bytes that are not part of an approved update —
// is blocked: logged (without the payload) and thrown as OutboundBlockedError.
//
// Payload shapes are those of the fl.v1 messages as shared/protocol's domain types carry them
// (field names as on the wire, without the `type` tag), so what is checked is what is sent.
import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../shared/util/log.js';
import { bytesOf, specMismatch, tensorSetDigest, totalElements, type TensorInfo, type TensorSet } from '../shared/tensor/tensor-set.js';

export class OutboundBlockedError extends Error {
  override name = 'OutboundBlockedError';
  constructor(
    readonly kind: string,
    readonly reason: string,
  ) {
    super(`privacy guard blocked outbound ${kind}: ${reason}`);
  }
}

/** HMAC-SHA256 pseudonym of a case id under the site's secret (64 hex digits). */
export function pseudonymise(caseId: string, siteSecret: string): string {
  if (siteSecret.length < 16) throw new Error('the pseudonym secret must have at least 16 characters');
  if (caseId.length === 0) throw new Error('cannot pseudonymise an empty case id');
  return createHmac('sha256', siteSecret).update(caseId, 'utf8').digest('hex');
}

// ---- field vocabularies ----
const ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const MAX_METRICS = 64;
const MAX_STATUS_MESSAGE = 256;
const MAX_PREDICTIONS = 200_000;
const MAX_AGGREGATE_JSON = 256 * 1024;

const id = z.string().regex(ID, 'must be a short identifier');
const hex64 = z.string().regex(HEX64, 'must be 64 lowercase hex digits');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const metrics = z
  .record(z.string().regex(/^[A-Za-z0-9_.:/-]{1,64}$/, 'metric names are short identifiers'), finite)
  .refine((m) => Object.keys(m).length <= MAX_METRICS, `at most ${MAX_METRICS} metrics`);
const tensorInfo = z.strictObject({
  name: z.string().min(1).max(256),
  shape: z.array(z.number().int().min(0)).max(8),
  dtype: z.string().refine((d) => d === 'float32', 'dtype must be float32'),
});

const helloSchema = z.strictObject({
  studyId: id,
  siteId: id,
  agentVersion: z.string().regex(/^[A-Za-z0-9.+_-]{0,64}$/, 'must be a version string'),
  backend: z.string().regex(/^[a-z0-9-]{0,32}$/, 'must be a backend name'),
  cohortCounts: z.record(id, count).refine((m) => Object.keys(m).length <= MAX_METRICS, 'too many cohorts'),
  /** The site's signature of (study, site, train_cases) with its certificate key: base64, nothing else. */
  joinSignature: z.string().regex(/^[A-Za-z0-9+/]{1,1024}={0,2}$/, 'must be a base64 signature').optional(),
});
const heartbeatSchema = z.strictObject({ timeUnixMs: count });
const statusSchema = z.strictObject({
  taskId: id,
  state: z.enum(['running', 'done', 'failed']),
  message: z
    .string()
    .max(MAX_STATUS_MESSAGE, `status messages are limited to ${MAX_STATUS_MESSAGE} characters`)
    .regex(/^[\x20-\x7e]*$/, 'status messages must be one line of printable ASCII'),
  progress: z.number().min(0).max(1),
  metrics,
});
const downloadRequestSchema = z.strictObject({
  studyId: id,
  model: id,
  version: count,
  offset: count,
  chunkBytes: count,
});
const updateHeaderSchema = z.strictObject({
  studyId: id,
  siteId: id,
  model: id,
  round: count,
  modelVersion: count,
  numExamples: count,
  digest: hex64,
  tensors: z.array(tensorInfo),
  totalBytes: count,
  updateId: id,
  metrics,
  taskId: z.union([id, z.literal('')]),
  signature: z.string().regex(/^[A-Za-z0-9+/=]{0,1024}$/, 'must be base64'),
  resumeOffset: count.optional(),
  rangeEnd: count.optional(),
});
const chunkSchema = z.strictObject({
  offset: count,
  data: z.instanceof(Uint8Array),
  sha256: hex64,
});
const predictionSchema = z.strictObject({
  caseKey: hex64.describe('HMAC-SHA256 pseudonym from pseudonymise()'),
  cohort: id,
  label: z.number().refine((v) => v === 0 || v === 1, 'label must be 0 or 1'),
  scores: z
    .record(id, z.number().min(0).max(1))
    .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 16, 'one to 16 model scores'),
  /** One 0/1 flag per subgroup the study declared (checked against them in guardOutbound). */
  subgroups: z.record(id, z.boolean()).optional(),
});
const evaluationSchema = z.strictObject({
  studyId: id,
  siteId: id,
  taskId: z.union([id, z.literal('')]),
  predictions: z.array(predictionSchema).max(MAX_PREDICTIONS),
  aggregateJson: z.string().max(MAX_AGGREGATE_JSON),
  digest: z.union([hex64, z.literal('')]),
});

export type HelloPayload = z.input<typeof helloSchema>;
export type HeartbeatPayload = z.input<typeof heartbeatSchema>;
export type StatusPayload = z.input<typeof statusSchema>;
export type DownloadRequestPayload = z.input<typeof downloadRequestSchema>;
export type UpdateHeaderPayload = z.input<typeof updateHeaderSchema>;
export type ChunkPayload = z.input<typeof chunkSchema>;
export type EvaluationPayload = z.input<typeof evaluationSchema>;

/** Phase handlers whose replies may leave the site, and what their payloads may hold. */
const PHASE_PAYLOADS = {
  /** Sums of a fit (gradients, information matrices, histograms, counts): JSON of numbers only. */
  tabular: 'numbers',
  /** Table 1 aggregates (counts per level, sums, histograms; small counts suppressed): JSON of numbers only. */
  table1: 'numbers',
  /** Secure aggregation: public keys, ciphertexts of shares, revealed seeds: opaque bytes. */
  secagg: 'bytes',
} as const;
const MAX_PHASE_REPLY = 4 << 20;
const phaseReplySchema = z.strictObject({
  exchangeId: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/, 'must be an exchange id'),
  phase: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be <handler>.<step>'),
  payload: z.custom<Uint8Array>((b) => b instanceof Uint8Array, "must be bytes").refine((b) => b.byteLength <= MAX_PHASE_REPLY, `at most ${MAX_PHASE_REPLY} bytes`),
  error: z.string().max(MAX_STATUS_MESSAGE * 4).regex(/^[\x20-\x7e]*$/, 'refusals must be one line of printable ASCII'),
});
export type PhaseReplyPayload = z.input<typeof phaseReplySchema>;

/** Everything the agent may send, by kind. */
export interface OutboundPayloads {
  hello: HelloPayload;
  heartbeat: HeartbeatPayload;
  status: StatusPayload;
  'download-request': DownloadRequestPayload;
  /** Header of an update upload: must describe an update approved with `approveUpdate`. */
  'update-header': UpdateHeaderPayload;
  /** One chunk of an approved update's bytes; `update` is the approved digest. */
  'update-chunk': { update: string; chunk: ChunkPayload };
  evaluation: EvaluationPayload;
  /** The answer to a phase request, from a whitelisted handler (PHASE_PAYLOADS). */
  'phase-reply': PhaseReplyPayload;
}
export type OutboundKind = keyof OutboundPayloads;

const schemas: { [K in OutboundKind]: z.ZodType } = {
  hello: helloSchema,
  heartbeat: heartbeatSchema,
  status: statusSchema,
  'download-request': downloadRequestSchema,
  'update-header': updateHeaderSchema,
  'update-chunk': z.strictObject({ update: hex64, chunk: chunkSchema }),
  evaluation: evaluationSchema,
  'phase-reply': phaseReplySchema,
};

/** Aggregate results: nested objects/arrays of finite numbers under identifier keys, nothing else. */
function checkAggregate(value: unknown, depth = 0): string | null {
  if (depth > 6) return 'nested too deeply';
  if (typeof value === 'number') return Number.isFinite(value) ? null : 'non-finite number';
  if (Array.isArray(value)) {
    for (const v of value) {
      const e = checkAggregate(v, depth + 1);
      if (e) return e;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!ID.test(k)) return `key "${k.slice(0, 40)}" is not an identifier`;
      const e = checkAggregate(v, depth + 1);
      if (e) return e;
    }
    return null;
  }
  return `${value === null ? 'null' : typeof value} values are not allowed (numbers only)`;
}

interface ApprovedUpdate {
  readonly model: string;
  readonly infos: readonly TensorInfo[];
  readonly bytes: Uint8Array;
}

export interface PrivacyGuardOptions {
  readonly studyId: string;
  readonly siteId: string;
  readonly log: Logger;
  /** How many approved updates to remember for their uploads (default 4). */
  readonly keepApproved?: number;
}

export class PrivacyGuard {
  private readonly specs = new Map<string, readonly TensorInfo[]>();
  private readonly approved = new Map<string, ApprovedUpdate>();
  private blockedCount = 0;
  private subgroups = new Set<string>();

  constructor(private readonly opts: PrivacyGuardOptions) {}

  /** Number of messages blocked so far. */
  get blocked(): number {
    return this.blockedCount;
  }

  /**
   * The subgroups the study declared for an evaluation task (names only): prediction rows may carry
   * a flag for each of these and for nothing else. Set before each evaluation ([] = no flags).
   */
  setSubgroups(names: readonly string[]): void {
    this.subgroups = new Set(names);
  }

  /** The tensor layout of a model, from the global model the coordinator sent. */
  setModelSpec(model: string, infos: readonly TensorInfo[]): void {
    this.specs.set(model, infos.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype })));
  }

  private block(kind: string, reason: string): never {
    this.blockedCount++;
    this.opts.log.error({ kind, reason }, 'privacy guard blocked an outbound message');
    throw new OutboundBlockedError(kind, reason);
  }

  /**
   * Approve a model update for upload: names, shapes and dtypes must match the model's spec and
   * every value must be finite. Returns the digest to put in the update header.
   */
  approveUpdate(model: string, update: TensorSet): string {
    const spec = this.specs.get(model);
    if (!spec) this.block('update', `no tensor spec for model "${model}" (setModelSpec after downloading it)`);
    if (!(update.data instanceof Float32Array)) this.block('update', 'tensor data must be a Float32Array');
    const mismatch = specMismatch(spec, update.infos);
    if (mismatch) this.block('update', `does not match the model spec: ${mismatch}`);
    if (update.data.length !== totalElements(spec)) {
      this.block('update', `has ${update.data.length} values, the model has ${totalElements(spec)}`);
    }
    for (let i = 0; i < update.data.length; i++) {
      if (!Number.isFinite(update.data[i]!)) this.block('update', `value ${i} is not finite`);
    }
    const digest = tensorSetDigest(update);
    this.approved.set(digest, { model, infos: spec, bytes: new Uint8Array(bytesOf(update.data)) });
    while (this.approved.size > (this.opts.keepApproved ?? 4)) this.approved.delete(this.approved.keys().next().value!);
    return digest;
  }

  /**
   * Approve a masked update (secure aggregation): the ring vector produced by the site's
   * SecAggClient, sent in place of the plain update. Its layout must match the model spec; its
   * values are uniformly random bit patterns (not floats), so no finiteness check applies.
   */
  approveMaskedUpdate(model: string, update: TensorSet): string {
    const spec = this.specs.get(model);
    if (!spec) this.block('update', `no tensor spec for model "${model}" (setModelSpec after downloading it)`);
    const mismatch = specMismatch(spec, update.infos);
    if (mismatch) this.block('update', `masked update does not match the model spec: ${mismatch}`);
    if (update.data.length !== totalElements(spec)) this.block('update', `masked update has ${update.data.length} values, the model has ${totalElements(spec)}`);
    const digest = tensorSetDigest(update);
    this.approved.set(digest, { model, infos: spec, bytes: new Uint8Array(bytesOf(update.data)) });
    while (this.approved.size > (this.opts.keepApproved ?? 4)) this.approved.delete(this.approved.keys().next().value!);
    return digest;
  }

  /** Check one outbound message; throws OutboundBlockedError (after logging) when it may not leave. */
  guardOutbound<K extends OutboundKind>(kind: K, payload: OutboundPayloads[K]): void {
    const schema = schemas[kind as OutboundKind] as z.ZodType | undefined;
    if (!schema) this.block(String(kind), 'unknown message kind');
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      this.block(kind, `field "${issue.path.join('.') || '(root)'}": ${issue.message}`);
    }
    const p = payload as Record<string, unknown>;
    if ('studyId' in p && p.studyId !== this.opts.studyId) this.block(kind, `studyId "${String(p.studyId)}" is not this study`);
    if ('siteId' in p && p.siteId !== this.opts.siteId) this.block(kind, `siteId "${String(p.siteId)}" is not this site`);

    switch (kind) {
      case 'update-header': {
        const h = payload as UpdateHeaderPayload;
        const a = this.approved.get(h.digest);
        if (!a) this.block(kind, 'digest does not name an approved update');
        if (a.model !== h.model) this.block(kind, `update was approved for model "${a.model}", header says "${h.model}"`);
        const mismatch = specMismatch(a.infos, h.tensors as TensorInfo[]);
        if (mismatch) this.block(kind, `tensors differ from the approved update: ${mismatch}`);
        if (h.totalBytes !== a.bytes.byteLength) this.block(kind, `totalBytes ${h.totalBytes} != ${a.bytes.byteLength}`);
        break;
      }
      case 'update-chunk': {
        const { update, chunk } = payload as OutboundPayloads['update-chunk'];
        const a = this.approved.get(update);
        if (!a) this.block(kind, 'chunk of an update that was not approved');
        const end = chunk.offset + chunk.data.byteLength;
        if (end > a.bytes.byteLength) this.block(kind, `chunk [${chunk.offset}, ${end}) runs past the update (${a.bytes.byteLength} bytes)`);
        if (Buffer.compare(Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength), Buffer.from(a.bytes.buffer, a.bytes.byteOffset + chunk.offset, chunk.data.byteLength)) !== 0) {
          this.block(kind, `chunk at offset ${chunk.offset} is not the approved update's bytes`);
        }
        if (createHash('sha256').update(chunk.data).digest('hex') !== chunk.sha256) this.block(kind, 'chunk sha256 does not match its data');
        break;
      }
      case 'evaluation': {
        const e = payload as EvaluationPayload;
        const keys = new Set<string>();
        for (const pr of e.predictions) {
          if (keys.has(pr.caseKey)) this.block(kind, 'duplicate caseKey');
          keys.add(pr.caseKey);
          for (const s of Object.keys(pr.subgroups ?? {})) {
            if (!this.subgroups.has(s)) this.block(kind, `subgroup flag "${s}" is not one the study declared (${[...this.subgroups].join(', ') || 'none'})`);
          }
        }
        if (e.aggregateJson !== '') {
          let agg: unknown;
          try {
            agg = JSON.parse(e.aggregateJson);
          } catch {
            this.block(kind, 'aggregateJson is not JSON');
          }
          const err = checkAggregate(agg);
          if (err) this.block(kind, `aggregateJson: ${err}`);
        }
        break;
      }
      case 'phase-reply': {
        const r = payload as PhaseReplyPayload;
        const handler = r.phase.slice(0, r.phase.indexOf('.')) as keyof typeof PHASE_PAYLOADS;
        const kindOf = PHASE_PAYLOADS[handler];
        if (!kindOf) this.block(kind, `phase handler "${handler}" may not send data (allowed: ${Object.keys(PHASE_PAYLOADS).join(', ')})`);
        if (kindOf === 'numbers' && r.payload.byteLength > 0) {
          let value: unknown;
          try {
            value = JSON.parse(Buffer.from(r.payload).toString('utf8'));
          } catch {
            this.block(kind, `${r.phase}: payload is not JSON`);
          }
          const err = checkAggregate(value);
          if (err) this.block(kind, `${r.phase}: ${err}`);
        }
        break;
      }
      default:
        break;
    }
  }
}
