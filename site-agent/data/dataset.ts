// A site's dataset with a cohort guard: training code gets the `train` cohort only, through
// `forTraining()`; evaluation of any cohort is a separate, explicit API (`forEvaluation`).
import { augmentCase, type AugmentOptions } from './augment.js';
import { Rng } from '../../shared/synth/rng.js';
import { COHORTS, loadManifest, type Cohort, type ManifestCase } from './manifest.js';
import { preprocess, type Normalization } from './preprocess.js';

export interface OpenSiteDatasetOptions {
  /** Modalities in model input order, e.g. ['gsus', 'ceus']. */
  readonly modalities: readonly string[];
  readonly inputSize: number;
  /** Per-modality normalisation (default 'zscore' per image). */
  readonly normalization?: Readonly<Record<string, Normalization>>;
}

export interface Batch {
  readonly size: number;
  readonly caseIds: readonly string[];
  /** One array per modality (in the dataset's modality order), each size x inputSize x inputSize. */
  readonly inputs: readonly Float32Array[];
  readonly labels: Float32Array;
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

export class CohortGuardError extends Error {
  override name = 'CohortGuardError';
}

export interface SiteDataset {
  readonly manifestPath: string;
  readonly modalities: readonly string[];
  readonly inputSize: number;
  cohortCounts(): Record<Cohort, number>;
  /** Training access: the `train` cohort only. Asking for another cohort throws. */
  forTraining(cohort?: string): TrainingData;
  /** Same guard, straight to batches. */
  trainingBatches(o: TrainingBatchOptions): Iterable<Batch>;
  /** Explicit evaluation access to any cohort (validation, test, prospective, or train for train metrics). */
  forEvaluation(cohort: Cohort): EvaluationData;
}

interface Prepared {
  readonly c: ManifestCase;
  readonly images: Float32Array[];
}

function guard(cohort: string | undefined): void {
  if (cohort === undefined || cohort === 'train') return;
  throw new CohortGuardError(
    `cohort guard: training code may only read the "train" cohort, not "${cohort}"` +
      (COHORTS.includes(cohort as Cohort) ? `; "${cohort}" is for evaluation only (use forEvaluation("${cohort}"))` : ''),
  );
}

function* batchesOf(items: readonly Prepared[], batchSize: number, inputSize: number, transform?: (p: Prepared) => Float32Array[]): Iterable<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize ${batchSize}: expected a positive integer`);
  const px = inputSize * inputSize;
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const nMod = chunk[0]!.images.length;
    const inputs = Array.from({ length: nMod }, () => new Float32Array(chunk.length * px));
    const labels = new Float32Array(chunk.length);
    chunk.forEach((p, i) => {
      const imgs = transform ? transform(p) : p.images;
      imgs.forEach((img, m) => inputs[m]!.set(img, i * px));
      labels[i] = p.c.label;
    });
    yield { size: chunk.length, caseIds: chunk.map((p) => p.c.caseId), inputs, labels };
  }
}

function describe(items: readonly Prepared[]) {
  const labels = Float32Array.from(items.map((p) => p.c.label));
  return { size: items.length, positives: labels.reduce((a, b) => a + b, 0), caseIds: items.map((p) => p.c.caseId), labels };
}

/** Validates the manifest (every problem at once, ManifestError), decodes and preprocesses every image. */
export async function openSiteDataset(manifestPath: string, o: OpenSiteDatasetOptions): Promise<SiteDataset> {
  if (o.modalities.length === 0) throw new Error('openSiteDataset: at least one modality is required');
  if (!Number.isInteger(o.inputSize) || o.inputSize < 8) throw new Error(`openSiteDataset: inputSize ${o.inputSize} must be an integer >= 8`);
  const { manifest, images } = await loadManifest(manifestPath, { modalities: o.modalities, decodeImages: true });
  const byCohort = new Map<Cohort, Prepared[]>(COHORTS.map((c) => [c, []]));
  for (const c of manifest.cases) {
    const decoded = images.get(c.caseId)!;
    const prepared = o.modalities.map((m) =>
      preprocess(decoded[m]!, { inputSize: o.inputSize, ...(c.images[m]!.roi ? { roi: c.images[m]!.roi } : {}), normalization: o.normalization?.[m] ?? 'zscore' }),
    );
    byCohort.get(c.cohort)!.push({ c, images: prepared });
  }
  const base = { modalities: [...o.modalities], inputSize: o.inputSize };
  const train = byCohort.get('train')!;
  const trainingData: TrainingData = {
    ...base,
    cohort: 'train',
    ...describe(train),
    batches(b: TrainingBatchOptions): Iterable<Batch> {
      guard(b.cohort);
      const order = new Rng(b.seed, 'shuffle', b.epoch).shuffle([...train]);
      const aug = b.augment === true ? {} : b.augment || undefined;
      const transform = aug
        ? (p: Prepared) => augmentCase(p.images, o.inputSize, new Rng(b.seed, 'augment', b.epoch, p.c.caseId), aug)
        : undefined;
      return batchesOf(order, b.batchSize, o.inputSize, transform);
    },
  };
  return {
    manifestPath: manifest.path,
    modalities: base.modalities,
    inputSize: o.inputSize,
    cohortCounts: () => Object.fromEntries(COHORTS.map((c) => [c, byCohort.get(c)!.length])) as Record<Cohort, number>,
    forTraining(cohort?: string) {
      guard(cohort);
      return trainingData;
    },
    trainingBatches(b: TrainingBatchOptions) {
      guard(b.cohort);
      return trainingData.batches(b);
    },
    forEvaluation(cohort: Cohort): EvaluationData {
      if (!COHORTS.includes(cohort)) throw new Error(`unknown cohort "${String(cohort)}" (expected one of ${COHORTS.join(', ')})`);
      const items = byCohort.get(cohort)!;
      return { ...base, cohort, ...describe(items), batches: (bs: number) => batchesOf(items, bs, o.inputSize) };
    },
  };
}
