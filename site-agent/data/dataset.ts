// A site's dataset with a cohort guard: training code gets the `train` cohort only, through
// `forTraining()`; evaluation of any cohort is a separate, explicit API (`forEvaluation`).
// Images are decoded and preprocessed once into an on-disk cache of model-sized tensors
// (image-cache.ts, keyed by file content and settings) and batches are read from it; a restart
// reuses the cache. Read tensors stay in memory up to a byte budget (tensor-memory.ts, 256 MiB
// for the process by default), so later epochs and rounds read no file; beyond the budget,
// memory is O(batch).
import { join, dirname } from 'node:path';
import { augmentCaseInto } from './augment.js';
import { tensorMemory, type TensorMemory } from './tensor-memory.js';
import type { Batch, CohortData, EvaluationData, TrainingBatchOptions, TrainingData } from '../../shared/families/data.js';

export type { Batch, CohortData, EvaluationData, TrainingBatchOptions, TrainingData };
import { Rng } from '../../shared/synth/rng.js';
import { ImageCache, tensorKey } from './image-cache.js';
import { COHORTS, loadManifest, type Cohort, type Manifest, type ManifestCase } from './manifest.js';
import { DEFAULT_SETTINGS, inputChannels, type ModalitySettings } from '../../shared/config/modality.js';
import { preprocess, type Normalization } from './preprocess.js';
import { FlError } from '../../shared/errors/index.js';

export interface OpenSiteDatasetOptions {
  /** Modalities in model input order, e.g. ['gsus', 'ceus']. */
  readonly modalities: readonly string[];
  readonly inputSize: number;
  /** Per-modality normalisation (default 'zscore' per image). */
  readonly normalization?: Readonly<Record<string, Normalization>>;
  /** Per-modality colour / frame policy (default grey, single-frame). */
  readonly modalitySettings?: Readonly<Record<string, ModalitySettings>>;
  /** Restricts and relabels the cases once the manifest is read (the model's endpoint, data/endpoint.ts). */
  readonly endpoint?: (m: Manifest) => Promise<Manifest>;
  /** Tensor cache folder; default `.fl-cache` beside the manifest. */
  readonly cacheDir?: string;
  /** Images must stay inside this folder (default: the manifest's folder). */
  readonly dataRoot?: string;
  /** Where tensors are kept in memory between batches (default: the process's store, 256 MiB; tensor-memory.ts). */
  readonly memory?: TensorMemory;
}

export class CohortGuardError extends FlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('cohort.guard', message, options);
  }
}

export interface SiteDataset {
  readonly manifestPath: string;
  readonly modalities: readonly string[];
  readonly channels: readonly number[];
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
  /** Cache keys, one per modality. */
  readonly keys: readonly string[];
}

function guard(cohort: string | undefined): void {
  if (cohort === undefined || cohort === 'train') return;
  throw new CohortGuardError(
    `cohort guard: training code may only read the "train" cohort, not "${cohort}"` +
      (COHORTS.includes(cohort as Cohort) ? `; "${cohort}" is for evaluation only (use forEvaluation("${cohort}"))` : ''),
  );
}

/** Writes a case's (transformed) images into the batch arrays: image m at `at[m]` of `dst[m]`. */
type Transform = (p: Prepared, images: Float32Array[], dst: Float32Array[], at: number[]) => void;

