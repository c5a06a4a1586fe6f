// What the agent needs from local training; the tfjs implementation is local-trainer.ts.
import type { TensorSet } from '../shared/tensor/tensor-set.js';

export interface TrainRequest {
  readonly round: number;
  readonly model: string;
  readonly architecture: string;
  readonly config: Record<string, unknown>;
  readonly global: TensorSet;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  readonly strategyParams: Record<string, number>;
  onProgress?(fraction: number, message: string): void;
}

export interface TrainResult {
  /** The locally trained weights (same spec as `global`). */
  readonly weights: TensorSet;
  readonly numExamples: number;
  /** e.g. train_loss, val_loss, val_auc, val_n */
  readonly metrics: Record<string, number>;
}

export interface EvaluateRequest {
  readonly model: string;
  readonly architecture: string;
  readonly config: Record<string, unknown>;
  readonly weights: TensorSet;
  readonly cohorts: readonly string[];
}

/** One scored case; `caseId` never leaves the site (the agent sends an HMAC pseudonym). */
export interface ScoredCase {
  readonly caseId: string;
  readonly cohort: string;
  readonly label: 0 | 1;
  readonly score: number;
}

export interface Trainer {
  /** The tfjs backend in use, e.g. "wasm". */
  readonly backend: string;
  /** Cases per cohort (counts only; they are sent in Hello). */
  cohortCounts(): Record<string, number>;
  train(req: TrainRequest): Promise<TrainResult>;
  /** Scores every case of the given cohorts (training code never sees held-out cohorts). */
  evaluate(req: EvaluateRequest): Promise<ScoredCase[]>;
}
