// Tabular models in the coordinator's real study loop (in-process: gRPC on loopback, the real
// study log, site agents with the tabular.sums handler over the fixture tables of
// shared/tabular/fixtures): the fit from sums equals R's glm on the pooled rows, and a coordinator
// stopped during held-out scoring and started again does not refit - it adopts the fitted
// checkpoint and fitted.json - so the frozen digests, fitted.<model> and predictions.csv equal an
// uninterrupted run's, and the log verifies.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { startCoordinator, type CoordinatorHandle } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { SiteAgent } from '../site-agent/agent.js';
import { PrivacyGuard } from '../site-agent/privacy-guard.js';
import { createTabularHandler } from '../site-agent/tabular-handler.js';
import { getFamily } from '../shared/families/registry.js';
import { unfittedTensorSet } from '../shared/families/tabular/model.js';
import type { Cohort, SiteData, TabularTable } from '../shared/families/data.js';
import type { SiteModel } from '../shared/families/types.js';
import type { Trainer, EvaluateRequest, SumsRequest } from '../site-agent/trainer.js';
import { parseCsv } from '../shared/stats/csv.js';
import { verifyStudyLog } from '../shared/audit/verifier.js';
import { parsePublicKey } from '../shared/audit/keys.js';

const log = pino({ level: 'silent' });
const ref = JSON.parse(readFileSync(new URL('../shared/tabular/fixtures/reference.json', import.meta.url), 'utf8'));
const SITES = ['main_a', 'main_b', 'main_c'];
const CLIN = ['age', 'tumor_size_mm', 'ki67', 'aus_positive'];

/** The fixture rows are the `train` cohort; validation and test cases are derived, never summed. */
function siteData(name: string): SiteData {
  const rows = parseCsv(readFileSync(new URL(`../shared/tabular/fixtures/sites/${name}.csv`, import.meta.url), 'utf8'), name);
  const derived = (cohort: string, from: number, to: number) => rows.slice(from, to).map((r, i) => ({ ...r, case_id: `${cohort}-${name}-${i}`, cohort, age: String(Number(r.age) + 1) }));
  const all: Record<string, string>[] = [...rows.map((r) => ({ ...r, cohort: 'train' })), ...derived('validation', 0, 30), ...derived('test', 30, 60)];
  const num = (v: string | undefined) => (v === undefined || v.trim() === '' || v === 'NA' ? NaN : Number(v));
  const part = (cohort: Cohort): TabularTable => {
    const rs = all.filter((r) => r.cohort === cohort);
    return { cohort, caseIds: rs.map((r) => r.case_id!), labels: Float64Array.from(rs, (r) => num(r.ln_metastasis)), columns: new Map(CLIN.map((h) => [h, Float64Array.from(rs, (r) => num(r[h]))])) };
  };
  return { site: name, async images() { throw new Error('no images'); }, async table() { return { forTraining: () => part('train') as TabularTable & { cohort: 'train' }, forEvaluation: part }; } };
}

/** A site trainer for tabular models only: sums and scores through the family; held-out scoring can be held back. */
class TabularSiteTrainer implements Trainer {
  readonly backend = 'fake';
  sumsCalls = 0;
  heldOutCalls = 0;
  gate: Promise<void> | null = null;
  private readonly bound = new Map<string, Promise<SiteModel>>();
  constructor(private readonly data: SiteData) {}
  cohortCounts() { return { train: 100, validation: 30, test: 30 }; }
  async train(): Promise<never> { throw new Error('no image models here'); }
  private model(req: { model: string; family?: string; architecture: string; config: Record<string, unknown> }) {
    let m = this.bound.get(req.model);
    if (!m) { m = getFamily(req.family ?? req.architecture).openSite({ name: req.model, architecture: req.architecture, config: req.config }, this.data); this.bound.set(req.model, m); }
    return m;
  }
  async sums(req: SumsRequest) { this.sumsCalls++; return (await this.model(req)).sums!(req.request); }
  async evaluate(req: EvaluateRequest) {
    if (req.cohorts.includes('test')) { this.heldOutCalls++; if (this.gate) await this.gate; }
    return (await this.model(req)).score(req.weights, req.cohorts as Cohort[]);
  }
}

let handle: CoordinatorHandle | null = null;
let agents: SiteAgent[] = [];
afterEach(async () => {
  for (const a of agents) a.shutdown();
  agents = [];
  await handle?.close();
  handle = null;
});

function config(dataDir: string, port = 0) {
  return coordinatorFileSchema.parse({
    study: {
      id: 'tab', rounds: 1, min_sites: 3, round_deadline_s: 60, join_timeout_s: 30, reconnect_grace_s: 5, sites: SITES,
      models: [{ name: 'clinical', family: 'logistic', inputs: { columns: CLIN } }],
      cohorts: { held_out: ['test'] },
      evaluation: { bootstrap: 50, deadline_s: 60, threshold: { rule: 'youden' } },
    },
    coordinator: { listen: `127.0.0.1:${port}`, data_dir: dataDir, insecure: true },
  });
}

