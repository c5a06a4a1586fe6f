// In-process round trip over real gRPC on loopback (plain text; the mTLS tests live elsewhere):
// coordinator + 3 agents with a deterministic fake trainer, FedAvg checked exactly, and hostile
// uploads (wrong shape, NaN, replay, wrong site) refused while the round completes.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startCoordinator, type CoordinatorHandle } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { SiteAgent } from '../site-agent/agent.js';
import { uploadUpdate } from '../site-agent/transfer.js';
import { connectFederation } from '../shared/protocol/index.js';
import { readTensorSetFile } from '../shared/tensor/file.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { OffsetTrainer } from './helpers/fake-trainer.js';
import { PrivacyGuard } from '../site-agent/privacy-guard.js';
import { RdpAccountant } from '../shared/privacy/rdp.js';
import { startCapturingProxy } from './helpers/tcp-proxy.js';
import { expectResumedOnce, waitForBlocks } from './helpers/resume.js';

const log = pino({ level: 'silent' });
const infos = [
  { name: 'w', shape: [4, 3], dtype: 'float32' as const },
  { name: 'b', shape: [3], dtype: 'float32' as const },
];
const initial: TensorSet = { infos, data: Float32Array.from({ length: 15 }, (_, i) => i / 10) };

let handle: CoordinatorHandle | null = null;
const agents: SiteAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.shutdown();
  await handle?.close();
  handle = null;
});

function config(dataDir: string, extra: Record<string, unknown> = {}, coordinatorExtra: Record<string, unknown> = {}) {
  return coordinatorFileSchema.parse({
    study: {
      id: 'rt', rounds: 2, min_sites: 2, round_deadline_s: 20, join_timeout_s: 20, sites: ['site-1', 'site-2', 'site-3'],
      models: [{ name: 'm', architecture: 'fake' }], ...extra,
    },
    coordinator: { listen: '127.0.0.1:0', data_dir: dataDir, insecure: true, ...coordinatorExtra },
  });
}

function agent(port: number, site: string, trainer: OffsetTrainer, agentLog = log): SiteAgent {
  const a = new SiteAgent({
    studyId: 'rt', siteId: site, address: `127.0.0.1:${port}`, credentials: grpc.credentials.createInsecure(),
    backoff: { initial_ms: 50, max_ms: 500 }, guard: new PrivacyGuard({ studyId: 'rt', siteId: site, log }),
  }, trainer, agentLog);
  agents.push(a);
  return a;
}

