// Secure aggregation end to end over real gRPC on loopback (coordinator + in-process site agents
// with a fake trainer, so n = 6 sites stay light): the spool holds only masked uploads (byte
// entropy near 8 bits, unlike the plain update), the aggregate equals plain FedAvg within the
// stated quantisation bound, one site killed before uploading and one after still give the sum of
// the rest, and fewer than T sites fail the round with the reason and nothing revealed.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startCoordinator, type CoordinatorHandle } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { SiteAgent } from '../site-agent/agent.js';
import { PrivacyGuard } from '../site-agent/privacy-guard.js';
import { SiteSecAgg } from '../site-agent/secagg-handler.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { decodeTensorFileHeader } from '../shared/tensor/file.js';
import { OffsetTrainer } from './helpers/fake-trainer.js';
import type { TrainRequest, TrainResult } from '../site-agent/trainer.js';
import { quantizationErrorBound, step } from '../shared/secagg/index.js';
import { replayAggregates } from '../shared/audit/replay.js';
import type { AuditRecord } from '../shared/audit/records.js';

async function replay(records: Record<string, unknown>[], dataDir: string) {
  const recs = records.map((r, seq) => ({ seq, time: new Date(0).toISOString(), ...r })) as unknown as AuditRecord[];
  return replayAggregates(recs, { updatesDir: join(dataDir, 'updates'), checkpointsDir: join(dataDir, 'checkpoints') });
}

const log = pino({ level: 'silent' });
const N = 20_000; // elements: 80 KB per upload
const initial: TensorSet = { infos: [{ name: 'w', shape: [N], dtype: 'float32' }], data: new Float32Array(N).map((_, i) => Math.sin(i) * 0.1) };
const Q = { clip: 0.1, bits: 28 };
let handle: CoordinatorHandle | null = null;
const agents: SiteAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) a.shutdown();
  await handle?.close();
  handle = null;
});

/** A site trainer: delta_i = offset + 0.01*cos(i*(k+1)), so every site's update differs elementwise. */
class WavyTrainer extends OffsetTrainer {
  constructor(offset: number, examples: number, readonly k: number, readonly onTrain?: () => Promise<void>) {
    super(offset, examples);
  }
  override async train(req: TrainRequest): Promise<TrainResult> {
    await this.onTrain?.();
    const data = new Float32Array(req.global.data.length);
    for (let i = 0; i < data.length; i++) data[i] = req.global.data[i]! + this.offset + 0.01 * Math.cos(i * (this.k + 1));
    return { weights: { infos: req.global.infos, data }, numExamples: this.examples, metrics: { train_loss: 0.5, val_auc: 0.7, val_n: 10 } };
  }
}

function plainDelta(offset: number, k: number): Float32Array {
  // what the site computes: float32(global + d) - global
  const d = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const w = Math.fround(initial.data[i]! + offset + 0.01 * Math.cos(i * (k + 1)));
    d[i] = Math.fround(w - initial.data[i]!);
  }
  return d;
}

function entropyBits(bytes: Uint8Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) counts[b]!++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / bytes.length) * Math.log2(c / bytes.length);
  return h;
}

interface SiteSpec { site: string; offset: number; examples: number; onTrain?: (agent: () => SiteAgent) => Promise<void> }

