// What the agent needs from local training; the implementation is local-trainer.ts, which hands
// each model to its family (shared/families).
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import type { LocalTrainRequest, LocalTrainResult, ScoredCase } from '../shared/families/types.js';
import type { Subgroup } from '../shared/config/endpoint.js';

export type { ScoredCase };

/** Which model a task is about: its family, registered architecture and config. */
export interface ModelRef {
  readonly model: string;
  /** Model family (shared/families); default: the family that registers `architecture`. */
  readonly family?: string;
  readonly architecture: string;
  readonly config: Record<string, unknown>;
  /** The model's endpoint chain as the task carries it (site-agent/data/endpoint.ts); absent: the label column. */
  readonly endpoint?: readonly Readonly<Record<string, unknown>>[];
}

export interface TrainRequest extends ModelRef, LocalTrainRequest {
  readonly strategyParams: Record<string, number>;
}

export type TrainResult = LocalTrainResult;

export interface EvaluateRequest extends ModelRef {
  readonly weights: TensorSet;
  readonly cohorts: readonly string[];
  /** Every model of the study (a tabular model may read another model's score). */
  readonly modelConfigs?: Readonly<Record<string, Omit<ModelRef, 'model'>>>;
}

/** A sums request of a model fitted from sums (tabular families), with the configs of its dependencies. */
export interface SumsRequest extends ModelRef {
  readonly request: unknown;
  readonly modelConfigs?: Readonly<Record<string, Omit<ModelRef, 'model'>>>;
}

export interface Trainer {
  /** The tfjs backend in use, e.g. "wasm". */
  readonly backend: string;
  /** Cases per cohort (counts only; they are sent in Hello). */
  cohortCounts(): Record<string, number>;
  train(req: TrainRequest): Promise<TrainResult>;
  /** Scores every case of the given cohorts (training code never sees held-out cohorts). */
  evaluate(req: EvaluateRequest): Promise<ScoredCase[]>;
  /**
   * Subgroup membership of every case of the manifest (issue 16 item 2): case id -> subgroup name ->
   * in it, from the subgroup's manifest column and condition; a subgroup is absent for a case whose
   * cell is missing. Throws (naming the row and column) on a cell the condition cannot read.
   */
  subgroupFlags?(subgroups: readonly Subgroup[]): Promise<Map<string, Record<string, boolean>>>;
  /** Answers a request of a model fitted from sums with the sums of the `train` cohort (or throws a refusal). */
  sums?(req: SumsRequest): Promise<unknown>;
}
