// The tfjs Trainer: builds the registered model a task names, loads the global weights, trains on
// the site's `train` cohort only (the dataset's cohort guard), and scores validation or held-out
// cohorts on request. Datasets are opened once per (modalities, input size) and cached.
import type { Logger } from 'pino';
import type * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice } from '../shared/tfjs/backend.js';
import { buildModel, modelModalities } from '../shared/models/registry.js';
import { parseModelConfig } from '../shared/models/config.js';
import { applyTensorSet, modelToTensorSet } from '../shared/models/spec.js';
import { openSiteDataset, type SiteDataset } from './data/dataset.js';
import { loadManifest, type Cohort } from './data/manifest.js';
import { trainLocal } from './training/train-local.js';
import { evaluateCohort } from './training/predict.js';
import type { Trainer, TrainRequest, TrainResult, EvaluateRequest, ScoredCase } from './trainer.js';

export interface LocalTrainerOptions {
  readonly manifest: string;
  readonly backend: BackendChoice;
  readonly log: Logger;
  readonly pseudonymSecret?: string;
}

export async function createLocalTrainer(o: LocalTrainerOptions): Promise<Trainer> {
  const selected = await selectBackend(o.backend, { info: (m) => o.log.info(m) });
  o.log.info({ backend: selected.name, detail: selected.detail }, 'tfjs backend selected');
  // Validate the manifest up front (every problem at once) so a broken site fails before it joins.
  const check = await loadManifest(o.manifest, { decodeImages: false });
  const counts: Record<string, number> = {};
  for (const c of check.manifest.cases) counts[c.cohort] = (counts[c.cohort] ?? 0) + 1;

  const datasets = new Map<string, Promise<SiteDataset>>();
  const dataset = (modalities: string[], inputSize: number) => {
    const key = `${modalities.join(',')}@${inputSize}`;
    let d = datasets.get(key);
    if (!d) {
      d = openSiteDataset(o.manifest, { modalities, inputSize });
      datasets.set(key, d);
    }
    return d;
  };
  const models = new Map<string, tf.LayersModel>();
  const modelFor = (name: string, architecture: string, config: Record<string, unknown>) => {
    const key = `${name}:${architecture}:${JSON.stringify(config)}`;
    let m = models.get(key);
    if (!m) {
      m = buildModel(architecture, config);
      models.set(key, m);
    }
    return m;
  };

  return {
    backend: selected.name,
    cohortCounts: () => ({ ...counts }),

    async train(req: TrainRequest): Promise<TrainResult> {
      const cfg = parseModelConfig(req.config, `model "${req.model}" config`);
      const data = await dataset(modelModalities(req.architecture, cfg), cfg.inputSize);
      const model = modelFor(req.model, req.architecture, req.config);
      applyTensorSet(model, req.global);
      const mu = req.strategyParams.proximal_mu ?? 0;
      const res = await trainLocal(model, data.forTraining(), {
        epochs: req.epochs, batchSize: req.batchSize, learningRate: req.learningRate, seed: req.seed % 2 ** 31, augment: true,
        ...(mu > 0 ? { proximalMu: mu, globalWeights: req.global } : {}),
        onEpoch: (e, loss) => req.onProgress?.(Math.min(1, e / req.epochs), `epoch ${e}/${req.epochs} loss ${loss.toFixed(4)}`),
      });
      const val = data.cohortCounts().validation > 0 ? evaluateCohort(model, data, 'validation') : null;
      const metrics: Record<string, number> = { train_loss: res.trainLoss, train_n: res.numExamples, steps: res.steps };
      if (val) {
        metrics.val_loss = val.loss;
        metrics.val_n = val.n;
        if (Number.isFinite(val.auc)) metrics.val_auc = val.auc;
      }
      return { weights: modelToTensorSet(model), numExamples: res.numExamples, metrics };
    },

    async evaluate(req: EvaluateRequest): Promise<ScoredCase[]> {
      const cfg = parseModelConfig(req.config, `model "${req.model}" config`);
      const data = await dataset(modelModalities(req.architecture, cfg), cfg.inputSize);
      const model = modelFor(req.model, req.architecture, req.config);
      applyTensorSet(model, req.weights);
      const out: ScoredCase[] = [];
      for (const cohort of req.cohorts) {
        const ev = evaluateCohort(model, data, cohort as Cohort);
        ev.caseIds.forEach((caseId, i) => out.push({ caseId, cohort, label: ev.labels[i] as 0 | 1, score: ev.predictions[i]! }));
      }
      return out;
    },
  };
}