async function start(dir: string, port = 0): Promise<CoordinatorHandle> {
  handle = await startCoordinator(config(dir, port), { log, initialModels: async () => new Map([['clinical', unfittedTensorSet()]]) });
  return handle;
}

function startSites(port: number, trainers: TabularSiteTrainer[], dir: string): SiteAgent[] {
  return SITES.map((site, i) => {
    const a = new SiteAgent({
      studyId: 'tab', siteId: site, address: `127.0.0.1:${port}`, credentials: grpc.credentials.createInsecure(),
      backoff: { initial_ms: 50, max_ms: 300 }, pseudonymSecret: `secret-of-${site}-0123456789`,
      freezeFile: join(dir, 'sites', site, 'frozen.jsonl'),
      guard: new PrivacyGuard({ studyId: 'tab', siteId: site, log }),
      phaseHandlers: { tabular: createTabularHandler(trainers[i]!, log) },
    }, trainers[i]!, log);
    agents.push(a);
    return a;
  });
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
type Fitted = { terms: { term: string; estimate: number; std_error: number }[]; fit_ms: number; n: number; round_trips: number; digest: string };
const withoutTime = (f: Record<string, Fitted>) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { ...v, fit_ms: 0 }]));

describe('tabular models in the study loop', () => {
  it('fit over gRPC equals R glm; a coordinator stopped during held-out scoring resumes without refitting, same results', async () => {
    // Uninterrupted.
    const refDir = mkdtempSync(join(tmpdir(), 'tab-ref-'));
    const h0 = await start(refDir);
    const refTrainers = SITES.map((s) => new TabularSiteTrainer(siteData(s)));
    const refRuns = startSites(h0.port, refTrainers, refDir).map((a) => a.runUntilEnd());
    const out0 = await h0.done;
    expect(out0.state, out0.reason).toBe('completed');
    await Promise.all(refRuns);
    const fitted0 = (out0.report as unknown as { fitted: Record<string, Fitted> }).fitted;
    const clinical = fitted0.clinical!;
    expect(clinical.n).toBe(ref.main.glm.n);
    clinical.terms.forEach((t, i) => {
      const r = ref.main.glm.terms[i];
      expect(t.term).toBe(r.term);
      expect(Math.abs(t.estimate - r.estimate)).toBeLessThan(1e-6 * Math.max(1, Math.abs(r.estimate)));
      expect(Math.abs(t.std_error - r.std_error)).toBeLessThan(1e-6 * Math.max(1, Math.abs(r.std_error)));
    });
    expect(refTrainers[0]!.sumsCalls).toBe(clinical.round_trips);
    await h0.close();
    handle = null;
    agents = [];

    // Interrupted during held-out scoring, then started again on the same port.
    const dir = mkdtempSync(join(tmpdir(), 'tab-lc-'));
    const trainers = SITES.map((s) => new TabularSiteTrainer(siteData(s)));
    let release!: () => void;
    trainers[2]!.gate = new Promise<void>((r) => (release = r));
    const h1 = await start(dir);
    const port = h1.port;
    const runs = startSites(port, trainers, dir).map((a) => a.runUntilEnd());
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (existsSync(join(dir, 'evaluation', 'held-out', 'main_a.json')) && existsSync(join(dir, 'evaluation', 'held-out', 'main_b.json'))) { clearInterval(t); resolve(); }
      }, 20);
    });
    h1.stop('signal SIGTERM', { resumable: true });
    expect((await h1.done).state).toBe('stopped');
    await h1.close();
    handle = null;
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).state.phase).toBe('evaluating');
    const sumsBefore = trainers.map((t) => t.sumsCalls);

    release();
    const h2 = await start(dir, port);
    const out2 = await h2.done;
    expect(out2.state, out2.reason).toBe('completed');
    await Promise.all(runs);
    expect(trainers.map((t) => t.sumsCalls)).toEqual(sumsBefore); // no refit
    const r2 = out2.report as unknown as { fitted: Record<string, Fitted>; frozen_models: { digest: string; threshold: number }[] };
    expect(withoutTime(r2.fitted)).toEqual(withoutTime(fitted0));
    expect(r2.frozen_models.map((f) => [f.digest, f.threshold])).toEqual((out0.report as unknown as typeof r2).frozen_models.map((f) => [f.digest, f.threshold]));
    expect(r2.frozen_models[0]!.digest).toBe(clinical.digest);
    expect(sha(join(dir, 'predictions.csv'))).toBe(sha(join(refDir, 'predictions.csv')));
    const recs = readFileSync(join(dir, 'audit', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; stage?: string });
    expect(recs.filter((x) => x.type === 'models_frozen').map((x) => x.stage ?? 'evaluation')).toEqual(['fitted_from_sums', 'evaluation']);
    const verified = verifyStudyLog({
      log: readFileSync(join(dir, 'audit', 'log.jsonl')), heads: readFileSync(join(dir, 'audit', 'heads.jsonl')),
      publicKey: parsePublicKey(readFileSync(join(dir, 'audit', 'coordinator.pub'), 'utf8'), 'coordinator.pub'),
    });
    expect(verified.failure).toBeNull();
  }, 120_000);
});
