// Conversion between the generated fl.v1 types (./gen) and the domain types (./types.ts). Decoding
// validates what the peer sent (every JSON field and map through json-fields.ts) and names the
// party and the field when it refuses; encoding validates the JSON fields too, so a builder bug is
// caught before anything leaves the process.
import type * as W from './gen/fl/v1/federation.js';
import type { TensorInfo } from '../tensor/tensor-set.js';
import { ProtocolError } from './errors.js';
import {
  checkField, cohortCountsSchema, encodeJsonField, metricsSchema, modelConfigsSchema, parseConsistencyProof,
  parseEvaluationAggregate, parseModelConfigs, parseSubgroups, subgroupsWireSchema, parseTreeHead, strategyParamsSchema, consistencyProofSchema, treeHeadSchema,
} from './json-fields.js';
import type {
  Chunk, CoordinatorMessage, EvaluationReport, FrozenModel, ModelHeader, ModelPart, ModelRef, ReceivedEvaluationReport, SiteMessage,
  StatusResponse, Task, TaskState, UpdateHeader, UploadPart, EvaluationPrivacy,
} from './types.js';

// ---- tensors ----

export function toWireInfos(infos: readonly TensorInfo[]): W.TensorInfo[] {
  return infos.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype }));
}

/** Wire infos → domain infos; an unknown dtype is kept as-is so the spec check can name it. */
export function fromWireInfos(infos: readonly W.TensorInfo[]): TensorInfo[] {
  return infos.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype as TensorInfo['dtype'] }));
}

// ---- references ----

function toWireRef(r: ModelRef): W.ModelRef {
  return { studyId: r.studyId, model: r.model, round: r.round, version: r.version, digest: r.digest };
}

function fromWireRef(r: W.ModelRef | undefined, field: string, party: string): ModelRef {
  if (!r) throw new ProtocolError(`${party}: field "${field}" is missing`);
  return { studyId: r.studyId, model: r.model, round: r.round, version: r.version, digest: r.digest };
}

function toWireFrozen(models: readonly FrozenModel[]): W.FrozenModel[] {
  return models.map((m) => ({ ref: toWireRef(m.ref), threshold: m.threshold }));
}

function fromWireFrozen(models: readonly W.FrozenModel[], field: string, party: string): FrozenModel[] {
  return models.map((m, i) => ({ ref: fromWireRef(m.ref, `${field}[${i}].ref`, party), threshold: m.threshold }));
}

// ---- session: coordinator → site ----

export function encodeCoordinatorMessage(m: CoordinatorMessage, party = 'the coordinator'): W.CoordinatorMessage {
  switch (m.type) {
    case 'welcome':
      return { msg: { $case: 'welcome', value: { studyId: m.studyId, siteId: m.siteId, heartbeatIntervalMs: m.heartbeatIntervalMs, currentRound: m.currentRound } } };
    case 'train':
    case 'evaluate':
      return { msg: { $case: 'task', value: encodeTask(m, party) } };
    case 'stop':
      return { msg: { $case: 'stop', value: { reason: m.reason } } };
    case 'freeze':
      return { msg: { $case: 'freeze', value: { studyId: m.studyId, models: toWireFrozen(m.models), logSeq: m.logSeq, recordHash: m.recordHash, proofJson: m.proofJson ?? '' } } };
    case 'cosign':
      return {
        msg: {
          $case: 'cosign',
          value: {
            headJson: encodeJsonField(treeHeadSchema, m.head, 'cosign.head_json', party),
            proofJson: m.proof ? encodeJsonField(consistencyProofSchema, m.proof, 'cosign.proof_json', party) : '',
            coordinatorPublicKey: m.coordinatorPublicKey,
          },
        },
      };
    case 'phase':
      if (m.payload.length > MAX_PHASE_PAYLOAD) throw new ProtocolError(`${party}: field "phase.payload": ${m.payload.length} bytes, at most ${MAX_PHASE_PAYLOAD} (send model-sized data as an upload)`);
      return {
        msg: {
          $case: 'phase',
          value: { exchangeId: m.exchangeId, studyId: m.studyId, round: m.round, model: m.model, phase: m.phase, payload: Buffer.from(m.payload), deadlineUnixMs: m.deadlineUnixMs },
        },
      };
  }
}

/** Largest phase payload (requests and replies): model-sized data travels by upload/download. */
export const MAX_PHASE_PAYLOAD = 4 << 20;
const PHASE_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

