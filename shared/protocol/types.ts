// The domain types of the fl.v1 protocol: plain readonly objects, discriminated by `type`, with
// every JSON field already parsed and validated. Nothing outside shared/protocol sees a generated
// ts-proto type; convert.ts maps between these and the wire.
import type { TensorInfo } from '../tensor/tensor-set.js';
import type { SignedTreeHead } from '../audit/tree-head.js';
import type { ConsistencyProof } from '../audit/proofs.js';
import type { AggregateEvaluation } from '../evaluation/aggregate.js';
import type { Metrics, ModelConfigs, StrategyParams, SubgroupsWire } from './json-fields.js';

export type { TensorInfo, SignedTreeHead, ConsistencyProof, AggregateEvaluation, Metrics, ModelConfigs, StrategyParams, SubgroupsWire };
export type { ModelSpec } from './json-fields.js';

/** A global model version the coordinator serves. */
export interface ModelRef {
  readonly studyId: string;
  readonly model: string;
  readonly round: number;
  readonly version: number;
  readonly digest: string;
}

/** A frozen model and its operating threshold. */
export interface FrozenModel {
  readonly ref: ModelRef;
  readonly threshold: number;
}

export interface Chunk {
  /** Byte offset of `data` within the tensor data. */
  readonly offset: number;
  readonly data: Buffer;
  /** Hex SHA-256 of `data`. */
  readonly sha256: string;
}

// ---- coordinator → site (session) ----

export interface Welcome {
  readonly type: 'welcome';
  readonly studyId: string;
  readonly siteId: string;
  readonly heartbeatIntervalMs: number;
  readonly currentRound: number;
}

interface TaskHead {
  readonly taskId: string;
  readonly studyId: string;
  readonly round: number;
  readonly deadlineUnixMs: number;
}

