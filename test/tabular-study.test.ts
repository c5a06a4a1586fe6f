// A study with a clinical model, a Rad-score and a combined model (plus the image network whose
// score another tabular model reads) runs end to end: a real `fl coordinator` and three `fl site`
// processes over mutual TLS on `fl synth` data. The tabular models are fitted from the sites'
// sums after the image round, frozen in the study log before any held-out evaluation, scored on
// the held-out cohorts at the sites, and `report.json` carries `fitted.<model>`. The federated
// fits equal `fl fit` on the same site tables (the `train` rows of each site, radiomics extracted
// with `fl radiomics extract`, the second delineation through a copy of the manifest).
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createStudyFixture, type StudyFixture } from './helpers/study-fixture.js';
import { flRun, waitFor } from './helpers/processes.js';
import { parseCsv } from '../shared/stats/csv.js';

const SITES = ['site-1', 'site-2', 'site-3'];
const FEATURES = ['stat_mean', 'stat_var', 'stat_skew', 'stat_p10', 'stat_p90', 'morph2d_area', 'morph2d_perimeter', 'cm_contrast', 'cm_energy', 'cm_corr', 'cm_joint_entr'];
const RAD = FEATURES.map((f) => `gsus.lesion.${f}`);
const CLINICAL = ['age', 'tumor_size_mm', 'ki67'];

interface Term { term: string; estimate: number | null; std_error: number | null; z: number | null; p: number | null; ci: [number, number] | null }
interface Fitted {
  family: string; n: number; events: number; terms: Term[]; lambda: number | null; lambda_rule: string | null;
  selected: { input: string[]; icc: string[]; pearson: string[]; model: string[] };
  standardization: Record<string, { mean: number; sd: number }>; iterations: number; converged: boolean; round_trips: number; fit_ms: number;
  dropped_missing: Record<string, number>; digest: string; version: number;
}

function close(a: number | null, b: number | null, rel: number, what: string): void {
  if (a === null || b === null) { expect(a, what).toBe(b); return; }
  expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(b)));
}

/** Same structure; numbers equal to a relative tolerance. */
function deepClose(a: unknown, b: unknown, rel: number, where: string): void {
  if (typeof a === 'number' && typeof b === 'number') { close(a, b, rel, where); return; }
  if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length, `${where}.length`).toBe(b.length);
    a.forEach((x, i) => deepClose(x, b[i], rel, `${where}[${i}]`));
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    expect(Object.keys(a).sort(), where).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(a)) deepClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], rel, `${where}.${k}`);
    return;
  }
  expect(a, where).toEqual(b);
}

function sameFit(fed: Fitted, pooled: Fitted, rel: number, what: string): void {
  for (const k of ['family', 'n', 'events', 'lambda_rule', 'selected', 'converged', 'dropped_missing'] as const) expect(fed[k], `${what}.${k}`).toEqual(pooled[k]);
  expect(fed.terms.map((t) => t.term), `${what}.terms`).toEqual(pooled.terms.map((t) => t.term));
  close(fed.lambda, pooled.lambda, rel, `${what}.lambda`);
  fed.terms.forEach((t, i) => {
    const p = pooled.terms[i]!;
    close(t.estimate, p.estimate, rel, `${what} ${t.term} estimate`);
    close(t.std_error, p.std_error, rel, `${what} ${t.term} std_error`);
    close(t.z, p.z, rel, `${what} ${t.term} z`);
  });
  for (const [k, v] of Object.entries(pooled.standardization)) {
    close(fed.standardization[k]!.mean, v.mean, rel, `${what} mean ${k}`);
    close(fed.standardization[k]!.sd, v.sd, rel, `${what} sd ${k}`);
  }
}

