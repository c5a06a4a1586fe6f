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

export interface TrainingBatchOptions {
  readonly batchSize: number;
  readonly seed: number;
  readonly epoch: number;
  /** Augmentation: true for the defaults, false/undefined for none, or options. */
  readonly augment?: boolean | Readonly<Record<string, unknown>>;
  /** Only 'train' is accepted; anything else throws a CohortGuardError. */
  readonly cohort?: string;
}

export interface CohortData {
  readonly cohort: Cohort;
  readonly modalities: readonly string[];
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

/** The site's data as a family may ask for it (the agent caches what it opens). */
export interface SiteData {
  /** How this site trains: threads for data-parallel local training (1 = the main thread only). */
  readonly training?: { readonly threads: number };
  images(request: {
    /** The model asking (named in errors). */
    readonly model: string;
    readonly modalities: readonly string[];
    readonly inputSize: number;
    /** Channels the model reads per modality (1 grey, 3 colour, K cine frames). */
    readonly channels: Readonly<Record<string, number>>;
  }): Promise<ImageDataset>;
}
