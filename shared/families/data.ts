// What a model family may read at a site, as interfaces the site agent implements
// (site-agent/data/dataset.ts). Training code reaches the `train` cohort only: TrainingData
// can hold no other cohort, and evaluation access is a separate, explicit call.

export const COHORT_NAMES = ['train', 'validation', 'test', 'prospective'] as const;
export type Cohort = (typeof COHORT_NAMES)[number];

export interface Batch {
  readonly size: number;
  readonly caseIds: readonly string[];
  /** One array per modality (in the dataset's modality order), each size x inputSize x inputSize x channels (channels last). */
  readonly inputs: readonly Float32Array[];
  readonly labels: Float32Array;
}

/** Training-time augmentation of images (site-agent/data/augment.ts applies it). */
export interface AugmentOptions {
  /** Probability of a horizontal (lateral) flip. Default 0.5. */
  readonly flipProbability?: number;
  /** Vertical flips swap near and far field, which ultrasound never does: off by default. */
  readonly verticalFlip?: boolean;
  /** Maximum rotation in degrees (default 10), scale deviation (0.1), translation as a fraction of the size (0.06). */
  readonly maxRotationDeg?: number;
  readonly maxScale?: number;
  readonly maxTranslate?: number;
  /** Intensity jitter on normalised images: contrast factor 1 ± contrast, brightness offset ± brightness. */
  readonly contrast?: number;
  readonly brightness?: number;
}

export interface TrainingBatchOptions {
  readonly batchSize: number;
  readonly seed: number;
  readonly epoch: number;
  /** Augmentation: true for the defaults, false/undefined for none, or options. */
  readonly augment?: boolean | AugmentOptions;
  /** Only 'train' is accepted; anything else throws a CohortGuardError. */
  readonly cohort?: string;
}

export interface CohortData {
  readonly cohort: Cohort;
  readonly modalities: readonly string[];
  /** Channels per modality (1 grey, 3 RGB, K sampled cine frames). */
  readonly channels: readonly number[];
  readonly inputSize: number;
  readonly size: number;
  readonly positives: number;
  readonly caseIds: readonly string[];
  readonly labels: Float32Array;
}

export interface TrainingData extends CohortData {
  readonly cohort: 'train';
  /** Shuffled (seed, epoch) batches, augmented when asked. */
  batches(o: TrainingBatchOptions): Iterable<Batch>;
}

export interface EvaluationData extends CohortData {
  /** Batches in manifest order, never augmented. */
  batches(batchSize: number): Iterable<Batch>;
}

/** A site's image data for one (modalities, input size) combination. */
export interface ImageDataset {
  readonly modalities: readonly string[];
  readonly inputSize: number;
  cohortCounts(): Record<Cohort, number>;
  /** Training access: the `train` cohort only. Asking for another cohort throws. */
  forTraining(cohort?: string): TrainingData;
  /** Explicit evaluation access to any cohort. */
  forEvaluation(cohort: Cohort): EvaluationData;
}

/** One cohort's (or the training cohort's) table of per-case inputs; NaN = missing. */
export interface TabularTable {
  readonly cohort: Cohort;
  readonly caseIds: readonly string[];
  readonly labels: Float64Array;
  /** Column name -> one value per case (manifest columns, `<modality>.<region>.<feature>` radiomics, and `...@mask_2` for the second delineation). */
  readonly columns: ReadonlyMap<string, Float64Array>;
}

/** What a tabular model reads: declared manifest columns and radiomics features. */
export interface TabularInputsRequest {
  readonly model: string;
  readonly inputs: {
    /** A name (numeric) or a typed column; categorical columns become `name=level` indicators. */
    readonly columns?: readonly (string | { readonly name: string; readonly type: 'numeric' | 'binary' | 'categorical'; readonly levels?: readonly string[] | undefined })[] | undefined;
    readonly radiomics?: { readonly modality: string; readonly regions: readonly string[]; readonly features?: readonly string[] | undefined } | undefined;
  };
}

export interface TabularData {
  /** Training access: the `train` cohort only. */
  forTraining(): TabularTable & { readonly cohort: 'train' };
  /** Explicit evaluation access to any cohort. */
  forEvaluation(cohort: Cohort): TabularTable;
}

/** The site's data as a family may ask for it (the agent caches what it opens). */
export interface SiteData {
  /** How this site trains: threads for data-parallel local training (1 = the main thread only). */
  readonly training?: { readonly threads: number };
  /** The site's id (named in refusals). */
  readonly site?: string;
  /** The site's own disclosure floor for sums (default 5): a study's smaller min_cell does not lower it. */
  readonly minCell?: number;
  /** Per-case tables for tabular models (sites that can assemble them). */
  table?(request: TabularInputsRequest): Promise<TabularData>;
  /** Scores of another model of the study (by frozen reference) for the cases of some cohorts, by case id. */
  modelScores?(ref: { readonly model: string; readonly version: number; readonly digest: string }, cohorts: readonly Cohort[]): Promise<ReadonlyMap<string, number>>;
  /** Penultimate-layer features of another (image) model for the cases of some cohorts, by case id. */
  modelFeatures?(ref: { readonly model: string; readonly version: number; readonly digest: string }, cohorts: readonly Cohort[]): Promise<ReadonlyMap<string, Float32Array>>;
  images(request: {
    /** The model asking (named in errors). */
    readonly model: string;
    readonly modalities: readonly string[];
    readonly inputSize: number;
    /** Channels the model reads per modality (1 grey, 3 colour, K cine frames). */
    readonly channels: Readonly<Record<string, number>>;
  }): Promise<ImageDataset>;
}
