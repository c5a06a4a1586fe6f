// A model family: everything about one kind of model in one folder, plugged in by one registry
// line (registry.ts). The coordinator uses the family to validate a model entry and build the
// initial global model; the site agent uses it to read the inputs the family needs, train locally
// and score cases. Today's image networks (DDFN, single-modality, dual MobileNetV2) are the
// `image` family; a tabular family (logistic or LASSO on feature columns) plugs in beside it with
// `training: 'sums'` (see README, "Design").
import type { TensorSet } from '../tensor/tensor-set.js';
import type { Cohort, SiteData } from './data.js';

/** A study's model entry as the family sees it. */
export interface FamilyModelEntry {
  readonly name: string;
  /** Registered architecture within the family (for `image`: ddfn, gsus_only, ...). */
  readonly architecture: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** What a model reads at a site: image modalities (with their channels) and manifest columns. */
export interface ModelInputs {
  readonly modalities: readonly string[];
  /** Channels per modality (1 grey, 3 colour, K sampled cine frames). */
  readonly channels: Readonly<Record<string, number>>;
  readonly inputSize?: number;
  /** Manifest columns (clinical variables, features) the model reads. */
  readonly columns: readonly string[];
}

/**
 * How sites contribute to a round:
 * - `local_steps`: each site trains from the global model and uploads its delta (FedAvg family);
 * - `sums`: each site answers requests with sufficient statistics (gradients, information
 *   matrices, histograms), the coordinator takes the step (Newton/IRLS, coordinate descent, tree
 *   growing), so the result equals the pooled-data fit.
 */
export type TrainingMode = 'local_steps' | 'sums';

export interface LocalTrainRequest {
  readonly round: number;
  readonly global: TensorSet;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly seed: number;
  readonly strategyParams: Readonly<Record<string, number>>;
  onProgress?(fraction: number, message: string): void;
}

export interface LocalTrainResult {
  /**
   * The locally trained weights (same spec as `global`), in an array of their own: the site agent
   * turns them into the update (trained minus global) in place.
   */
  readonly weights: TensorSet;
  readonly numExamples: number;
  /** e.g. train_loss, val_loss, val_auc, val_n */
  readonly metrics: Record<string, number>;
}

/** One scored case; `caseId` never leaves the site (the agent sends an HMAC pseudonym). */
export interface ScoredCase {
  readonly caseId: string;
  readonly cohort: string;
  readonly label: 0 | 1;
  readonly score: number;
}

/** A model of the family bound to one site's data. */
export interface SiteModel {
  /** local_steps families: trains on the `train` cohort only (the data's cohort guard). */
  train?(req: LocalTrainRequest): Promise<LocalTrainResult>;
  /** sums families: answers one request of the coordinator's fitting algorithm with sums only. */
  sums?(request: unknown): Promise<unknown>;
  /** Penultimate-layer features of every case of the given cohorts (image networks: deep features for tabular models). */
  embed?(weights: TensorSet, cohorts: readonly Cohort[]): Promise<{ readonly caseId: string; readonly cohort: string; readonly values: Float32Array }[]>;
  /** Scores every case of the given cohorts with the given (frozen or current) weights. */
  score(weights: TensorSet, cohorts: readonly Cohort[]): Promise<ScoredCase[]>;
}

export interface ModelFamily {
  readonly name: string;
  readonly description: string;
  readonly training: TrainingMode;
  /** The architectures the family builds, for `fl --help`-style listings and config errors. */
  readonly architectures: readonly { readonly name: string; readonly description: string }[];
  /** Validates the entry's config; throws an error naming the field. */
  validate(entry: FamilyModelEntry, where: string): void;
  /** The inputs a site must provide. */
  inputs(entry: FamilyModelEntry): ModelInputs;
  /** The initial global model, deterministic from the entry (every party builds the same one). */
  initialModel(entry: FamilyModelEntry): Promise<TensorSet>;
  /** Binds the model to a site's data (site agent). */
  openSite(entry: FamilyModelEntry, data: SiteData): Promise<SiteModel>;
}
