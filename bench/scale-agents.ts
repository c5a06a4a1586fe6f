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
    // New weights in an array of their own: a copy of the global model with every 64th value moved
    // by the site's offset. The simulated sites share this machine's cores with the coordinator, so
    // their made-up arithmetic is kept small (a full pass over the model cost each site ~10 ms a
    // round); everything the agent does with the weights (update, digest, upload) runs in full.
    const g = req.global.data;
    const data = g.slice();
    const offset = this.offset;
    for (let i = 0; i < data.length; i += 64) data[i] = data[i]! + offset;
    return { weights: { infos: req.global.infos, data }, numExamples: 50, metrics: { train_loss: 0.5 } };
  }
  async evaluate(_req: EvaluateRequest): Promise<ScoredCase[]> {
    return [];
  }
}

// `--run PORT N [FIRST]`: agents site-FIRST .. site-(FIRST+N-1). At exit the process prints its own
// CPU time (user + system, ms) as the last line, `cpu-ms <n>`, for the benchmark to add up.
if (process.argv[2] === '--run') {
  const port = Number(process.argv[3]);
  const n = Number(process.argv[4]);
  const first = Number(process.argv[5] ?? 1);
  const log = pino({ level: 'silent' });
  const agents = Array.from({ length: n }, (_, i) => new SiteAgent({
    studyId: 'scale', siteId: `site-${first + i}`, address: `127.0.0.1:${port}`, credentials: grpc.credentials.createInsecure(),
    backoff: { initial_ms: 50, max_ms: 500 },
    // One connection per simulated site, as separate hospitals have (grpc-js would otherwise share one).
    channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
  }, new SleepTrainer((first + i - 1) * 1e-3), log));
  await Promise.all(agents.map((a) => a.run()));
  const cpu = process.cpuUsage();
  process.stdout.write(`cpu-ms ${((cpu.user + cpu.system) / 1000).toFixed(1)}\n`);
  process.exit(0);
}
