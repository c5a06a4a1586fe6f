// The held-out guard at the site: a held-out cohort is scored only by a model whose digest the
// site recorded as frozen, and never outside a held-out evaluation task.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startCoordinator, type CoordinatorHandle } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { SiteAgent } from '../site-agent/agent.js';
import { PrivacyGuard } from '../site-agent/privacy-guard.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { OffsetTrainer } from './helpers/fake-trainer.js';

const log = pino({ level: 'silent' });
const initial: TensorSet = { infos: [{ name: 'w', shape: [6], dtype: 'float32' }], data: new Float32Array(6) };
let handle: CoordinatorHandle | null = null;
const agents: SiteAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.shutdown();
  await handle?.close();
  handle = null;
});

describe('held-out guard', () => {
  it('refuses held-out scoring with an unfrozen model and scores after the freeze notice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guard-'));
    const file = coordinatorFileSchema.parse({
      study: { id: 'g', rounds: 1, min_sites: 1, sites: ['site-1'], round_deadline_s: 20, models: [{ name: 'm', architecture: 'fake' }] },
      coordinator: { listen: '127.0.0.1:0', data_dir: dir, insecure: true },
    });
    // The study is never started (autoStart: false): the coordinator holds the initial model
    // (version 0) and serves sessions, so the guard is checked on a live session without a study
    // ending (an ended coordinator tells every site that connects to stop).
    handle = await startCoordinator(file, { log, initialModels: async () => new Map([['m', initial]]), autoStart: false });
    const g = handle.store.get('m');
    const ref = { studyId: 'g', model: 'm', round: 0, version: 0, digest: g.digest };
    const agent2 = new SiteAgent({
      studyId: 'g', siteId: 'site-1', address: `127.0.0.1:${handle.port}`, credentials: grpc.credentials.createInsecure(),
      backoff: { initial_ms: 50, max_ms: 500 }, pseudonymSecret: 'a-site-secret-of-enough-length', freezeFile: join(dir, 'site-freezes.jsonl'),
      guard: new PrivacyGuard({ studyId: 'g', siteId: 'site-1', log }),
    }, new OffsetTrainer(1, 10), log);
    agents.push(agent2);
    void agent2.run();
    await new Promise<void>((r) => {
      const t = setInterval(() => handle!.sites.isConnected('site-1') && (clearInterval(t), r()), 20);
    });
    const req = (cohorts: string[], heldOut: boolean) => handle!.evaluation.request({
      sites: ['site-1'], models: [{ ref, threshold: 0.5 }], cohorts, heldOut, modelConfigs: { m: { architecture: 'fake', config: {} } }, round: 1, deadlineMs: 10_000,
    });
    // Not frozen: refused.
    const before = await req(['test', 'prospective'], true);
    expect(before.results.size).toBe(0);
    expect(before.failures.get('site-1')).toMatch(/never frozen/);
    // Held-out cohorts inside a non-held-out task: refused.
    const sneaky = await req(['validation', 'test'], false);
    expect(sneaky.failures.get('site-1')).toMatch(/outside a held-out evaluation/);
    // Validation is fine without a freeze.
    const v = await req(['validation'], false);
    expect(v.results.get('site-1')!.predictions).toHaveLength(20);
    // After the freeze notice the same request is served, keyed by pseudonyms.
    handle.sites.send('site-1', { type: 'freeze', studyId: 'g', models: [{ ref, threshold: 0.5 }], logSeq: 7, recordHash: 'ab'.repeat(32) });
    const after = await req(['test', 'prospective'], true);
    const preds = after.results.get('site-1')!.predictions;
    expect(preds).toHaveLength(40);
    expect(preds.every((p) => /^[0-9a-f]{64}$/.test(p.caseKey) && !p.caseKey.includes('test-'))).toBe(true);
    expect(new Set(preds.map((p) => p.cohort))).toEqual(new Set(['test', 'prospective']));
  });
});
