// A deterministic Trainer for engine tests: "trains" by adding a site-specific offset.
import type { Trainer, TrainRequest, TrainResult, EvaluateRequest, ScoredCase } from '../../site-agent/trainer.js';

export class OffsetTrainer implements Trainer {
  readonly backend = 'fake';
  calls = 0;
  constructor(readonly offset: number, readonly examples: number, readonly delayMs = 0) {}
  cohortCounts(): Record<string, number> {
    return { train: this.examples };
  }
  async train(req: TrainRequest): Promise<TrainResult> {
    this.calls++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const data = new Float32Array(req.global.data.length);
    for (let i = 0; i < data.length; i++) data[i] = req.global.data[i]! + this.offset;
    return { weights: { infos: req.global.infos, data }, numExamples: this.examples, metrics: { train_loss: 1 / (1 + req.round), val_auc: 0.5 + this.offset / 100, val_n: 10 } };
  }
  /** Scores 20 synthetic cases per cohort from the weights' mean (deterministic). */
  async evaluate(req: EvaluateRequest): Promise<ScoredCase[]> {
    const mean = req.weights.data.reduce((a, b) => a + b, 0) / req.weights.data.length;
    return req.cohorts.flatMap((cohort) => Array.from({ length: 20 }, (_, i) => ({
      caseId: `${cohort}-${i}`, cohort, label: (i % 2) as 0 | 1, score: 1 / (1 + Math.exp(-(mean + (i % 2) - 0.5 + i / 100))),
    })));
  }
}
