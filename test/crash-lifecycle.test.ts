// Crash consistency of the coordinator's lifecycle (in-process: gRPC on loopback, the real study
// log, deterministic fake trainers). Each case compares with an uninterrupted run:
//  - stopped (as by SIGTERM) during held-out scoring, then started again: same frozen digests, same
//    predictions.csv, only the missing sites asked, one study_config, `audit verify` intact;
//  - a finished study started again: refused, report.json and the log untouched;
//  - a flipped byte in a checkpoint or in state.json: an error naming the file and both digests,
//    no second study_config;
//  - an admin stop: state "stopped", the admin named in the log, a report, sites told the study ended.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startCoordinator, StudyEndedError, type CoordinatorHandle } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { SiteAgent } from '../site-agent/agent.js';
import { PrivacyGuard } from '../site-agent/privacy-guard.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { OffsetTrainer } from './helpers/fake-trainer.js';
import { verifyStudyLog } from '../shared/audit/verifier.js';
import { parsePublicKey } from '../shared/audit/keys.js';

const log = pino({ level: 'silent' });
const initial: TensorSet = { infos: [{ name: 'w', shape: [4, 3], dtype: 'float32' }], data: Float32Array.from({ length: 12 }, (_, i) => i / 20) };
const siteIds = ['site-1', 'site-2', 'site-3'];

let handle: CoordinatorHandle | null = null;
let agents: SiteAgent[] = [];
afterEach(async () => {
  for (const a of agents) a.shutdown();
  agents = [];
  await handle?.close();
  handle = null;
});

function config(dataDir: string) {
  return coordinatorFileSchema.parse({
    study: {
      id: 'lc', rounds: 2, min_sites: 2, round_deadline_s: 60, join_timeout_s: 30, reconnect_grace_s: 5, sites: siteIds,
      models: [{ name: 'm', architecture: 'fake' }],
      evaluation: { bootstrap: 50, deadline_s: 60, threshold: { rule: 'youden' } },
    },
    coordinator: { listen: '127.0.0.1:0', data_dir: dataDir, insecure: true },
  });
}

/** A trainer whose held-out scoring can be held back (to stop the coordinator in the middle of it). */
class GatedTrainer extends OffsetTrainer {
  gate: Promise<void> | null = null;
  heldOutCalls = 0;
  override async evaluate(req: Parameters<OffsetTrainer['evaluate']>[0]) {
    if (req.cohorts.includes('test')) {
      this.heldOutCalls++;
      if (this.gate) await this.gate;
    }
    return super.evaluate(req);
  }
}

async function start(dir: string, trainers: GatedTrainer[], port = 0): Promise<CoordinatorHandle> {
  const file = config(dir);
  if (port) file.coordinator.listen = `127.0.0.1:${port}`;
  const h = await startCoordinator(file, { log, initialModels: async () => new Map([['m', initial]]) });
  handle = h;
  return h;
}

function startSites(port: number, trainers: GatedTrainer[], dir: string): SiteAgent[] {
  return siteIds.map((site, i) => {
    const a = new SiteAgent({
      studyId: 'lc', siteId: site, address: `127.0.0.1:${port}`, credentials: grpc.credentials.createInsecure(),
      backoff: { initial_ms: 50, max_ms: 300 }, pseudonymSecret: `secret-of-${site}-0123456789`,
      freezeFile: join(dir, 'sites', site, 'frozen.jsonl'),
      guard: new PrivacyGuard({ studyId: 'lc', siteId: site, log }),
    }, trainers[i]!, log);
    agents.push(a);
    return a;
  });
}