describe('federated round trip', () => {
  it('runs 2 rounds of example-weighted FedAvg and checkpoints every global model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rt-'));
    handle = await startCoordinator(config(dir), { log, initialModels: async () => new Map([['m', initial]]) });
    const trainers = [new OffsetTrainer(1, 10), new OffsetTrainer(2, 30), new OffsetTrainer(-1, 60)];
    const runs = trainers.map((t, i) => agent(handle!.port, `site-${i + 1}`, t).run());
    const outcome = await handle.done;
    expect(outcome.state).toBe('completed');
    expect(outcome.rounds.map((r) => r.state)).toEqual(['completed', 'completed']);
    // Each round adds the weighted mean offset (1*10 + 2*30 - 1*60) / 100 = 0.1.
    const final = handle.store.get('m');
    expect(final.version).toBe(2);
    for (let i = 0; i < 15; i++) expect(final.set.data[i]).toBeCloseTo(i / 10 + 0.2, 5);
    const ck = await readTensorSetFile(join(dir, 'checkpoints', 'm', 'round-1.flt'));
    expect(ck.set.data[0]).toBeCloseTo(0.1, 6);
    expect(outcome.report.rounds[0]!.models.m!.num_examples).toBe(100);
    expect(outcome.report.rounds[0]!.models.m!.metrics.val_auc).toBeCloseTo(0.5 + (1 + 2 - 1) / 300, 6);
    expect(await Promise.all(runs)).toEqual(['study completed', 'study completed', 'study completed']);
  });

  it('refuses malformed and hostile updates; the round still completes and the model is unaffected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rt-'));
    handle = await startCoordinator(config(dir, { rounds: 1, round_deadline_s: 3, sites: ['site-1', 'site-2', 'rogue'] }), { log, initialModels: async () => new Map([['m', initial]]) });
    const rejected: string[] = [];
    handle.events.subscribe((e) => {
      if (e.type === 'update_rejected') rejected.push(`${e.site}: ${e.reason}`);
    });
    // The rogue site is a participant (it holds a session) but sends bad uploads before the good ones arrive.
    const slow = [new OffsetTrainer(1, 10, 400), new OffsetTrainer(3, 10, 400)];
    slow.forEach((t, i) => void agent(handle!.port, `site-${i + 1}`, t).run());
    const rogueTrainer = new OffsetTrainer(0, 5);
    const rogue = agent(handle.port, 'rogue', rogueTrainer);
    // Replace the rogue agent's trainer behaviour: we drive its uploads by hand through its client.
    const roundStarted = new Promise<void>((r) => handle!.events.subscribe((e) => e.type === 'round_started' && r()));
    rogueTrainer.train = async () => new Promise(() => {}); // never finishes: the rogue only sends crafted uploads
    void rogue.run();
    await roundStarted;
    const client = connectFederation(`127.0.0.1:${handle.port}`, grpc.credentials.createInsecure());
    const base = { studyId: 'rt', siteId: 'rogue', model: 'm', round: 1, modelVersion: 0, numExamples: 5, metrics: {}, taskId: 't', signature: '' };
    const wrongShape: TensorSet = { infos: [{ name: 'w', shape: [5, 3], dtype: 'float32' }, infos[1]!], data: new Float32Array(18) };
    await expect(uploadUpdate(client, { ...base, updateId: 'rogue-shape-1' }, wrongShape)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/site "rogue".*"w": expected shape \[4,3\], got \[5,3\]/),
    });
    const nan: TensorSet = { infos, data: new Float32Array(15).fill(0.5) };
    nan.data[7] = Number.NaN;
    await expect(uploadUpdate(client, { ...base, updateId: 'rogue-nan-001' }, nan)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/site "rogue".*non-finite value at element 7/),
    });
    await expect(uploadUpdate(client, { ...base, updateId: 'rogue-stale-1', round: 0 }, { infos, data: new Float32Array(15) })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION, details: expect.stringMatching(/stale or early/),
    });
    client.close();
    const outcome = await handle.done;
    expect(outcome.state).toBe('completed');
    const r1 = outcome.rounds[0]!;
    expect(r1.state).toBe('completed_without_some_sites'); // the rogue never sent a valid update
    expect(rejected.some((r) => r.includes('expected shape'))).toBe(true);
    expect(rejected.some((r) => r.includes('non-finite'))).toBe(true);
    expect(r1.models.m!.rejected.length).toBeGreaterThanOrEqual(3);
    expect(r1.models.m!.sites).not.toContain('rogue');
  });
});

describe('resume', () => {
  it('a coordinator stopped after round 1 and restarted on the same data_dir ends with the uninterrupted digest', async () => {
    const sitesList = ['site-1', 'site-2', 'site-3'];
    const start = async (dir: string) => {
      const h = await startCoordinator(config(dir, { rounds: 3 }), { log, initialModels: async () => new Map([['m', initial]]) });
      handle = h;
      const trainers = [new OffsetTrainer(1, 10, 30), new OffsetTrainer(2, 30, 30), new OffsetTrainer(-1, 60, 30)];
      sitesList.forEach((s, i) => void agent(h.port, s, trainers[i]!).run());
      return h;
    };
    const stopAll = async (h: CoordinatorHandle) => {
      for (const a of agents.splice(0)) a.shutdown();
      await h.close();
      handle = null;
    };
    const h1 = await start(mkdtempSync(join(tmpdir(), 'rs-')));
    const straight = await h1.done;
    await stopAll(h1);

    const dir = mkdtempSync(join(tmpdir(), 'rs-'));
    const h2 = await start(dir);
    await new Promise<void>((r) => h2.events.subscribe((e) => e.type === 'round_completed' && e.round === 1 && r()));
    await new Promise((r) => setTimeout(r, 50)); // state.json is written right after the event
    await stopAll(h2); // the coordinator goes away in the middle of round 2
    const h3 = await start(dir);
    const resumed = await h3.done;
    await stopAll(h3);
    expect(resumed.state).toBe('completed');
    expect(resumed.rounds.map((r) => r.round)).toEqual([1, 2, 3]);
    expect(resumed.report.final_models.m!.digest).toBe(straight.report.final_models.m!.digest);
  });
});