function checkPhaseIds(exchangeId: string, party: string): void {
  if (!/^[A-Za-z0-9._-]{1,80}$/.test(exchangeId)) throw new ProtocolError(`${party}: field "exchange_id": expected 1-80 characters [A-Za-z0-9._-]`);
}

function encodeTask(t: Task, party: string): W.Task {
  const head = { taskId: t.taskId, studyId: t.studyId, round: t.round, deadlineUnixMs: t.deadlineUnixMs };
  const modelConfigJson = encodeJsonField(modelConfigsSchema, t.modelConfigs, `task ${t.taskId}: model_config_json`, party);
  if (t.type === 'train') {
    return {
      ...head,
      kind: {
        $case: 'train',
        value: {
          models: t.models.map(toWireRef), epochs: t.epochs, batchSize: t.batchSize, learningRate: t.learningRate, seed: t.seed,
          strategyParams: checkField(strategyParamsSchema, t.strategyParams, `task ${t.taskId}: strategy_params`, party), modelConfigJson,
        },
      },
    };
  }
  return {
    ...head,
    kind: { $case: 'evaluate', value: { models: toWireFrozen(t.models), cohorts: [...t.cohorts], privacy: t.privacy, modelConfigJson, heldOut: t.heldOut, subgroupsJson: t.subgroups.length ? encodeJsonField(subgroupsWireSchema, t.subgroups, 'subgroups_json', party) : '' } },
  };
}

/** Decodes what the coordinator (`party`) sent on the session; throws ProtocolError naming the field. */
export function decodeCoordinatorMessage(w: W.CoordinatorMessage, party: string): CoordinatorMessage {
  const m = w.msg;
  if (!m) throw new ProtocolError(`${party}: empty session message`);
  switch (m.$case) {
    case 'welcome':
      return { type: 'welcome', ...m.value };
    case 'task':
      return decodeTask(m.value, party);
    case 'stop':
      return { type: 'stop', reason: m.value.reason };
    case 'freeze': {
      const f = m.value;
      return { type: 'freeze', studyId: f.studyId, models: fromWireFrozen(f.models, 'freeze.models', party), logSeq: f.logSeq, recordHash: f.recordHash, ...(f.proofJson ? { proofJson: f.proofJson } : {}) };
    }
    case 'cosign': {
      const c = m.value;
      return {
        type: 'cosign',
        head: parseTreeHead(c.headJson, 'cosign.head_json', party),
        proof: c.proofJson ? parseConsistencyProof(c.proofJson, 'cosign.proof_json', party) : null,
        coordinatorPublicKey: c.coordinatorPublicKey,
      };
    }
    case 'phase': {
      const p = m.value;
      checkPhaseIds(p.exchangeId, party);
      if (!PHASE_NAME.test(p.phase)) throw new ProtocolError(`${party}: field "phase.phase": "${p.phase}" is not "<handler>.<step>" in lowercase`);
      if (p.payload.length > MAX_PHASE_PAYLOAD) throw new ProtocolError(`${party}: field "phase.payload": ${p.payload.length} bytes, at most ${MAX_PHASE_PAYLOAD}`);
      return { type: 'phase', exchangeId: p.exchangeId, studyId: p.studyId, round: p.round, model: p.model, phase: p.phase, payload: new Uint8Array(p.payload), deadlineUnixMs: p.deadlineUnixMs };
    }
  }
}

const PRIVACY: readonly EvaluationPrivacy[] = ['predictions', 'aggregate'];

