// `fl audit replay` rebuilds every strategy from the same registry the coordinator uses and
// reproduces each logged aggregate bit for bit from the stored updates: a real coordinator (gRPC on
// loopback, its own study log) runs 3 rounds with 3 sites for each strategy, then the `fl` binary
// replays the log. Stateful strategies (FedAdam, FedYogi) carry their moments from round to round.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startCoordinator, type CoordinatorHandle } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { SiteAgent } from '../site-agent/agent.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { OffsetTrainer } from './helpers/fake-trainer.js';
import { PrivacyGuard } from '../site-agent/privacy-guard.js';
import { flRun } from './helpers/processes.js';

const log = pino({ level: 'silent' });
const initial: TensorSet = { infos: [{ name: 'w', shape: [5, 3], dtype: 'float32' }], data: Float32Array.from({ length: 15 }, (_, i) => i / 10) };
const sites = ['site-1', 'site-2', 'site-3'];

let handle: CoordinatorHandle | null = null;
const agents: SiteAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.shutdown();
  await handle?.close();
  handle = null;
});

async function runStudy(dir: string, strategy: Record<string, unknown>): Promise<void> {
  const file = coordinatorFileSchema.parse({
    study: {
      id: 'replay', rounds: 3, min_sites: 3, round_deadline_s: 30, join_timeout_s: 30, sites,
      models: [{ name: 'm', architecture: 'fake' }], strategy,
    },
    coordinator: { listen: '127.0.0.1:0', data_dir: dir, insecure: true },
  });
  const h = await startCoordinator(file, { log, initialModels: async () => new Map([['m', initial]]) });
  handle = h;
  const trainers = [new OffsetTrainer(1, 10), new OffsetTrainer(2, 30), new OffsetTrainer(-1, 60)];
  sites.forEach((site, i) => {
    const a = new SiteAgent({
      studyId: 'replay', siteId: site, address: `127.0.0.1:${h.port}`, credentials: grpc.credentials.createInsecure(),
      backoff: { initial_ms: 50, max_ms: 500 }, guard: new PrivacyGuard({ studyId: 'replay', siteId: site, log }),
    }, trainers[i]!, log);
    agents.push(a);
    void a.run();
  });
  const result = await h.done;
  expect(result.state).toBe('completed');
}

const STRATEGIES: Record<string, unknown>[] = [
  { name: 'fedavg' },
  { name: 'fedprox', proximal_mu: 0.1 },
  { name: 'fedadam', eta: 0.05 },
  { name: 'fedyogi', eta: 0.05 },
  { name: 'median' },
  { name: 'trimmed_mean', trim_count: 1 },
  { name: 'norm_bounding', max_norm: 5 },
];

describe('fl audit replay reproduces every strategy', () => {
  for (const strategy of STRATEGIES) {
    it(`${String(strategy.name)}: every round's aggregate replays to the logged digest`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'replay-'));
      await runStudy(dir, strategy);
      const r = await flRun(['audit', 'replay', join(dir, 'audit'), '--updates', join(dir, 'updates'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { ok: boolean; rounds: { round: number; status: string; strategy: string; message: string }[] };
      expect(out.rounds.map((x) => [x.round, x.status, x.strategy])).toEqual([1, 2, 3].map((n) => [n, 'ok', strategy.name]));
      expect(out.ok).toBe(true);
    });
  }
});