describe('differential privacy', () => {
  it('sites clip and noise their updates; epsilon grows per round as the RDP accountant says', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dp-'));
    handle = await startCoordinator(config(dir, { rounds: 3, dp: { clip: 0.5, noise_multiplier: 1.2, delta: 1e-5 } }), { log, initialModels: async () => new Map([['m', initial]]) });
    const trainers = [new OffsetTrainer(1, 10), new OffsetTrainer(2, 30), new OffsetTrainer(-1, 60)];
    const accepted: { site: string; metrics: Record<string, number> }[] = [];
    handle.events.subscribe((e) => e.type === 'update_accepted' && accepted.push({ site: e.site, metrics: e.metrics }));
    trainers.forEach((t, i) => void agent(handle!.port, `site-${i + 1}`, t).run());
    const outcome = await handle.done;
    expect(outcome.state).toBe('completed');
    // Every update was clipped: its pre-clip norm is |offset| * sqrt(15) > 0.5.
    expect(accepted).toHaveLength(9);
    for (const a of accepted) {
      const offset = a.site === 'site-2' ? 2 : 1;
      expect(a.metrics.dp_norm_before_clip).toBeCloseTo(offset * Math.sqrt(15), 4);
      expect(a.metrics.dp_clipped).toBe(1);
    }
    const eps = outcome.rounds.map((r) => r.privacy!.epsilon);
    expect(eps[0]).toBeGreaterThan(0);
    expect(eps[1]).toBeGreaterThan(eps[0]!);
    expect(eps[2]).toBeGreaterThan(eps[1]!);
    for (let r = 1; r <= 3; r++) {
      expect(eps[r - 1]).toBeCloseTo(new RdpAccountant([{ noiseMultiplier: 1.2, sampleRate: 1, steps: r }]).spent(1e-5).epsilon, 10);
    }
    // With clipping at 0.5 and noise, the global model cannot move by the unclipped mean (0.1 per
    // coordinate per round would be FedAvg of the raw deltas); each coordinate's move is the
    // clipped mean plus noise of std 0.5*1.2/sqrt(3 sites) at most per round.
    const moved = handle.store.get('m').set.data.map((v, i) => v - initial.data[i]!);
    const rms = Math.sqrt(moved.reduce((s, v) => s + v * v, 0) / moved.length);
    expect(rms).toBeLessThan(3 * Math.sqrt(3) * 0.5 * 1.2); // 3 rounds, generous bound on noise
  });
});

describe('hostile updates', () => {
  const five = ['site-1', 'site-2', 'site-3', 'site-4', 'site-5'];
  const run = async (extra: Record<string, unknown>) => {
    const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
    handle = await startCoordinator(config(dir, { rounds: 1, min_sites: 3, sites: five, ...extra }), { log, initialModels: async () => new Map([['m', initial]]) });
    const rejected: string[] = [];
    handle.events.subscribe((e) => e.type === 'update_rejected' && rejected.push(`${e.site}: ${e.reason}`));
    // Four honest sites move every weight by about +0.1; the attacker sends -20x that.
    const trainers = [0.1, 0.11, 0.09, 0.1, -2].map((o) => new OffsetTrainer(o, 20));
    five.forEach((s, i) => void agent(handle!.port, s, trainers[i]!).run());
    const outcome = await handle.done;
    const moved = handle.store.get('m').set.data.map((v, i) => v - initial.data[i]!);
    for (const a of agents.splice(0)) a.shutdown();
    await handle.close();
    handle = null;
    return { outcome, moved, rejected };
  };

  it('leaves out an update whose norm is far above the others (recorded with the reason)', async () => {
    const { outcome, moved, rejected } = await run({});
    expect(outcome.state).toBe('completed');
    expect(outcome.rounds[0]!.models.m!.sites).toEqual(['site-1', 'site-2', 'site-3', 'site-4']);
    expect(rejected.join('\n')).toMatch(/site-5: update .* left out of the aggregate: .*median/);
    for (const v of moved) expect(v).toBeCloseTo(0.1, 5);
  });

  it('with coordinate-wise median the attacker moves the model only slightly; FedAvg would not resist', async () => {
    const robust = await run({ strategy: { name: 'median' }, outlier_norm_factor: 0 });
    for (const v of robust.moved) expect(Math.abs(v - 0.1)).toBeLessThan(0.011);
    const naive = await run({ strategy: { name: 'fedavg' }, outlier_norm_factor: 0 });
    for (const v of naive.moved) expect(v).toBeLessThan(-0.3); // (0.4 - 2) / 5 = -0.32
  });
});