function decodeTask(t: W.Task, party: string): Task {
  const head = { taskId: t.taskId, studyId: t.studyId, round: t.round, deadlineUnixMs: t.deadlineUnixMs };
  const where = `task ${t.taskId}`;
  try {
    const k = t.kind;
    if (!k) throw new ProtocolError(`${party}: ${where} has no kind (train or evaluate)`);
    if (k.$case === 'train') {
      const v = k.value;
      return {
        type: 'train', ...head,
        models: v.models.map((r, i) => fromWireRef(r, `${where}: train.models[${i}]`, party)),
        epochs: v.epochs, batchSize: v.batchSize, learningRate: v.learningRate, seed: v.seed,
        strategyParams: checkField(strategyParamsSchema, v.strategyParams, `${where}: train.strategy_params`, party),
        modelConfigs: parseModelConfigs(v.modelConfigJson, `${where}: train.model_config_json`, party),
      };
    }
    const v = k.value;
    if (!PRIVACY.includes(v.privacy as EvaluationPrivacy)) {
      throw new ProtocolError(`${party}: field "${where}: evaluate.privacy": "${v.privacy}" is neither "predictions" nor "aggregate"`);
    }
    return {
      type: 'evaluate', ...head,
      models: fromWireFrozen(v.models, `${where}: evaluate.models`, party), cohorts: [...v.cohorts], privacy: v.privacy as EvaluationPrivacy,
      modelConfigs: parseModelConfigs(v.modelConfigJson, `${where}: evaluate.model_config_json`, party), heldOut: v.heldOut,
      subgroups: parseSubgroups(v.subgroupsJson, `${where}: evaluate.subgroups_json`, party),
    };
  } catch (err) {
    // Keep the task id, so the site can report this task as failed.
    if (err instanceof ProtocolError && err.taskId === undefined) throw new ProtocolError(err.message, { grpcCode: err.grpcCode, taskId: t.taskId });
    throw err;
  }
}

// ---- session: site → coordinator ----

const STATES: readonly TaskState[] = ['running', 'done', 'failed'];

export function encodeSiteMessage(m: SiteMessage, party = 'this site'): W.SiteMessage {
  switch (m.type) {
    case 'hello':
      return {
        msg: {
          $case: 'hello',
          value: {
            studyId: m.studyId, siteId: m.siteId, agentVersion: m.agentVersion, backend: m.backend,
            cohortCounts: checkField(cohortCountsSchema, m.cohortCounts, 'hello.cohort_counts', party),
            joinSignature: m.joinSignature ?? '',
          },
        },
      };
    case 'heartbeat':
      return { msg: { $case: 'heartbeat', value: { timeUnixMs: m.timeUnixMs } } };
    case 'status':
      return {
        msg: {
          $case: 'status',
          value: { taskId: m.taskId, state: m.state, message: m.message, progress: m.progress, metrics: checkField(metricsSchema, m.metrics, 'status.metrics', party) },
        },
      };
    case 'cosignature':
      return {
        msg: {
          $case: 'cosignature',
          value: { headJson: m.head ? encodeJsonField(treeHeadSchema, m.head, 'cosignature.head_json', party) : '', signature: m.signature, error: m.error, lastSize: m.lastSize },
        },
      };
    case 'phase_reply':
      if (m.payload.length > MAX_PHASE_PAYLOAD) throw new ProtocolError(`${party}: field "phase_reply.payload": ${m.payload.length} bytes, at most ${MAX_PHASE_PAYLOAD}`);
      return { msg: { $case: 'phaseReply', value: { exchangeId: m.exchangeId, payload: Buffer.from(m.payload), error: m.error.slice(0, 2000) } } };
  }
}

/** Decodes what a site (`party`) sent on its session. */
export function decodeSiteMessage(w: W.SiteMessage, party: string): SiteMessage {
  const m = w.msg;
  if (!m) throw new ProtocolError(`${party}: empty session message`);
  switch (m.$case) {
    case 'hello': {
      const h = m.value;
      return {
        type: 'hello', studyId: h.studyId, siteId: h.siteId, agentVersion: h.agentVersion, backend: h.backend,
        cohortCounts: checkField(cohortCountsSchema, h.cohortCounts, 'hello.cohort_counts', party),
        ...(h.joinSignature ? { joinSignature: h.joinSignature } : {}),
      };
    }
    case 'heartbeat':
      return { type: 'heartbeat', timeUnixMs: m.value.timeUnixMs };
    case 'status': {
      const s = m.value;
      if (!STATES.includes(s.state as TaskState)) throw new ProtocolError(`${party}: field "status.state": "${s.state}" is not running, done or failed`);
      return {
        type: 'status', taskId: s.taskId, state: s.state as TaskState, message: s.message, progress: s.progress,
        metrics: checkField(metricsSchema, s.metrics, 'status.metrics', party),
      };
    }
    case 'cosignature': {
      const c = m.value;
      // A refusal may echo a head the site could not read; only a co-signature needs a valid head.
      const head = c.error ? null : parseTreeHead(c.headJson, 'cosignature.head_json', party);
      return { type: 'cosignature', head, signature: c.signature, error: c.error, lastSize: c.lastSize };
    }
    case 'phaseReply': {
      const r = m.value;
      checkPhaseIds(r.exchangeId, party);
      if (r.payload.length > MAX_PHASE_PAYLOAD) throw new ProtocolError(`${party}: field "phase_reply.payload": ${r.payload.length} bytes, at most ${MAX_PHASE_PAYLOAD}`);
      return { type: 'phase_reply', exchangeId: r.exchangeId, payload: new Uint8Array(r.payload), error: r.error.slice(0, 2000) };
    }
  }
}