const trainersFor = () => [new GatedTrainer(1, 10), new GatedTrainer(2, 30), new GatedTrainer(-1, 60)];
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const logRecords = (dir: string) => readFileSync(join(dir, 'audit', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
const verify = (dir: string) => verifyStudyLog({
  log: readFileSync(join(dir, 'audit', 'log.jsonl')), heads: readFileSync(join(dir, 'audit', 'heads.jsonl')),
  publicKey: parsePublicKey(readFileSync(join(dir, 'audit', 'coordinator.pub'), 'utf8'), 'coordinator.pub'),
});

async function uninterrupted(): Promise<{ dir: string; report: Record<string, unknown> }> {
  const dir = mkdtempSync(join(tmpdir(), 'lc-ref-'));
  const h = await start(dir, []);
  const runs = startSites(h.port, trainersFor(), dir).map((a) => a.run());
  const out = await h.done;
  expect(out.state, out.reason).toBe('completed');
  await Promise.all(runs);
  await h.close();
  handle = null;
  agents = [];
  return { dir, report: out.report as unknown as Record<string, unknown> };
}

describe('coordinator lifecycle across restarts', () => {
  it('stopped during held-out scoring and started again: same frozen models and predictions; a finished study is never re-run', async () => {
    const ref = await uninterrupted();

    const dir = mkdtempSync(join(tmpdir(), 'lc-'));
    const trainers = trainersFor();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    trainers[2]!.gate = gate; // site-3 is slow to score its held-out cohorts
    const h1 = await start(dir, trainers);
    const port = h1.port;
    const runs = startSites(port, trainers, dir).map((a) => a.runUntilEnd());
    // Wait until site-1 and site-2 have sent their held-out results, then stop (as SIGTERM does).
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (existsSync(join(dir, 'evaluation', 'held-out', 'site-1.json')) && existsSync(join(dir, 'evaluation', 'held-out', 'site-2.json'))) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    h1.stop('signal SIGTERM', { resumable: true });
    const first = await h1.done;
    expect(first.state).toBe('stopped');
    expect(first.resumable).toBe(true);
    await h1.close();
    handle = null;
    const state1 = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).state;
    expect(state1.phase).toBe('evaluating');
    expect(state1.evaluation.frozen).toBeTruthy();

    // Started again on the same port; the same site agents (never restarted) reconnect.
    release();
    const calls = trainers.map((t) => t.heldOutCalls);
    const h2 = await start(dir, trainers, port);
    const second = await h2.done;
    expect(second.state, second.reason).toBe('completed');
    const ends = await Promise.all(runs);
    expect(ends.map((e) => e.ended)).toEqual(['completed', 'completed', 'completed']);
    // Only site-3 was asked again for held-out scores.
    expect(trainers[0]!.heldOutCalls).toBe(calls[0]);
    expect(trainers[1]!.heldOutCalls).toBe(calls[1]);
    const r = second.report as unknown as Record<string, unknown>;
    expect((r.frozen_models as { digest: string; threshold: number }[]).map((f) => [f.digest, f.threshold]))
      .toEqual((ref.report.frozen_models as { digest: string; threshold: number }[]).map((f) => [f.digest, f.threshold]));
    expect(sha(join(dir, 'predictions.csv'))).toBe(sha(join(ref.dir, 'predictions.csv')));
    expect(JSON.stringify(r.statistics ?? r.metrics ?? null)).toBe(JSON.stringify(ref.report.statistics ?? ref.report.metrics ?? null));
    const recs = logRecords(dir);
    expect(recs.filter((x) => x.type === 'study_config')).toHaveLength(1);
    expect(recs.filter((x) => x.type === 'models_frozen')).toHaveLength(1);
    expect(recs.filter((x) => x.type === 'study_stopped')).toHaveLength(1);
    expect(recs.filter((x) => x.type === 'study_resumed')).toHaveLength(1);
    expect(verify(dir).failure).toBeNull();
    await h2.close();
    handle = null;

    // A finished study: refused before anything is touched.
    const reportBefore = sha(join(dir, 'report.json'));
    const logBefore = sha(join(dir, 'audit', 'log.jsonl'));
    await expect(start(dir, trainers)).rejects.toBeInstanceOf(StudyEndedError);
    handle = null;
    expect(sha(join(dir, 'report.json'))).toBe(reportBefore);
    expect(sha(join(dir, 'audit', 'log.jsonl'))).toBe(logBefore);
  }, 120_000);

  it('a flipped byte in a checkpoint or in state.json is an error naming the file and both digests, never a second history', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-flip-'));
    const trainers = trainersFor();
    const h = await start(dir, trainers);
    for (const a of startSites(h.port, trainers, dir)) void a.run();
    await new Promise<void>((r) => h.events.subscribe((e) => e.type === 'round_completed' && e.round === 1 && r()));
    h.stop('signal SIGTERM', { resumable: true });
    expect((await h.done).state).toBe('stopped');
    await h.close();
    handle = null;
    for (const a of agents) a.shutdown();
    agents = [];

    const flipped = mkdtempSync(join(tmpdir(), 'lc-flip-ck-'));
    cpSync(dir, flipped, { recursive: true });
    const ck = join(flipped, 'checkpoints', 'm', 'round-1.flt');
    const bytes = readFileSync(ck);
    bytes[bytes.length - 3] ^= 0x40;
    writeFileSync(ck, bytes);
    const err = await start(flipped, trainers).then(() => null, (e: Error) => e);
    handle = null;
    expect(err?.message).toMatch(/round-1\.flt/);
    expect(err?.message).toMatch(/expected digest [0-9a-f]{64}, found [0-9a-f]{64}/);

    const badState = mkdtempSync(join(tmpdir(), 'lc-flip-st-'));
    cpSync(dir, badState, { recursive: true });
    const sp = join(badState, 'state.json');
    const text = readFileSync(sp, 'utf8');
    writeFileSync(sp, text.replace('"phase":"training"', '"phase":"trainins"'));
    const err2 = await start(badState, trainers).then(() => null, (e: Error) => e);
    handle = null;
    expect(err2?.message).toMatch(/state\.json/);
    expect(err2?.message).toMatch(/expected sha256 [0-9a-f]{64}, found [0-9a-f]{64}/);
    writeFileSync(sp, text.slice(0, 100)); // truncated
    const err3 = await start(badState, trainers).then(() => null, (e: Error) => e);
    handle = null;
    expect(err3?.message).toMatch(/state\.json: the study state is not valid JSON/);
    for (const d of [flipped, badState]) expect(logRecords(d).filter((x) => x.type === 'study_config')).toHaveLength(1);
  }, 120_000);

  it('an admin stop ends the study "stopped", names the admin in the log, writes a report and tells the sites', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lc-stop-'));
    const trainers = trainersFor();
    const h = await start(dir, trainers);
    const runs = startSites(h.port, trainers, dir).map((a) => a.runUntilEnd());
    await new Promise<void>((r) => h.events.subscribe((e) => e.type === 'round_completed' && e.round === 1 && r()));
    h.stop('admin "ops"');
    const out = await h.done;
    expect(out.state).toBe('stopped');
    const ends = await Promise.all(runs);
    expect(ends.every((e) => e.ended === 'stopped' && /admin "ops"/.test(e.reason))).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.state).toBe('stopped');
    expect(report.rounds.filter((x: { state: string }) => x.state !== 'failed').length).toBeGreaterThanOrEqual(1);
    const stopped = logRecords(dir).find((x) => x.type === 'study_stopped');
    expect(stopped?.by).toBe('admin "ops"');
    expect(stopped?.resumable).toBe(false);
    await h.close();
    handle = null;
    await expect(start(dir, trainers)).rejects.toThrow(/stopped by admin "ops"/);
    handle = null;
  }, 120_000);
});