describe('slow links', () => {
  it('a site whose connection stalls for a while, then goes through, still takes part in the round', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stall-'));
    handle = await startCoordinator(config(dir, { rounds: 2, round_deadline_s: 30 }), { log, initialModels: async () => new Map([['m', initial]]) });
    const proxy = await startCapturingProxy(handle.port);
    const trainers = [new OffsetTrainer(1, 10), new OffsetTrainer(2, 30), new OffsetTrainer(-1, 60, 200)];
    void agent(handle.port, 'site-1', trainers[0]!).run();
    void agent(handle.port, 'site-2', trainers[1]!).run();
    void agent(proxy.port, 'site-3', trainers[2]!).run();
    // Stall site-3's link while it trains in round 1, for 3 s, then let it through.
    await new Promise<void>((r) => handle!.events.subscribe((e) => e.type === 'round_started' && e.round === 1 && r()));
    proxy.stall();
    await new Promise((r) => setTimeout(r, 3000));
    proxy.resume();
    const outcome = await handle.done;
    await proxy.close();
    expect(outcome.state).toBe('completed');
    expect(outcome.rounds.map((r) => r.state)).toEqual(['completed', 'completed']);
    expect(outcome.rounds[0]!.models.m!.sites).toEqual(['site-1', 'site-2', 'site-3']);
    expect(outcome.rounds[0]!.ended - outcome.rounds[0]!.started).toBeGreaterThanOrEqual(2900);
  });
});

describe('resumable upload', () => {
  it('a connection dropped mid-upload resumes from the last verified block, within the reconnect grace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resume-up-'));
    const big: TensorSet = { infos: [{ name: 'w', shape: [4_000_000], dtype: 'float32' }], data: new Float32Array(4_000_000) };
    // The bytes on the gRPC call (the bulk channel's own resume is tested in test/bulk-channel.test.ts).
    handle = await startCoordinator(config(dir, { rounds: 1, round_deadline_s: 60, sites: ['site-1', 'site-2'] }, { bulk_port: 'off' }), { log, initialModels: async () => new Map([['m', big]]) });
    const proxy = await startCapturingProxy(handle.port);
    // site-2 logs where it resumes (the block the coordinator reported as its last verified one).
    const resumed: number[] = [];
    const site2Log = pino({ level: 'info' }, { write: (line: string) => {
      const rec = JSON.parse(line) as { msg?: string; resumeOffset?: number };
      if (rec.msg === 'resuming the upload' && typeof rec.resumeOffset === 'number') resumed.push(rec.resumeOffset);
    } });
    void agent(handle.port, 'site-1', new OffsetTrainer(1, 10)).run();
    void agent(proxy.port, 'site-2', new OffsetTrainer(2, 10, 300), site2Log).run();
    await new Promise<void>((r) => handle!.events.subscribe((e) => e.type === 'round_started' && r()));
    // Hold site-2's traffic once 8 MiB of its 16 MB upload have been forwarded, wait until the
    // coordinator has verified at least 6 blocks of what it received, then drop the connection.
    // Nothing here depends on timing: the coordinator cannot verify more than was forwarded, and
    // it will verify every whole block it was given.
    const MiB = 1 << 20;
    const forwarded = await proxy.stallAfter(8 * MiB);
    const blocks = await waitForBlocks(dir, 'site-2', 6);
    proxy.cut();
    const upAtCut = proxy.upstream().length;
    const outcome = await handle.done;
    await proxy.close();
    expect(outcome.state).toBe('completed');
    expect(outcome.rounds[0]!.state).toBe('completed');
    expect(outcome.rounds[0]!.models.m!.sites).toEqual(['site-1', 'site-2']);
    // The coordinator kept the verified blocks; after the cut only the rest went through.
    expectResumedOnce({ resumed, blocks, forwarded, update: big.data.byteLength, after: proxy.upstream().length - upAtCut });
    for (const v of handle.store.get('m').set.data.subarray(0, 1000)) expect(v).toBeCloseTo(1.5, 5);
  });
});