function* batchesOf(
  items: readonly Prepared[],
  batchSize: number,
  inputSize: number,
  channels: readonly number[],
  cache: ImageCache,
  memory: TensorMemory,
  transform?: Transform,
): Iterable<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize ${batchSize}: expected a positive integer`);
  const px = channels.map((c) => inputSize * inputSize * c);
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const inputs = channels.map((_, m) => new Float32Array(chunk.length * px[m]!));
    const labels = new Float32Array(chunk.length);
    chunk.forEach((p, i) => {
      if (transform) {
        transform(p, p.keys.map((k, m) => memory.get(cache, k, px[m]!)), inputs, px.map((n) => i * n));
      } else p.keys.forEach((k, m) => memory.read(cache, k, px[m]!, inputs[m]!, i * px[m]!));
      labels[i] = p.c.label;
    });
    yield { size: chunk.length, caseIds: chunk.map((p) => p.c.caseId), inputs, labels };
  }
}

function describe(items: readonly Prepared[]) {
  const labels = Float32Array.from(items.map((p) => p.c.label));
  return { size: items.length, positives: labels.reduce((a, b) => a + b, 0), caseIds: items.map((p) => p.c.caseId), labels };
}

/**
 * Validates the manifest (every problem at once, ManifestError: leakage and containment included),
 * then decodes and preprocesses each image not yet in the cache, one at a time.
 */
export async function openSiteDataset(manifestPath: string, o: OpenSiteDatasetOptions): Promise<SiteDataset> {
  if (o.modalities.length === 0) throw new Error('openSiteDataset: at least one modality is required');
  if (!Number.isInteger(o.inputSize) || o.inputSize < 8) throw new Error(`openSiteDataset: inputSize ${o.inputSize} must be an integer >= 8`);
  const cache = new ImageCache(o.cacheDir ?? join(dirname(manifestPath), '.fl-cache'));
  const memory = o.memory ?? tensorMemory;
  const settingsOf = (m: string): ModalitySettings => o.modalitySettings?.[m] ?? DEFAULT_SETTINGS;
  const channels = o.modalities.map((m) => inputChannels(settingsOf(m)));
  const keys = new Map<string, Record<string, string>>();
  const { manifest: read } = await loadManifest(manifestPath, {
    modalities: o.modalities,
    decodeImages: true,
    // image models read no mask; the agent's start check (local-trainer startCheck) checked them
    checkMasks: false,
    cache,
    ...(o.modalitySettings ? { modalitySettings: o.modalitySettings } : {}),
    ...(o.dataRoot ? { dataRoot: o.dataRoot } : {}),
    onImage: (job, _facts, hash, image) => {
      const roi = job.image.roi;
      const normalization = o.normalization?.[job.modality] ?? 'zscore';
      const key = tensorKey({ contentHash: hash, inputSize: o.inputSize, ...(roi ? { roi } : {}), settings: settingsOf(job.modality), normalization });
      if (!cache.hasTensor(key)) {
        if (!image) throw new Error(`image cache: facts cached without the tensor for ${job.image.relPath}; delete ${cache.dir}`);
        cache.writeTensor(key, preprocess(image.image, { inputSize: o.inputSize, ...(roi ? { roi } : {}), normalization }));
      }
      const rec = keys.get(job.caseId!) ?? {};
      rec[job.modality] = key;
      keys.set(job.caseId!, rec);
    },
    needsImage: (job, hash) => {
      const roi = job.image.roi;
      const normalization = o.normalization?.[job.modality] ?? 'zscore';
      return !cache.hasTensor(tensorKey({ contentHash: hash, inputSize: o.inputSize, ...(roi ? { roi } : {}), settings: settingsOf(job.modality), normalization }));
    },
  });
  const manifest = o.endpoint ? await o.endpoint(read) : read;
  const byCohort = new Map<Cohort, Prepared[]>(COHORTS.map((c) => [c, []]));
  for (const c of manifest.cases) {
    const rec = keys.get(c.caseId)!;
    byCohort.get(c.cohort)!.push({ c, keys: o.modalities.map((m) => rec[m]!) });
  }
  const base = { modalities: [...o.modalities], channels, inputSize: o.inputSize };
  const train = byCohort.get('train')!;
  const trainingData: TrainingData = {
    ...base,
    cohort: 'train',
    ...describe(train),
    batches(b: TrainingBatchOptions): Iterable<Batch> {
      guard(b.cohort);
      const order = new Rng(b.seed, 'shuffle', b.epoch).shuffle([...train]);
      const aug = b.augment === true ? {} : b.augment || undefined;
      const transform: Transform | undefined = aug
        ? (p, images, dst, at) => augmentCaseInto(images, o.inputSize, new Rng(b.seed, 'augment', b.epoch, p.c.caseId), aug, channels, dst, at)
        : undefined;
      return batchesOf(order, b.batchSize, o.inputSize, channels, cache, memory, transform);
    },
  };
  return {
    manifestPath: manifest.path,
    modalities: base.modalities,
    channels,
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
      return { ...base, cohort, ...describe(items), batches: (bs: number) => batchesOf(items, bs, o.inputSize, channels, cache, memory) };
    },
  };
}