// ---- model transfer ----

function toWireChunk(c: Chunk): W.Chunk {
  return { offset: c.offset, data: c.data, sha256: c.sha256 };
}

export function encodeModelPart(p: ModelPart): W.ModelChunk {
  if (p.type === 'chunk') return { part: { $case: 'chunk', value: toWireChunk(p.chunk) } };
  const h: ModelHeader = p.header;
  return { part: { $case: 'header', value: { ref: toWireRef(h.ref), tensors: toWireInfos(h.tensors), totalBytes: h.totalBytes } } };
}

export function decodeModelPart(w: W.ModelChunk, party: string): ModelPart {
  const p = w.part;
  if (!p) throw new ProtocolError(`${party}: empty model download message`);
  if (p.$case === 'chunk') return { type: 'chunk', chunk: p.value };
  const h = p.value;
  return { type: 'header', header: { ref: fromWireRef(h.ref, 'header.ref', party), tensors: fromWireInfos(h.tensors), totalBytes: h.totalBytes } };
}

function toWireHeader(h: UpdateHeader, party: string): W.UpdateHeader {
  return {
    studyId: h.studyId, siteId: h.siteId, model: h.model, round: h.round, modelVersion: h.modelVersion, numExamples: h.numExamples,
    digest: h.digest, tensors: toWireInfos(h.tensors), totalBytes: h.totalBytes, updateId: h.updateId,
    metrics: checkField(metricsSchema, h.metrics, 'header.metrics', party), taskId: h.taskId, signature: h.signature, resumeOffset: h.resumeOffset,
    rangeEnd: h.rangeEnd ?? 0,
  };
}

export function encodeUploadPart(p: UploadPart, party = 'this site'): W.UploadMessage {
  if (p.type === 'chunk') return { part: { $case: 'chunk', value: toWireChunk(p.chunk) } };
  return { part: { $case: 'header', value: toWireHeader(p.header, party) } };
}

export function decodeUploadPart(w: W.UploadMessage, party: string): UploadPart {
  const p = w.part;
  if (!p) throw new ProtocolError(`${party}: empty upload message`);
  if (p.$case === 'chunk') return { type: 'chunk', chunk: p.value };
  const h = p.value;
  return {
    type: 'header',
    header: { ...h, tensors: fromWireInfos(h.tensors), metrics: checkField(metricsSchema, h.metrics, 'header.metrics', party) },
  };
}

// ---- evaluation ----

export function encodeEvaluationReport(r: EvaluationReport): W.EvaluationReport {
  return {
    studyId: r.studyId, siteId: r.siteId, taskId: r.taskId, aggregateJson: r.aggregateJson, digest: r.digest,
    predictions: r.predictions.map((p) => ({ caseKey: p.caseKey, cohort: p.cohort, label: p.label, scores: { ...p.scores }, subgroups: { ...p.subgroups } })),
  };
}

export function decodeEvaluationReport(w: W.EvaluationReport, party: string): ReceivedEvaluationReport {
  return { ...w, aggregate: w.aggregateJson ? parseEvaluationAggregate(w.aggregateJson, party) : null };
}

// ---- admin ----

export function encodeStatusResponse(s: StatusResponse, party = 'the coordinator'): W.StatusResponse {
  return {
    studyId: s.studyId, state: s.state, round: s.round,
    sites: s.sites.map((x) => ({ ...x, cosignRefused: x.cosignRefused ?? '' })),
    rounds: s.rounds.map((r, i) => ({ round: r.round, state: r.state, sites: [...r.sites], metrics: checkField(metricsSchema, r.metrics, `rounds[${i}].metrics`, party) })),
  };
}

export function decodeStatusResponse(w: W.StatusResponse, party: string): StatusResponse {
  return { ...w, rounds: w.rounds.map((r, i) => ({ ...r, metrics: checkField(metricsSchema, r.metrics, `rounds[${i}].metrics`, party) })) };
}
