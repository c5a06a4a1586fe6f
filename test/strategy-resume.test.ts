// In-process (gRPC on loopback): a study with a server optimiser (FedAdam / FedYogi) stopped after
// round 1 and restarted on the same data_dir resumes with the persisted moments and ends with the
// digest of an uninterrupted run; moments that do not belong to the saved state are refused.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startCoordinator, type CoordinatorHandle } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { SiteAgent } from '../site-agent/agent.js';
import { readTensorSetFile, writeTensorSetFile } from '../shared/tensor/file.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { OffsetTrainer } from './helpers/fake-trainer.js';
import { PrivacyGuard } from '../site-agent/privacy-guard.js';

const log = pino({ level: 'silent' });
const initial: TensorSet = { infos: [{ name: 'w', shape: [5, 3], dtype: 'float32' }], data: Float32Array.from({ length: 15 }, (_, i) => i / 10) };
const sites = ['site-1', 'site-2', 'site-3'];

let handle: CoordinatorHandle | null = null;
const agents: SiteAgent[] = [];
async function stopAll(): Promise<void> {
  for (const a of agents.splice(0)) a.shutdown();
  await handle?.close();
  handle = null;
}
afterEach(stopAll);

function config(dataDir: string, strategy: Record<string, unknown>) {
  return coordinatorFileSchema.parse({
    study: {
      id: 'sr', rounds: 3, min_sites: 2, round_deadline_s: 20, join_timeout_s: 20, sites,
      models: [{ name: 'm', architecture: 'fake' }], strategy,
    },
    coordinator: { listen: '127.0.0.1:0', data_dir: dataDir, insecure: true },
  });
}

async function start(dir: string, strategy: Record<string, unknown>): Promise<CoordinatorHandle> {
  const h = await startCoordinator(config(dir, strategy), { log, initialModels: async () => new Map([['m', initial]]) });
  handle = h;
  const trainers = [new OffsetTrainer(1, 10, 30), new OffsetTrainer(2, 30, 30), new OffsetTrainer(-1, 60, 30)];
  sites.forEach((site, i) => {
    const a = new SiteAgent({
      studyId: 'sr', siteId: site, address: `127.0.0.1:${h.port}`, credentials: grpc.credentials.createInsecure(),
      backoff: { initial_ms: 50, max_ms: 500 }, guard: new PrivacyGuard({ studyId: 'sr', siteId: site, log }),
    }, trainers[i]!, log);
    agents.push(a);
    void a.run();
  });
  return h;
}

async function stopAfterRound1(dir: string, strategy: Record<string, unknown>): Promise<void> {
  const h = await start(dir, strategy);
  await new Promise<void>((r) => h.events.subscribe((e) => e.type === 'round_completed' && e.round === 1 && r()));
  await new Promise((r) => setTimeout(r, 50)); // state.json is written right after the event
  await stopAll();
}

describe('server optimiser state across a coordinator restart', () => {
  for (const name of ['fedadam', 'fedyogi']) {
    it(`${name}: stopped after round 1 and restarted, the study ends with the uninterrupted digest`, async () => {
      const strategy = { name, eta: 0.05 };
      const straight = await (await start(mkdtempSync(join(tmpdir(), 'sr-')), strategy)).done;
      await stopAll();
      expect(straight.state).toBe('completed');

      const dir = mkdtempSync(join(tmpdir(), 'sr-'));
      await stopAfterRound1(dir, strategy);
      expect(existsSync(join(dir, 'strategy', 'm-round-1.flt'))).toBe(true); // moments are files named by round
      const resumed = await (await start(dir, strategy)).done;
      await stopAll();
      expect(resumed.state).toBe('completed');
      expect(resumed.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
      expect(resumed.report.final_models.m!.digest).toBe(straight.report.final_models.m!.digest);
    });
  }

  it('moments that were not saved with the study state are refused at restart, not silently used', async () => {
    const strategy = { name: 'fedadam', eta: 0.05 };
    const dir = mkdtempSync(join(tmpdir(), 'sr-'));
    await stopAfterRound1(dir, strategy);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { state: { strategy_state: { m: { $file: string } } } };
    const path = join(dir, 'strategy', state.state.strategy_state.m.$file);
    const saved = (await readTensorSetFile(path)).set;
    // The moments file of the saved round altered on disk (corruption or tampering).
    await writeTensorSetFile(path, { infos: saved.infos, data: Float32Array.from(saved.data, (v) => v * 0.5) }, { model: 'm' });
    expect(readFileSync(join(dir, 'state.json'), 'utf8')).toMatch(/\$tensors_digest/);
    await expect(start(dir, strategy)).rejects.toThrow(/not the ones this state was saved with/);
  });
});