export interface TrainTask extends TaskHead {
  readonly type: 'train';
  /** One per model trained in the study. */
  readonly models: readonly ModelRef[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  readonly strategyParams: StrategyParams;
  readonly modelConfigs: ModelConfigs;
}

export type EvaluationPrivacy = 'predictions' | 'aggregate';

export interface EvaluateTask extends TaskHead {
  readonly type: 'evaluate';
  readonly models: readonly FrozenModel[];
  readonly cohorts: readonly string[];
  readonly privacy: EvaluationPrivacy;
  readonly modelConfigs: ModelConfigs;
  /** True for test/prospective cohorts: only frozen models may score them. */
  readonly heldOut: boolean;
  /** The study's subgroups (name, manifest column, condition as written); each prediction row gets one flag per subgroup. */
  readonly subgroups: SubgroupsWire;
}

export type Task = TrainTask | EvaluateTask;

export interface Stop {
  readonly type: 'stop';
  readonly reason: string;
}

/** The final models and thresholds, committed in the study log before any held-out evaluation. */
export interface FreezeNotice {
  readonly type: 'freeze';
  readonly studyId: string;
  readonly models: readonly FrozenModel[];
  readonly logSeq: number;
  readonly recordHash: string;
  /** JSON {record, head, proof} proving the models_frozen record is in the signed log ('' when absent). */
  readonly proofJson?: string;
}

/** End of a round: the log's signed tree head and a consistency proof from the site's last head. */
export interface CosignRequest {
  readonly type: 'cosign';
  readonly head: SignedTreeHead;
  /** Null when the site has signed nothing yet. */
  readonly proof: ConsistencyProof | null;
  /** SPKI PEM of the log key. */
  readonly coordinatorPublicKey: string;
}

/** One step of a multi-phase round or of a fit from sums (see PhaseRequest in the proto). */
export interface PhaseRequest {
  readonly type: 'phase';
  readonly exchangeId: string;
  readonly studyId: string;
  readonly round: number;
  readonly model: string;
  /** Handler at the site: "<family or protocol>.<step>". */
  readonly phase: string;
  readonly payload: Uint8Array;
  readonly deadlineUnixMs: number;
}

export type CoordinatorMessage = Welcome | Task | Stop | FreezeNotice | CosignRequest | PhaseRequest;

// ---- site → coordinator (session) ----

export interface Hello {
  readonly type: 'hello';
  readonly studyId: string;
  readonly siteId: string;
  readonly agentVersion: string;
  readonly backend: string;
  readonly cohortCounts: Readonly<Record<string, number>>;
  /** Base64 signature over joinStatement(study, site, train cases) with the certificate key ('' when unsigned). */
  readonly joinSignature?: string;
}

export interface Heartbeat {
  readonly type: 'heartbeat';
  readonly timeUnixMs: number;
}

export type TaskState = 'running' | 'done' | 'failed';

export interface TaskStatus {
  readonly type: 'status';
  readonly taskId: string;
  readonly state: TaskState;
  readonly message: string;
  /** 0..1 */
  readonly progress: number;
  readonly metrics: Metrics;
}

/** A site's co-signature over a tree head, or why it refused (`error` non-empty, `head` may be null). */
export interface CosignResponse {
  readonly type: 'cosignature';
  readonly head: SignedTreeHead | null;
  /** Base64, over the co-signature statement, with the site's key. */
  readonly signature: string;
  readonly error: string;
  /** Tree size this site last co-signed. */
  readonly lastSize: number;
}

/** A site's answer to a PhaseRequest: the payload, or why it refused (`error` non-empty). */
export interface PhaseReply {
  readonly type: 'phase_reply';
  readonly exchangeId: string;
  readonly payload: Uint8Array;
  readonly error: string;
}

export type SiteMessage = Hello | Heartbeat | TaskStatus | CosignResponse | PhaseReply;

// ---- model transfer ----

export interface DownloadRequest {
  readonly studyId: string;
  readonly model: string;
  readonly version: number;
  /** Resume from this byte offset. */
  readonly offset: number;
  /** 0 = server default. */
  readonly chunkBytes: number;
}

export interface ModelHeader {
  readonly ref: ModelRef;
  readonly tensors: readonly TensorInfo[];
  readonly totalBytes: number;
}

export type ModelPart = { readonly type: 'header'; readonly header: ModelHeader } | { readonly type: 'chunk'; readonly chunk: Chunk };

/** Field names as on the wire, so the site's privacy guard checks exactly what is sent. */
export interface UpdateHeader {
  readonly studyId: string;
  readonly siteId: string;
  readonly model: string;
  readonly round: number;
  /** Version of the global model the delta was computed from. */
  readonly modelVersion: number;
  readonly numExamples: number;
  /** SHA-256 of the update tensor set. */
  readonly digest: string;
  /** Tensor infos as announced; a dtype other than float32 is kept so the spec check can name it. */
  readonly tensors: readonly TensorInfo[];
  readonly totalBytes: number;
  readonly updateId: string;
  readonly metrics: Metrics;
  readonly taskId: string;
  readonly signature: string;
  readonly resumeOffset: number;
  /**
   * Multi-range upload: this stream carries the blocks in [resumeOffset, rangeEnd) only; absent or
   * 0: one stream with everything from resumeOffset on.
   */
  readonly rangeEnd?: number;
}

export type UploadPart = { readonly type: 'header'; readonly header: UpdateHeader } | { readonly type: 'chunk'; readonly chunk: Chunk };

export interface UploadStatusRequest {
  readonly studyId: string;
  readonly siteId: string;
  readonly updateId: string;
  readonly model: string;
  readonly round: number;
}

export interface UploadStatusResponse {
  readonly receivedBytes: number;
  readonly accepted: boolean;
}

export interface UploadReceipt {
  readonly accepted: boolean;
  readonly updateId: string;
  readonly digest: string;
  readonly message: string;
}

// ---- evaluation results ----

export interface Prediction {
  /** HMAC pseudonym of the case id. */
  readonly caseKey: string;
  readonly cohort: string;
  readonly label: number;
  /** Model name → score. */
  readonly scores: Readonly<Record<string, number>>;
  /** Declared subgroup name → the case is in it (absent: its manifest cell is missing). */
  readonly subgroups?: Readonly<Record<string, boolean>>;
}

/** One batch of a site's evaluation results (field names as on the wire, for the privacy guard). */
export interface EvaluationReport {
  readonly studyId: string;
  readonly siteId: string;
  readonly taskId: string;
  readonly predictions: readonly Prediction[];
  /** privacy "aggregate": the counts as sent (the digest covers this exact text); '' otherwise. */
  readonly aggregateJson: string;
  readonly digest: string;
}

/** A batch as the coordinator receives it: `aggregateJson` already validated and parsed. */
export interface ReceivedEvaluationReport extends EvaluationReport {
  readonly aggregate: AggregateEvaluation | null;
}

export interface Ack {
  readonly ok: boolean;
  readonly message: string;
}

// ---- admin ----

export interface SiteStatus {
  readonly siteId: string;
  readonly connected: boolean;
  readonly backend: string;
  readonly lastSeenUnixMs: number;
  /** Why the site refused to co-sign the study log at its latest request ('' or absent: it did not). */
  readonly cosignRefused?: string;
}

export interface RoundSummary {
  readonly round: number;
  readonly state: string;
  readonly sites: readonly string[];
  readonly metrics: Metrics;
}

export interface StatusResponse {
  readonly studyId: string;
  readonly state: string;
  readonly round: number;
  readonly sites: readonly SiteStatus[];
  readonly rounds: readonly RoundSummary[];
}

export interface StartRequest {
  /** 0 = as configured. */
  readonly rounds: number;
}
