// The image family: convolutional networks on ultrasound images (DDFN with gated fusion,
// single-modality baselines, dual-stream MobileNetV2), trained by local gradient steps.
// Architectures live in shared/models (one file each, one line in its registry); this folder
// holds what makes them a family: inputs, the initial model, local training and scoring.
import * as tf from '@tensorflow/tfjs';
import { buildModel, listModels, modelModalities } from '../../models/registry.js';
import { channelsOf, parseModelConfig, type ModelConfigInput } from '../../models/config.js';
import { applyTensorSet, modelToTensorSet } from '../../models/spec.js';
import type { Cohort, SiteData } from '../data.js';
import type { FamilyModelEntry, LocalTrainResult, ModelFamily, ModelInputs, ScoredCase, SiteModel } from '../types.js';
import { trainLocal } from './train.js';
import { embedCohorts, evaluateCohort, evaluateCohortWith } from './predict.js';
import { DataParallelTrainer, prestartReplicas } from '../../tfjs/parallel/data-parallel.js';
import type { BackendChoice } from '../../tfjs/backend.js';
import { warmUp } from '../../tfjs/parallel/shard-gradients.js';

/** Samples of the warm-up pass: the main thread's shard of the default batch of 16 on two threads. */
const WARMUP_SAMPLES = 8;

function inputsOf(entry: FamilyModelEntry): ModelInputs & { readonly inputSize: number } {
  const cfg = parseModelConfig(entry.config, `model "${entry.name}" config`);
  const modalities = modelModalities(entry.architecture, cfg);
  return { modalities, channels: Object.fromEntries(modalities.map((m) => [m, channelsOf(cfg, m)])), inputSize: cfg.inputSize, columns: [] };
}

export const imageFamily: ModelFamily = {
  name: 'image',
  description: 'convolutional networks on ultrasound images, trained by local gradient steps (FedAvg and its relatives)',
  training: 'local_steps',
  architectures: listModels(),

  validate(entry, where) {
    parseModelConfig(entry.config, `${where} config`);
    modelModalities(entry.architecture, entry.config);
  },

  inputs: inputsOf,

  async initialModel(entry) {
    const model = buildModel(entry.architecture, entry.config);
    try {
      return modelToTensorSet(model);
    } finally {
      model.dispose();
    }
  },

  async openSite(entry: FamilyModelEntry, data: SiteData): Promise<SiteModel> {
    const { modalities, inputSize, channels } = inputsOf(entry);
    // Data-parallel training: the replica workers are started (and their kernels warmed) now, on
    // the other cores, while this thread opens the dataset and warms its own model, so the first
    // round's trainer finds them parked instead of waiting ~0.5 s for start-up and paying every
    // thread's slow first pass in its first step. A failed start is not an error here: the
    // trainer starts its own workers and reports the failure.
    const threads = data.training?.threads ?? 1;
    const backend = tf.getBackend();
    const parallel = threads > 1 && (backend === 'wasm' || backend === 'cpu');
    const replicaBackend: BackendChoice = backend === 'cpu' ? 'cpu' : 'wasm';
    const architecture = { name: entry.architecture, config: entry.config as ModelConfigInput };
    if (parallel) {
      void prestartReplicas({ architecture, replicas: threads, backend: replicaBackend, warmupSamples: WARMUP_SAMPLES }).catch(() => undefined);
    }
    const dataset = await data.images({ model: entry.name, modalities, inputSize, channels });
    let model: tf.LayersModel | null = null;
    const built = () => (model ??= buildModel(entry.architecture, entry.config));
    // Validation scoring at the end of a round with the workers the round's trainer parked: each
    // batch's rows are split over the threads as a training step's are.
    const scoreParallel = async (m: tf.LayersModel, cohort: Cohort) => {
      const scorer = await DataParallelTrainer.create({ model: m, architecture, replicas: threads, backend: replicaBackend, keepWarm: true });
      try {
        return await evaluateCohortWith(m, dataset, cohort, (xs) => scorer.predict(xs));
      } finally {
        await scorer.dispose();
      }
    };
    if (parallel) {
      // train() sets every weight (batch-norm statistics included) and reseeds dropout first.
      warmUp(built(), WARMUP_SAMPLES);
    }
    return {
      async train(req): Promise<LocalTrainResult> {
        const m = built();
        applyTensorSet(m, req.global);
        const mu = req.strategyParams.proximal_mu ?? 0;
        const res = await trainLocal(m, dataset.forTraining(), {
          epochs: req.epochs, batchSize: req.batchSize, learningRate: req.learningRate, seed: req.seed % 2 ** 31, augment: true,
          ...(mu > 0 ? { proximalMu: mu, globalWeights: req.global } : {}),
          ...(data.training && data.training.threads > 1
            ? { parallel: { threads: data.training.threads, architecture: { name: entry.architecture, config: entry.config as ModelConfigInput } } } : {}),
          onEpoch: (e, loss) => req.onProgress?.(Math.min(1, e / req.epochs), `epoch ${e}/${req.epochs} loss ${loss.toFixed(4)}`),
        });
        const v0 = performance.now();
        const val = dataset.cohortCounts().validation > 0
          ? (parallel ? await scoreParallel(m, 'validation') : evaluateCohort(m, dataset, 'validation'))
          : null;
        const t = res.timing;
        const metrics: Record<string, number> = {
          train_loss: res.trainLoss, train_n: res.numExamples, steps: res.steps,
          train_samples_per_s: res.samplesPerSecond, train_replicas: res.replicas,
          // where the round's time went (seconds): replica set-up, batch reading/augmentation,
          // optimizer steps, validation scoring (the site agent logs these and does not send them)
          time_setup_s: t.setup, time_data_s: t.data, time_step_s: t.step, time_val_s: (performance.now() - v0) / 1000,
        };
        if (val) {
          metrics.val_loss = val.loss;
          metrics.val_n = val.n;
          if (Number.isFinite(val.auc)) metrics.val_auc = val.auc;
        }
        return { weights: modelToTensorSet(m), numExamples: res.numExamples, metrics };
      },
      async embed(weights, cohorts: readonly Cohort[]) {
        const m = built();
        applyTensorSet(m, weights);
        return embedCohorts(m, dataset, cohorts);
      },
      async score(weights, cohorts: readonly Cohort[]): Promise<ScoredCase[]> {
        const m = built();
        applyTensorSet(m, weights);
        const out: ScoredCase[] = [];
        for (const cohort of cohorts) {
          const ev = evaluateCohort(m, dataset, cohort);
          ev.caseIds.forEach((caseId, i) => out.push({ caseId, cohort, label: ev.labels[i] as 0 | 1, score: ev.predictions[i]! }));
        }
        return out;
      },
    };
  },
};
