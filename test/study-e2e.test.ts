// The lead study end to end, small enough for CI: `fl demo` (3 synthetic hospitals, mutual TLS,
// ddfn + gsus_only + ceus_only trained federated, selection and threshold on federated validation,
// freeze, held-out scoring at the sites), then the checks an auditor and a statistician would make:
// the study log verifies (freeze before evaluation), every aggregate replays from the stored
// updates, and `fl evaluate` on predictions.csv reproduces the report's figures exactly.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flRun } from './helpers/processes.js';
import { parseStudyReport } from '../shared/report/schema.js';

describe('lead study end to end', () => {
  it('runs the demo study and its report is reproducible and audited', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'e2e-')), 'demo');
    const demo = await flRun(['demo', '--out', out, '--cases-per-site', '60', '--rounds', '2', '--image-size', '32', '--epochs', '1', '--seed', '5']);
    expect(demo.code, demo.stderr.slice(-3000)).toBe(0);
    for (const f of ['report.json', 'report.html', 'predictions.csv', 'models/ddfn.flt', 'models/gsus_only.flt', 'models/ceus_only.flt', 'audit/log.jsonl']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(demo.stderr).toMatch(/internal_test\s+ddfn/); // the paper-style table

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    parseStudyReport(report); // report.json fits its contract (shared/report/schema.ts)
    expect(report.state).toBe('completed');
    expect(Object.keys(report.cohorts)).toEqual(['internal_test', 'prospective_site-1', 'prospective_site-2', 'prospective_site-3']);
    const it = report.cohorts.internal_test;
    for (const m of ['ddfn', 'gsus_only', 'ceus_only']) {
      expect(it.models[m].auc.method).toBe('delong');
      expect(it.models[m].threshold).toBe(report.thresholds[m]);
      for (const k of ['sensitivity', 'specificity', 'npv', 'accuracy']) expect(it.models[m][k]).toHaveProperty('ci');
    }
    const pairs = it.comparisons.map((c: { a: string; b: string }) => [c.a, c.b].sort().join('|'));
    expect(pairs).toEqual(expect.arrayContaining(['ddfn|gsus_only', 'ceus_only|ddfn']));
    for (const c of it.comparisons) {
      expect(c.delong).toHaveProperty('p');
      const boot = c.bootstrap ?? c; // paired bootstrap P-values of the NPV and specificity differences
      expect(boot.npv_difference).toHaveProperty('p');
      expect(boot.specificity_difference).toHaveProperty('p');
    }
    expect(Object.keys(report.cross_site_auc).sort()).toEqual(['site-1', 'site-2', 'site-3']);
    expect(report.per_site['site-1/test']).toBeDefined();
    expect(report.rounds.every((r: { models: Record<string, { metrics: { val_auc?: number } }> }) => Number.isFinite(r.models.ddfn!.metrics.val_auc))).toBe(true);
    expect(report.frozen_models.map((f: { model: string }) => f.model)).toEqual(['ddfn', 'gsus_only', 'ceus_only']);

    const csv = readFileSync(join(out, 'predictions.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('site,cohort,case_key,label,ddfn,gsus_only,ceus_only');
    expect(csv.length - 1).toBe(Object.values(report.cohorts).reduce((n: number, c) => n + (c as { n: number }).n, 0));
    expect(csv.slice(1).every((l) => /^site-\d,(internal_test|prospective_site-\d),[0-9a-f]{64},[01],/.test(l))).toBe(true);

    // fl evaluate on predictions.csv with the report's thresholds reproduces every figure.
    const thresholds = Object.entries(report.thresholds).map(([m, t]) => `${m}=${t}`).join(',');
    const ev = await flRun(['evaluate', '--predictions', join(out, 'predictions.csv'), '--label', 'label', '--score', 'ddfn', '--score', 'gsus_only', '--score', 'ceus_only',
      '--threshold', thresholds, '--cohort-col', 'cohort', '--bootstrap', '1000', '--seed', '5', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).cohorts).toEqual(report.cohorts);

    // The auditor: the log verifies (including freeze before evaluation) and every aggregate replays.
    const verify = await flRun(['audit', 'verify', join(out, 'audit')]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/intact/);
    expect(verify.stdout).toMatch(/co-signed by .*site-1/);
    const log = readFileSync(join(out, 'audit', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    const frozenAt = log.findIndex((r) => r.type === 'models_frozen');
    const firstEval = log.findIndex((r) => r.type === 'evaluation_requested');
    expect(frozenAt).toBeGreaterThan(0);
    expect(firstEval).toBeGreaterThan(frozenAt);
    const replay = await flRun(['audit', 'replay', join(out, 'audit'), '--updates', join(out, 'coordinator', 'updates')]);
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    expect(replay.stdout.match(/OK/g)?.length).toBe(6); // 2 rounds x 3 models
  }, 600_000);

  it('with privacy: aggregate only counts leave the sites and the report says which figures are unavailable', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'e2e-agg-')), 'demo');
    const demo = await flRun(['demo', '--out', out, '--cases-per-site', '48', '--rounds', '1', '--image-size', '32', '--epochs', '1', '--seed', '6', '--privacy', 'aggregate']);
    expect(demo.code, demo.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    parseStudyReport(report); // report.json fits its contract (shared/report/schema.ts)
    expect(existsSync(join(out, 'predictions.csv'))).toBe(false);
    expect(report.unavailable.privacy).toBe('aggregate');
    expect(report.unavailable.figures).toEqual(expect.arrayContaining(['AUC 95% CI (DeLong)', 'paired bootstrap P-values', 'predictions.csv']));
    const m = report.cohorts.internal_test.models.ddfn;
    expect(m.auc.ci).toBeNull();
    expect(m.auc.reason).toMatch(/privacy: aggregate/);
    expect(m.accuracy.ci).toHaveLength(2);
    expect(m.npv).toHaveProperty("method", "wilson");
    const { tp, fp, tn, fn } = m.confusion;
    expect(tp + fp + tn + fn).toBe(m.n);
    expect(m.decision_curve[14].threshold).toBe(0.15);
    const log = readFileSync(join(out, 'audit', 'log.jsonl'), 'utf8');
    expect(log).toMatch(/"type":"evaluation_result"/);
    expect((await flRun(['audit', 'verify', join(out, 'audit')])).code).toBe(0);
  }, 600_000);
});