async function runStudy(specs: SiteSpec[], threshold: number, extra: Record<string, unknown> = {}) {
  const sites = specs.map((s) => s.site);
  const dataDir = mkdtempSync(join(tmpdir(), 'secagg-'));
  const file = coordinatorFileSchema.parse({
    study: {
      id: 'sa', rounds: 1, min_sites: threshold, sites, round_deadline_s: 60, join_timeout_s: 30, reconnect_grace_s: 0,
      outlier_norm_factor: 0, models: [{ name: 'm', architecture: 'fake' }],
      secure_aggregation: { enabled: true, threshold, quantization: Q }, ...extra,
    },
    coordinator: { listen: '127.0.0.1:0', data_dir: dataDir, insecure: true },
  });
  const h = await startCoordinator(file, { log, initialModels: async () => new Map([['m', initial]]), autoStart: false });
  handle = h;
  specs.forEach((s, k) => {
    const handler = new SiteSecAgg({ studyId: 'sa', siteId: s.site, examples: () => s.examples });
    let agent!: SiteAgent;
    agent = new SiteAgent({
      studyId: 'sa', siteId: s.site, address: `127.0.0.1:${h.port}`, credentials: grpc.credentials.createInsecure(),
      backoff: { initial_ms: 50, max_ms: 500 }, guard: new PrivacyGuard({ studyId: 'sa', siteId: s.site, log }),
      phaseHandlers: { secagg: handler.handler }, secureAggregation: handler,
    }, new WavyTrainer(s.offset, s.examples, k, s.onTrain ? () => s.onTrain!(() => agent) : undefined), log);
    agents.push(agent);
    void agent.run().catch(() => {});
  });
  const records: Record<string, unknown>[] = [];
  const orig = h.recorder.append.bind(h.recorder);
  (h.recorder as { append: typeof h.recorder.append }).append = async (r) => {
    records.push(r);
    return orig(r);
  };
  h.start();
  const outcome = await h.done;
  return { h, outcome, dataDir, records };
}

const specs6 = (): SiteSpec[] => [0.01, -0.02, 0.03, 0.015, -0.005, 0.02].map((offset, k) => ({ site: `site-${k + 1}`, offset, examples: 10 + 7 * k }));

function expectedMean(specs: SiteSpec[], included: string[]): Float64Array {
  const out = new Float64Array(N);
  let total = 0;
  specs.forEach((s, k) => {
    if (!included.includes(s.site)) return;
    const d = plainDelta(s.offset, k);
    total += s.examples;
    for (let i = 0; i < N; i++) out[i]! += s.examples * d[i]!;
  });
  for (let i = 0; i < N; i++) out[i]! /= total;
  return out;
}

function maxErr(h: CoordinatorHandle, expected: Float64Array): number {
  const g = h.store.get('m').set.data;
  let e = 0;
  for (let i = 0; i < N; i++) e = Math.max(e, Math.abs(g[i]! - initial.data[i]! - expected[i]!));
  return e;
}

