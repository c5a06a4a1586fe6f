// Each seed study end to end, small enough for CI (issue 16 item 4): `fl demo --study NAME`
// (3 synthetic hospitals, mutual TLS, coordinator + site-agent processes) finishes, writes the
// study's outputs, and its report holds the paper's models on the study's endpoint: the
// population (car) and the levels (radiomics-ml, nodal-burden) change which cases are scored.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flRun } from './helpers/processes.js';
import { parseCsv } from '../shared/stats/csv.js';

interface Report {
  state: string; reason?: string;
  fitted?: Record<string, { n: number; events: number }>;
  cohorts: Record<string, { n: number; positives: number; models: Record<string, { auc: { estimate: number | null } }>; subgroups?: Record<string, { n: number; positives: number; models: Record<string, { auc: { estimate: number | null } }> }> }>;
  subgroup_analyses?: Record<string, { definition: string; missing: number; interaction: Record<string, Record<string, { auc_in: number | null; auc_out: number | null; difference: number | null; z: number | null; p: number | null }>> }>;
  table1?: { cohorts: string[]; n: Record<string, number | null>; rows: { variable: string; statistic: string; cells: Record<string, { text: string | null }> }[]; tests: Record<string, { p: number | null }>; sites_answered: string[]; reason?: string };
}

async function demo(study: string, extra: string[] = []): Promise<{ out: string; report: Report; predictions: Record<string, string>[]; manifest: (site: string) => Record<string, string>[] }> {
  const out = join(mkdtempSync(join(tmpdir(), `seed-${study}-`)), 'demo');
  const r = await flRun(['demo', '--study', study, '--out', out, '--cases-per-site', '240', '--image-size', '32', '--rounds', '1', '--epochs', '1', '--nlambda', '8', '--folds', '3', '--trees', '10', '--seed', '5', ...extra]);
  expect(r.code, r.stderr.slice(-4000)).toBe(0);
  for (const f of ['report.json', 'report.html', 'predictions.csv', 'audit/log.jsonl', 'sites/site-1/manifest.csv', 'sites/site-1/agent-state']) expect(existsSync(join(out, f)), f).toBe(true);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
  expect(report.state, report.reason).toBe('completed');
  const table = (p: string) => parseCsv(readFileSync(p, 'utf8'), p);
  return { out, report, predictions: table(join(out, 'predictions.csv')), manifest: (site) => table(join(out, 'sites', site, 'manifest.csv')) };
}

const held = (rows: Record<string, string>[]) => rows.filter((r) => r.cohort === 'test' || r.cohort === 'prospective');
const train = (rows: Record<string, string>[]) => rows.filter((r) => r.cohort === 'train');
const sites = ['site-1', 'site-2', 'site-3'];

