// Task builders (coordinator side). Each validates its JSON fields with the schemas the site's
// decoder uses (json-fields.ts), so a task the site would refuse is never sent.
import { checkField, modelConfigsSchema, strategyParamsSchema, subgroupsWireSchema, type ModelConfigs, type StrategyParams } from './json-fields.js';
import type { EvaluateTask, EvaluationPrivacy, FreezeNotice, FrozenModel, ModelRef, TrainTask } from './types.js';

const COORDINATOR = 'the coordinator';

/** The model config map a task carries, from the study's models (architecture defaults to the name). */
export function modelConfigsFor(models: readonly { name: string; family?: string | undefined; architecture?: string | undefined; config: Readonly<Record<string, unknown>>; endpoint?: readonly Readonly<Record<string, unknown>>[] | undefined }[]): ModelConfigs {
  const out = Object.fromEntries(models.map((m) => [m.name, { ...(m.family ? { family: m.family } : {}), architecture: m.architecture ?? m.name, config: m.config, ...(m.endpoint ? { endpoint: m.endpoint } : {}) }]));
  return checkField(modelConfigsSchema, out, 'model_config_json', `${COORDINATOR} (study models)`);
}

export function buildTrainTask(a: {
  taskId: string; studyId: string; round: number; deadlineUnixMs: number;
  models: readonly ModelRef[];
  training: { epochs: number; batchSize: number; learningRate: number; seed: number };
  strategyParams: StrategyParams;
  modelConfigs: ModelConfigs;
}): TrainTask {
  const where = `${COORDINATOR}, task ${a.taskId}`;
  return {
    type: 'train', taskId: a.taskId, studyId: a.studyId, round: a.round, deadlineUnixMs: a.deadlineUnixMs,
    models: a.models.map((r) => ({ ...r })), ...a.training,
    strategyParams: checkField(strategyParamsSchema, a.strategyParams, 'strategy_params', where),
    modelConfigs: checkField(modelConfigsSchema, a.modelConfigs, 'model_config_json', where),
  };
}

export function buildEvaluateTask(a: {
  taskId: string; studyId: string; round: number; deadlineUnixMs: number;
  models: readonly FrozenModel[]; cohorts: readonly string[]; heldOut: boolean;
  privacy?: EvaluationPrivacy | undefined;
  modelConfigs: ModelConfigs;
  /** The study's subgroups (config `subgroups`), flagged by each site on its prediction rows. */
  subgroups?: readonly { name: string; column: string; when: string }[] | undefined;
}): EvaluateTask {
  return {
    type: 'evaluate', taskId: a.taskId, studyId: a.studyId, round: a.round, deadlineUnixMs: a.deadlineUnixMs,
    models: a.models.map((m) => ({ ref: { ...m.ref }, threshold: m.threshold })), cohorts: [...a.cohorts],
    privacy: a.privacy ?? 'predictions', heldOut: a.heldOut,
    modelConfigs: checkField(modelConfigsSchema, a.modelConfigs, 'model_config_json', `${COORDINATOR}, task ${a.taskId}`),
    subgroups: checkField(subgroupsWireSchema, a.subgroups ?? [], 'subgroups_json', `${COORDINATOR}, task ${a.taskId}`),
  };
}

export function buildFreezeNotice(a: { studyId: string; models: readonly FrozenModel[]; logSeq: number; recordHash: string; proofJson?: string }): FreezeNotice {
  return { type: 'freeze', studyId: a.studyId, models: a.models.map((m) => ({ ref: { ...m.ref }, threshold: m.threshold })), logSeq: a.logSeq, recordHash: a.recordHash, proofJson: a.proofJson ?? '' };
}