describe('secure aggregation over gRPC', () => {
  it('stores only masked uploads and aggregates like FedAvg within the quantisation bound', async () => {
    const specs = specs6();
    const { h, dataDir, records } = await runStudy(specs, 4);
    const r = h.engine.results[0]!;
    expect(r.state).toBe('completed');
    // The spool: one masked upload per site, bytes near-uniform and unlike the plain update.
    const dir = join(dataDir, 'updates', 'm', 'round-1');
    const files = readdirSync(dir).filter((f) => f.endsWith('.flt'));
    expect(files).toHaveLength(6);
    for (const f of files) {
      const raw = readFileSync(join(dir, f));
      const parsed = decodeTensorFileHeader(raw, f);
      const bytes = new Uint8Array(raw.buffer, raw.byteOffset + parsed.dataOffset, N * 4);
      expect(entropyBits(bytes)).toBeGreaterThan(7.99);
      const site = (parsed.header.meta as { site: string }).site;
      const k = specs.findIndex((s) => s.site === site);
      const plain = new Uint8Array(plainDelta(specs[k]!.offset, k).buffer);
      let same = 0;
      for (let i = 0; i < bytes.length; i += 4) if (bytes[i] === plain[i] && bytes[i + 1] === plain[i + 1] && bytes[i + 2] === plain[i + 2] && bytes[i + 3] === plain[i + 3]) same++;
      expect(same).toBeLessThan(5); // chance agreement of a 32-bit word: ~N / 2^32
      expect(entropyBits(plain)).toBeLessThan(7.5);
    }
    // Aggregate = example-weighted FedAvg of the (clipped: |d| < C here) deltas within m*D/(2W).
    const W = specs.reduce((a, s) => a + s.examples, 0) / specs.reduce((a, s) => a + s.examples, 0); // weights n_k / sum n
    const bound = quantizationErrorBound(6, Q) / W + 1e-7; // + float32 rounding of the new global model
    const err = maxErr(h, expectedMean(specs, specs.map((s) => s.site)));
    expect(err).toBeLessThan(bound);
    expect(err).toBeGreaterThan(0); // quantisation is not the identity (D = ${step(Q)})
    // The study log: participants, threshold, digests of each masked upload and of the aggregate.
    const audit = records.find((x) => x.type === 'secure_aggregation') as unknown as { survivors: string[]; session: { threshold: number }; upload_digests: Record<string, string>; aggregate_sha256: string; dropped: string[] };
    expect(audit.survivors).toEqual(specs.map((s) => s.site));
    expect(audit.dropped).toEqual([]);
    expect(audit.session.threshold).toBe(4);
    expect(Object.keys(audit.upload_digests)).toHaveLength(6);
    expect(audit.aggregate_sha256).toMatch(/^[0-9a-f]{64}$/);
    // fl audit replay: re-derives the aggregate from the masked uploads and the revealed seeds.
    const rp = await replay(records, dataDir);
    expect(rp.map((x) => [x.status, x.message])).toEqual([['ok', expect.stringMatching(/unmasked with the revealed seeds/)]]);
  }, 120_000);

  it('one site killed before uploading and one after still give the exact sum of the rest', async () => {
    const specs = specs6();
    let afterAgent: (() => SiteAgent) | null = null;
    specs[1]!.onTrain = async (agent) => {
      agent().shutdown(); // killed while training: never uploads
      throw new Error('killed');
    };
    specs[4]!.onTrain = async (agent) => {
      afterAgent = agent;
    };
    const run = runStudy(specs, 4);
    // Kill site-5 as soon as its masked upload is accepted (before the unmask request).
    while (!handle) await new Promise((r) => setTimeout(r, 5));
    handle.events.subscribe((e) => {
      if (e.type === 'update_accepted' && e.site === 'site-5') afterAgent?.().shutdown();
    });
    const { h, records, dataDir } = await run;
    const r = h.engine.results[0]!;
    expect(r.state).toBe('completed_without_some_sites');
    const audit = records.find((x) => x.type === 'secure_aggregation') as unknown as { survivors: string[]; dropped: string[]; failures: { site: string }[] };
    expect(audit.dropped).toEqual(['site-2']);
    expect(audit.survivors).toContain('site-5'); // its upload is in the sum
    expect(audit.failures.map((f) => f.site)).toContain('site-5'); // but it did not unmask
    expect((await replay(records, dataDir)).map((x) => x.status)).toEqual(['ok']);
    const included = specs.map((s) => s.site).filter((s) => s !== 'site-2');
    const err = maxErr(h, expectedMean(specs, included));
    expect(err).toBeLessThan(quantizationErrorBound(5, Q) * (specs.reduce((a, s) => a + s.examples, 0) / included.reduce((a, s) => a + specs.find((x) => x.site === s)!.examples, 0)) + 1e-7);
  }, 120_000);

  it('fewer than T sites: the round fails with the reason and no unmask request goes out', async () => {
    const specs = specs6();
    for (const k of [0, 2, 3]) {
      specs[k]!.onTrain = async (agent) => {
        agent().shutdown();
        throw new Error('killed');
      };
    }
    const { h, records } = await runStudy(specs, 4, { min_sites: 3 });
    const r = h.engine.results[0]!;
    expect(r.state).toBe('failed');
    expect(r.reason).toMatch(/3 masked inputs arrived, fewer than the threshold T=4.*nothing was revealed/);
    expect(records.find((x) => x.type === 'secure_aggregation')).toBeUndefined();
  }, 120_000);
});
