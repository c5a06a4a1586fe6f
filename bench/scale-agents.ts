// Child process of the study-scale benchmark: hosts N simulated site agents (sleep "training"),
// so that the benchmark process measures the coordinator's memory alone.
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { SiteAgent } from '../site-agent/agent.js';
import type { Trainer, TrainRequest, TrainResult, EvaluateRequest, ScoredCase } from '../site-agent/trainer.js';

export const TRAIN_MS = 200;

export class SleepTrainer implements Trainer {
  readonly backend = 'simulated';
  constructor(private readonly offset: number) {}
  cohortCounts() {
    return { train: 50 };
  }
  async train(req: TrainRequest): Promise<TrainResult> {
    await new Promise((r) => setTimeout(r, TRAIN_MS));
    const data = new Float32Array(req.global.data.length);
    for (let i = 0; i < data.length; i++) data[i] = req.global.data[i]! + this.offset;
    return { weights: { infos: req.global.infos, data }, numExamples: 50, metrics: { train_loss: 0.5 } };
  }
  async evaluate(_req: EvaluateRequest): Promise<ScoredCase[]> {
    return [];
  }
}

if (process.argv[2] === '--run') {
  const port = Number(process.argv[3]);
  const n = Number(process.argv[4]);
  const log = pino({ level: 'silent' });
  const agents = Array.from({ length: n }, (_, i) => new SiteAgent({
    studyId: 'scale', siteId: `site-${i + 1}`, address: `127.0.0.1:${port}`, credentials: grpc.credentials.createInsecure(),
    backoff: { initial_ms: 50, max_ms: 500 },
    // One connection per simulated site, as separate hospitals have (grpc-js would otherwise share one).
    channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
  }, new SleepTrainer(i * 1e-3), log));
  await Promise.all(agents.map((a) => a.run()));
  process.exit(0);
}