describe('a study with tabular models', () => {
  let fx: StudyFixture | null = null;
  afterAll(() => fx?.killAll());

  it('fits a clinical model, a Rad-score and a combined model from sums, freezes them before held-out evaluation, and equals fl fit on the site tables', async () => {
    fx = await createStudyFixture({ sites: SITES, casesPerSite: 80, study: 'tabular' });
    const cfg = fx.coordinatorConfig({
      rounds: 1,
      models: [
        { name: 'ddfn', architecture: 'ddfn', config: { inputSize: 32, widths: [4, 8, 8], seed: 1 } },
        { name: 'clinical', family: 'logistic', inputs: { columns: CLINICAL } },
        { name: 'radscore', family: 'lasso_logistic', inputs: { radiomics: { modality: 'gsus', regions: ['lesion'], features: FEATURES } }, selection: { icc_min: 0.75, pearson_max: 0.9, lasso: { folds: 5, rule: 'min' } } },
        { name: 'combined', family: 'logistic', inputs: { columns: CLINICAL, scores: ['radscore'] } },
        { name: 'clinical_cnn', family: 'logistic', inputs: { columns: ['age'], scores: ['ddfn'] } },
        { name: 'deep', family: 'logistic', inputs: { columns: ['age'], deep_features: { model: 'ddfn', components: 2 } } },
        { name: 'ml', family: 'gbdt', inputs: { columns: CLINICAL }, gbdt: { rounds: 20, max_depth: 2 } },
      ],
      evaluation: { threshold: { rule: 'youden' }, bootstrap: 50, deadline_s: 240 },
    });
    const { proc, port } = await fx.startCoordinator(cfg);
    const sites = SITES.map((s) => fx!.startSite(s, port));
    await waitFor(() => proc.child.exitCode !== null, 540_000, 'the study to finish');
    expect(proc.child.exitCode, proc.stderr.slice(-4000) + sites.map((s) => s.stderr.slice(-1500)).join('\n')).toBe(0);

    const dir = join(fx.dir, 'coord');
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.state, report.reason).toBe('completed');
    const fitted = report.fitted as Record<string, Fitted>;
    expect(Object.keys(fitted)).toEqual(['clinical', 'radscore', 'combined', 'clinical_cnn', 'deep', 'ml']);
    expect(fitted.deep!.terms.map((t) => t.term)).toEqual(['(Intercept)', 'age', 'ddfn.pc1', 'ddfn.pc2']);
    expect((fitted.deep as unknown as { pca: { components: number } }).pca.components).toBe(2);
    for (const f of Object.values(fitted)) {
      for (const k of ['family', 'n', 'events', 'terms', 'lambda', 'lambda_rule', 'selected', 'standardization', 'iterations', 'converged']) expect(f).toHaveProperty(k);
    }
    expect(fitted.radscore!.selected.input).toEqual(RAD);
    expect(fitted.radscore!.lambda_rule).toBe('min');
    expect(fitted.radscore!.terms.every((t) => t.std_error === null)).toBe(true);
    // The frozen versions are the fitted ones, and held-out cohorts were scored by every model.
    const frozen = report.frozen_models as { model: string; digest: string }[];
    for (const m of Object.keys(fitted)) expect(frozen.find((f) => f.model === m)?.digest).toBe(fitted[m]!.digest);
    for (const m of ['clinical', 'radscore', 'combined', 'clinical_cnn', 'deep', 'ml']) expect(report.cohorts.internal_test.models[m].auc.estimate).toBeGreaterThan(0);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toMatch(/Tabular models fitted from sums/);
    expect(html).toMatch(/after ICC/);

    // The log: each fit (and ddfn, as a score input) frozen before any held-out evaluation.
    const log = readFileSync(join(dir, 'audit', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; stage?: string; models?: { model: string; digest: string }[] });
    const firstEval = log.findIndex((r) => r.type === 'evaluation_requested');
    expect(firstEval).toBeGreaterThan(0);
    const frozenAt = (m: string) => log.findIndex((r) => r.type === 'models_frozen' && r.models!.some((x) => x.model === m));
    for (const m of ['ddfn', 'clinical', 'radscore', 'combined', 'clinical_cnn', 'deep', 'ml']) {
      expect(frozenAt(m), m).toBeGreaterThan(0);
      expect(frozenAt(m), m).toBeLessThan(firstEval);
    }
    expect(frozenAt('radscore')).toBeLessThan(frozenAt('combined'));
    expect(log[frozenAt('ddfn')]!.stage).toBe('score_inputs');
    expect(log[frozenAt('ddfn')]!.stage).toBe('score_inputs');
    const verify = await flRun(['audit', 'verify', join(dir, 'audit')]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    // Pooled equivalence: the site tables, then `fl fit` over them.
    const files: Record<string, string> = {};
    for (const site of SITES) {
      const sdir = join(fx.dir, 'data', site);
      const manifest = readFileSync(join(sdir, 'manifest.csv'), 'utf8');
      const rows = parseCsv(manifest, 'manifest').filter((r) => r.cohort === 'train');
      // Second delineation: the same manifest with gsus_mask_2 as the mask.
      const lines = manifest.trim().split('\n');
      const head = lines[0]!.split(',');
      const [i1, i2] = [head.indexOf('gsus_mask'), head.indexOf('gsus_mask_2')];
      writeFileSync(join(sdir, 'manifest-second.csv'), lines.map((l, k) => {
        if (k === 0) return l;
        const c = l.split(',');
        c[i1] = c[i2]!;
        return c.join(',');
      }).join('\n') + '\n');
      const feats: Record<string, string>[][] = [];
      for (const [m, out] of [['manifest.csv', 'r1.csv'], ['manifest-second.csv', 'r2.csv']] as const) {
        const r = await flRun(['radiomics', 'extract', '--manifest', join(sdir, m), '--modality', 'gsus', '--region', 'lesion', '--cohort', 'train', '--out', join(fx.dir, `${site}-${out}`)]);
        expect(r.code, r.stderr).toBe(0);
        feats.push(parseCsv(readFileSync(join(fx.dir, `${site}-${out}`), 'utf8'), out));
      }
      const rs = fitted.radscore!.terms;
      const header = ['case_id', 'label', ...CLINICAL, ...RAD, ...RAD.map((f) => `${f}@mask_2`), 'radscore'];
      const body = rows.map((r) => {
        const a = feats[0]!.find((x) => x.case_id === r.case_id)!;
        const b = feats[1]!.find((x) => x.case_id === r.case_id)!;
        // The Rad-score as the site computes it: the lasso's linear predictor on the original scale.
        let eta = 0;
        for (const t of rs) eta += (t.term === '(Intercept)' ? 1 : Number(a[t.term])) * (t.estimate ?? 0);
        return [r.case_id, r.label, ...CLINICAL.map((c) => r[c]), ...RAD.map((f) => a[f]), ...RAD.map((f) => b[f]), String(eta)].join(',');
      });
      files[site] = join(fx.dir, `${site}.csv`);
      writeFileSync(files[site]!, [header.join(','), ...body].join('\n') + '\n');
    }
    const fit = async (args: string[]) => {
      const r = await flRun(['fit', ...SITES.flatMap((s) => ['--site', files[s]!]), '--outcome', 'label', '--json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Fitted;
    };
    sameFit(fitted.clinical!, await fit(['--family', 'logistic', '--columns', CLINICAL.join(',')]), 1e-6, 'clinical');
    sameFit(fitted.radscore!, await fit(['--family', 'lasso_logistic', '--columns', RAD.join(','), '--icc-pair', RAD.map((f) => `${f}:${f}@mask_2`).join(','),
      '--icc-min', '0.75', '--pearson-max', '0.9', '--folds', '5', '--rule', 'min', '--seed', '1']), 1e-6, 'radscore');
    sameFit(fitted.combined!, await fit(['--family', 'logistic', '--columns', [...CLINICAL, 'radscore'].join(',')]), 1e-6, 'combined');

    const gb = await fit(['--family', 'gbdt', '--columns', CLINICAL.join(','), '--rounds', '20', '--depth', '2']);
    const fedGb = (fitted.ml as unknown as { gbdt: { trees: unknown; baseScore: number; edges: number[][] } }).gbdt;
    const poolGb = (gb as unknown as { gbdt: { trees: unknown; baseScore: number; edges: number[][] } }).gbdt;
    expect(fedGb.edges).toEqual(poolGb.edges);
    close(fedGb.baseScore, poolGb.baseScore, 1e-12, 'gbdt base score');
    deepClose(fedGb.trees, poolGb.trees, 1e-9, 'gbdt trees');

    // Fit times and round trips, for the record.
    console.log(Object.entries(fitted).map(([m, f]) => `${m}: ${f.family}, n=${f.n}, ${f.round_trips} round trips, ${f.fit_ms} ms`).join('\n'));
    expect(existsSync(join(dir, 'predictions.csv'))).toBe(true);
  }, 600_000);

  it('a study of tabular models only: no rounds, fits from sums, aggregate-only evaluation', async () => {
    fx?.killAll();
    fx = await createStudyFixture({ sites: SITES, casesPerSite: 60, study: 'tabonly' });
    const cfg = fx.coordinatorConfig({
      rounds: 1,
      models: [
        { name: 'clinical', family: 'logistic', inputs: { columns: CLINICAL } },
        { name: 'ml', family: 'gbdt', inputs: { columns: [...CLINICAL, 'n_positive_nodes'] }, gbdt: { rounds: 10 } },
      ],
      evaluation: { threshold: { rule: 'youden' }, privacy: 'aggregate', deadline_s: 120 },
    });
    const { proc, port } = await fx.startCoordinator(cfg);
    const sites = SITES.map((s) => fx!.startSite(s, port));
    await waitFor(() => proc.child.exitCode !== null, 240_000, 'the study to finish');
    expect(proc.child.exitCode, proc.stderr.slice(-4000) + sites.map((s) => s.stderr.slice(-1500)).join('\n')).toBe(0);
    const dir = join(fx.dir, 'coord');
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(report.state, report.reason).toBe('completed');
    expect(report.rounds).toEqual([]);
    expect(Object.keys(report.fitted)).toEqual(['clinical', 'ml']);
    expect(report.final_models.clinical.version).toBe(1);
    expect(report.cohorts.internal_test.models.clinical.confusion).toBeDefined();
    expect(existsSync(join(dir, 'predictions.csv'))).toBe(false);
    const verify = await flRun(['audit', 'verify', join(dir, 'audit')]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    // No round to co-sign after: the sites co-sign the log after the fits (and pin its key before the freeze).
    expect(verify.stdout).toMatch(/co-signed by .*site-1/);
  }, 300_000);
});
