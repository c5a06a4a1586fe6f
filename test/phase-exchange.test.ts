// Phase exchanges over real gRPC on loopback: the coordinator sends a phase request to every site
// on its session and gets each answer, a refusal or a missing handler back as that site's
// failure; a handler that tries to send anything but numbers under a tabular phase is blocked by
// the site's privacy guard and the coordinator sees a failure, not the data.
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
import type { PhaseRequest } from '../shared/protocol/index.js';

const log = pino({ level: 'silent' });
const initial: TensorSet = { infos: [{ name: 'w', shape: [2], dtype: 'float32' }], data: new Float32Array(2) };
let handle: CoordinatorHandle | null = null;
const agents: SiteAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.shutdown();
  await handle?.close();
  handle = null;
});

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const handlers: Record<string, Record<string, (req: PhaseRequest) => Promise<Uint8Array>>> = {
  'site-a': { tabular: async (req) => json({ n: 42, echo: JSON.parse(new TextDecoder().decode(req.payload)).x as number }) },
  'site-b': { tabular: async () => { throw new Error('fewer than min_cell = 5 cases have ki67 (3); no sums returned'); } },
  'site-c': {},
  'site-d': { tabular: async () => json({ case_ids: ['P-0001'] }) },
};

describe('phase exchange', () => {
  it('collects answers, refusals and missing handlers as failures; the guard blocks anything but numbers', async () => {
    const sites = Object.keys(handlers);
    const file = coordinatorFileSchema.parse({
      study: { id: 'ph', rounds: 1, min_sites: 4, sites, round_deadline_s: 30, join_timeout_s: 30, models: [{ name: 'm', architecture: 'fake' }] },
      coordinator: { listen: '127.0.0.1:0', data_dir: mkdtempSync(join(tmpdir(), 'ph-')), insecure: true },
    });
    const h = await startCoordinator(file, { log, initialModels: async () => new Map([['m', initial]]), autoStart: false });
    handle = h;
    for (const site of sites) {
      const a = new SiteAgent({
        studyId: 'ph', siteId: site, address: `127.0.0.1:${h.port}`, credentials: grpc.credentials.createInsecure(),
        backoff: { initial_ms: 50, max_ms: 500 }, guard: new PrivacyGuard({ studyId: 'ph', siteId: site, log }), phaseHandlers: handlers[site]!,
      }, new OffsetTrainer(1, 10), log);
      agents.push(a);
      void a.run();
    }
    while (h.sites.connectedSites().length < sites.length) await new Promise((r) => setTimeout(r, 20));
    const requests = new Map(sites.map((s) => [s, json({ x: 7 })]));
    const { answers, failures } = await h.phases.exchange(1, 'm', 'tabular.sums', requests, 20_000);
    expect([...answers.keys()]).toEqual(['site-a']);
    expect(JSON.parse(new TextDecoder().decode(answers.get('site-a')!))).toEqual({ n: 42, echo: 7 });
    expect(failures.map((f) => f.site)).toEqual(['site-b', 'site-c', 'site-d']);
    expect(failures[0]!.reason).toMatch(/tabular\.sums: refused: fewer than min_cell = 5 cases have ki67/);
    expect(failures[1]!.reason).toMatch(/no handler for "tabular\.sums"/);
    expect(failures[2]!.reason).toMatch(/tabular\.sums: refused: blocked by this site.s privacy guard: .*values are not allowed \(numbers only\)/);
    expect(failures[2]!.reason).not.toMatch(/P-0001/);
  }, 60_000);
});