describe('the seed studies run federated (fl demo --study)', () => {
  it('car: NSLN metastasis among 1-2 positive SLN; models c, ca, car fitted on the population only', async () => {
    const { out, report, predictions, manifest } = await demo('car');
    const all = sites.flatMap((s) => manifest(s));
    const pop = (r: Record<string, string>) => Number(r.n_positive_sln) >= 1 && Number(r.n_positive_sln) <= 2;
    // The fits saw the population's train rows and their NSLN outcome, not the label column.
    const t = train(all).filter(pop);
    expect(report.fitted!.c!.n).toBe(t.length);
    expect(report.fitted!.c!.events).toBe(t.filter((r) => Number(r.nsln_positive) >= 1).length);
    // Held-out predictions: exactly the population's held-out cases, labelled by NSLN status.
    const h = held(all).filter(pop);
    expect(predictions.length).toBe(h.length);
    expect(predictions.filter((p) => p.label === '1').length).toBe(h.filter((r) => Number(r.nsln_positive) >= 1).length);
    for (const m of ['c', 'ca', 'car', 'radscore']) expect(report.cohorts.internal_test!.models[m]!.auc.estimate).not.toBeNull();
    // Subgroups (issue 16 item 2): the sites flag each row from the manifest; each subgroup and its
    // complement hold the population's internal-test cases that meet (or fail) the condition, and the
    // interaction test compares the two AUCs printed in the subgroup tables.
    const test = all.filter((r) => r.cohort === 'test' && pop(r));
    const ih = report.cohorts.internal_test!;
    const nsln = (rs: Record<string, string>[]) => rs.filter((r) => Number(r.nsln_positive) >= 1).length;
    for (const [name, inside] of [
      ['ki67_high', (r: Record<string, string>) => Number(r.ki67) >= 14], ['ki67_low', (r: Record<string, string>) => Number(r.ki67) < 14],
      ['her2_positive', (r: Record<string, string>) => r.her2 === 'positive'], ['her2_negative', (r: Record<string, string>) => r.her2 === 'negative'],
    ] as const) {
      const known = test.filter((r) => (r[name.startsWith('ki67') ? 'ki67' : 'her2'] ?? '').trim() !== '');
      const yes = known.filter(inside), no = known.filter((r) => !inside(r));
      expect([ih.subgroups![name]!.n, ih.subgroups![name]!.positives], name).toEqual([yes.length, nsln(yes)]);
      expect([ih.subgroups![`${name} (complement)`]!.n, ih.subgroups![`${name} (complement)`]!.positives], name).toEqual([no.length, nsln(no)]);
      for (const m of ['c', 'ca', 'car']) {
        const x = report.subgroup_analyses![name]!.interaction.internal_test![m]!;
        expect(x.auc_in).toBe(ih.subgroups![name]!.models[m]!.auc.estimate);
        expect(x.auc_out).toBe(ih.subgroups![`${name} (complement)`]!.models[m]!.auc.estimate);
        expect(x.difference).toBeCloseTo(x.auc_in! - x.auc_out!, 12);
        expect(x.p).toBeGreaterThanOrEqual(0);
        expect(x.p).toBeLessThanOrEqual(1);
      }
    }
    // Table 1 from the sites' aggregates: every site answered, n per cohort and mean (SD) of age as
    // from the manifests, the models' binary inputs as n (%), P-values across cohorts.
    const t1 = report.table1!;
    expect(t1.reason).toBeUndefined();
    expect(t1.sites_answered).toEqual(sites);
    for (const c of t1.cohorts) {
      const rows = all.filter((r) => r.cohort === c);
      expect(t1.n[c]).toBe(rows.length);
      const ages = rows.map((r) => Number(r.age));
      const m = ages.reduce((x, y) => x + y, 0) / ages.length;
      const sd = Math.sqrt(ages.reduce((x, y) => x + (y - m) ** 2, 0) / (ages.length - 1));
      expect(t1.rows.find((r) => r.variable === 'age' && r.statistic === 'mean (SD)')!.cells[c]!.text).toBe(`${m.toFixed(1)} (${sd.toFixed(1)})`);
    }
    expect(t1.rows.filter((r) => r.variable === 'lvi').map((r) => r.statistic)).toEqual(expect.arrayContaining(['0', '1', 'missing']));
    expect(t1.tests.age!.p).not.toBeNull();
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/Table 1: baseline characteristics/);
  }, 120_000);

  it('nodal-burden: level 2 models see only the N+ cases, labelled N>=3', async () => {
    const { report, predictions, manifest } = await demo('nodal-burden');
    const all = sites.flatMap((s) => manifest(s));
    const t = train(all);
    expect(report.fitted!.combined_n0!.n).toBe(t.length);
    expect(report.fitted!.combined_n0!.events).toBe(t.filter((r) => Number(r.n_positive_nodes) >= 1).length);
    const nplus = t.filter((r) => Number(r.n_positive_nodes) >= 1);
    expect(report.fitted!.combined_high!.n).toBe(nplus.length);
    expect(report.fitted!.combined_high!.events).toBe(nplus.filter((r) => Number(r.n_positive_nodes) >= 3).length);
    // One row per held-out case for level 1, another (own pseudonym) per N+ held-out case for level 2.
    const h = held(all);
    const level2 = predictions.filter((p) => p.combined_high !== '');
    expect(predictions.filter((p) => p.combined_n0 !== '').length).toBe(h.length);
    expect(level2.length).toBe(h.filter((r) => Number(r.n_positive_nodes) >= 1).length);
    expect(level2.filter((p) => p.label === '1').length).toBe(h.filter((r) => Number(r.n_positive_nodes) >= 3).length);
    expect(level2.every((p) => p.combined_n0 === '')).toBe(true);
  }, 120_000);

  it('radiomics-ml: LASSO and GBDT at both endpoints', async () => {
    const { report } = await demo('radiomics-ml');
    expect(Object.keys(report.fitted!).sort()).toEqual(['gbdt_aln', 'gbdt_burden', 'lasso_aln', 'lasso_burden']);
    expect(report.fitted!.lasso_burden!.n).toBeLessThan(report.fitted!.lasso_aln!.n);
    for (const m of ['gbdt_aln', 'lasso_aln', 'gbdt_burden', 'lasso_burden']) expect(report.cohorts.internal_test!.models[m]).toBeDefined();
  }, 120_000);

  it('comb: dual-stream MobileNetV2 on B-mode + colour Doppler, only_hf, only_df and comb', async () => {
    const { report, manifest } = await demo('comb');
    expect(Object.keys(manifest('site-1')[0]!)).toEqual(expect.arrayContaining(['bmus', 'cdus']));
    expect(Object.keys(report.fitted!).sort()).toEqual(['comb', 'only_df', 'only_hf']);
    for (const m of ['dual_mnv2', 'only_hf', 'only_df', 'comb']) expect(report.cohorts.internal_test!.models[m]!.auc.estimate).not.toBeNull();
  }, 180_000);
});
