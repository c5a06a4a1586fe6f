// Each seed study end to end, small enough for CI (issue 16 item 4): `fl demo --study NAME`
// (3 synthetic hospitals, mutual TLS, coordinator + site-agent processes) finishes, writes the
// study's outputs, and its report holds the paper's models on the study's endpoint: the
// population (car) and the levels (radiomics-ml, nodal-burden) change which cases are scored.
// report.json fits the zod schema; `fl evaluate` recomputes its subgroup and per-level figures from
// predictions.csv (subgroup and level columns) to 1e-9.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flRun } from './helpers/processes.js';
import { parseCsv } from '../shared/stats/csv.js';
import { parseStudyReport, type StudyReport } from '../shared/report/schema.js';

interface Report {
  state: string; reason?: string;
  fitted?: Record<string, { n: number; events: number }>;
  cohorts: Record<string, { n: number; positives: number; models: Record<string, { auc: { estimate: number | null } }>; subgroups?: Record<string, { n: number; positives: number; models: Record<string, { auc: { estimate: number | null } }> }> }>;
  subgroup_analyses?: Record<string, { definition: string; missing: number; interaction: Record<string, Record<string, { auc_in: number | null; auc_out: number | null; difference: number | null; z: number | null; p: number | null }>> }>;
  table1?: { cohorts: string[]; n: Record<string, number | null>; rows: { variable: string; statistic: string; cells: Record<string, { text: string | null }> }[]; tests: Record<string, { p: number | null }>; sites_answered: string[]; reason?: string };
}

async function demo(study: string, extra: string[] = []): Promise<{ out: string; report: Report; predictions: Record<string, string>[]; manifest: (site: string) => Record<string, string>[]; stderr: string }> {
  const out = join(mkdtempSync(join(tmpdir(), `seed-${study}-`)), 'demo');
  const r = await flRun(['demo', '--study', study, '--out', out, '--cases-per-site', '240', '--image-size', '32', '--rounds', '1', '--epochs', '1', '--nlambda', '8', '--folds', '3', '--trees', '10', '--seed', '5', ...extra]);
  expect(r.code, r.stderr.slice(-4000)).toBe(0);
  for (const f of ['report.json', 'report.html', 'predictions.csv', 'audit/log.jsonl', 'sites/site-1/manifest.csv', 'sites/site-1/agent-state']) expect(existsSync(join(out, f)), f).toBe(true);
  const raw = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as unknown;
  const report = raw as Report;
  expect(report.state, report.reason).toBe('completed');
  // The report.json contract (shared/report/schema.ts), levels included.
  parseStudyReport(raw, join(out, 'report.json'));
  const table = (p: string) => parseCsv(readFileSync(p, 'utf8'), p);
  return { out, report, predictions: table(join(out, 'predictions.csv')), manifest: (site) => table(join(out, 'sites', site, 'manifest.csv')), stderr: r.stderr };
}

/**
 * `fl evaluate` on the demo's predictions.csv with the report's thresholds, the study's bootstrap
 * (1000 replicates, seed 5 as given to the demo) and its subgroup and level columns; every number of
 * the report's cohorts, subgroup_analyses and levels is recomputed to 1e-9. Returns how many.
 */
async function reproduce(out: string, report: StudyReport, subgroups: readonly string[], levels: boolean): Promise<number> {
  const models = Object.keys(report.thresholds!);
  const r = await flRun(['evaluate', '--predictions', join(out, 'predictions.csv'), '--label', 'label', '--score', models.join(','),
    '--threshold', models.map((m) => `${m}=${report.thresholds![m]}`).join(','), '--cohort-col', 'cohort', '--bootstrap', '1000', '--seed', '5',
    ...(subgroups.length ? ['--subgroup-flag', subgroups.join(',')] : []), ...(levels ? ['--level-col', 'level'] : []), '--json']);
  expect(r.code, r.stderr).toBe(0);
  const again = JSON.parse(r.stdout) as { cohorts: unknown; subgroup_analyses?: unknown; levels?: { name: string; models: string[]; cohorts: unknown; subgroup_analyses?: unknown }[] };
  let n = 0;
  const same = (a: unknown, b: unknown, path: string): void => {
    if (typeof a === 'number') {
      expect(typeof b, path).toBe('number');
      expect(Math.abs(a - (b as number)), path).toBeLessThanOrEqual(1e-9);
      n++;
    } else if (Array.isArray(a)) {
      expect((b as unknown[]).length, path).toBe(a.length);
      a.forEach((x, i) => same(x, (b as unknown[])[i], `${path}[${i}]`));
    } else if (a !== null && typeof a === 'object') {
      for (const [k, v] of Object.entries(a)) if (k !== 'definition') same(v, (b as Record<string, unknown>)[k], `${path}.${k}`);
    } else expect(b, path).toBe(a);
  };
  same(report.cohorts, again.cohorts, 'cohorts');
  if (subgroups.length) same(report.subgroup_analyses, again.subgroup_analyses, 'subgroup_analyses');
  if (levels) {
    expect(again.levels!.map((l) => l.name)).toEqual(report.levels!.map((l) => l.name));
    for (const l of report.levels!) {
      const e = again.levels!.find((x) => x.name === l.name)!;
      expect(e.models).toEqual(l.models);
      same(l.cohorts, e.cohorts, `levels.${l.name}.cohorts`);
      same(l.subgroup_analyses ?? {}, e.subgroup_analyses ?? {}, `levels.${l.name}.subgroup_analyses`);
    }
  }
  return n;
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
    // Table 1 describes the study population (1-2 positive SLN with the NSLN outcome recorded), and says so.
    const t1 = report.table1!;
    expect(t1.reason).toBeUndefined();
    expect(t1.sites_answered).toEqual(sites);
    expect((t1 as unknown as { notes: string[] }).notes[0]).toMatch(/study population: n_positive_sln between 1 and 2/);
    for (const c of t1.cohorts) {
      const rows = all.filter((r) => r.cohort === c && pop(r) && (r.nsln_positive ?? '').trim() !== '' && r.nsln_positive !== 'NA');
      expect(t1.n[c]).toBe(rows.length);
      const ages = rows.map((r) => Number(r.age));
      const m = ages.reduce((x, y) => x + y, 0) / ages.length;
      const sd = Math.sqrt(ages.reduce((x, y) => x + (y - m) ** 2, 0) / (ages.length - 1));
      expect(t1.rows.find((r) => r.variable === 'age' && r.statistic === 'mean (SD)')!.cells[c]!.text).toBe(`${m.toFixed(1)} (${sd.toFixed(1)})`);
    }
    expect(t1.rows.filter((r) => r.variable === 'lvi').map((r) => r.statistic)).toEqual(expect.arrayContaining(['0', '1', 'missing']));
    expect(t1.tests.age!.p).not.toBeNull();
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/Table 1: baseline characteristics/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/<h2>internal_test<\/h2>/);
    // One endpoint: no levels section. predictions.csv has a 1/0/empty column per subgroup, and
    // fl evaluate recomputes the subgroup figures and interaction tests from it.
    expect((report as unknown as StudyReport).levels).toBeUndefined();
    const names = ['ki67_high', 'ki67_low', 'her2_positive', 'her2_negative'];
    expect(Object.keys(predictions[0]!)).toEqual(['site', 'cohort', 'case_key', 'label', 'radscore', 'c', 'ca', 'car', ...names]);
    expect(await reproduce(out, report as unknown as StudyReport, names, false)).toBeGreaterThan(1000);
  }, 180_000);

  it('nodal-burden: level 2 models see only the N+ cases, labelled N>=3; a report section per level', async () => {
    const { out, report, predictions, manifest } = await demo('nodal-burden');
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
    expect(level2.every((p) => p.level === 'low_vs_high')).toBe(true);
    // report.json levels: each level's endpoint, models, thresholds, n and positives of its own
    // population per cohort, comparisons between its two models, Ki-67 subgroups.
    const full = report as unknown as StudyReport;
    const [l1, l2] = full.levels!;
    expect([l1!.name, l1!.models, l2!.name, l2!.models]).toEqual(['n0_vs_nplus', ['radiomics_n0', 'combined_n0'], 'low_vs_high', ['radiomics_high', 'combined_high']]);
    expect(l2!.endpoint).toEqual({ outcome: 'n_positive_nodes >= 3', population: 'the positives of level 1 "n0_vs_nplus" (n_positive_nodes >= 1)' });
    expect(Object.keys(l2!.thresholds)).toEqual(['radiomics_high', 'combined_high']);
    const test = all.filter((r) => r.cohort === 'test');
    expect([l1!.cohorts.internal_test!.n, l1!.cohorts.internal_test!.positives]).toEqual([test.length, test.filter((r) => Number(r.n_positive_nodes) >= 1).length]);
    const testNplus = test.filter((r) => Number(r.n_positive_nodes) >= 1);
    expect([l2!.cohorts.internal_test!.n, l2!.cohorts.internal_test!.positives]).toEqual([testNplus.length, testNplus.filter((r) => Number(r.n_positive_nodes) >= 3).length]);
    // The synthetic images carry evidence of a high burden (shared/synth burdenEvidence), so level 2's
    // radiomics model separates N1-2 from N>=3 better than chance (without it: 0.43 in the full demo).
    const auc2 = l2!.cohorts.internal_test!.models.radiomics_high!.auc.estimate;
    console.log(`nodal-burden level 2 radiomics_high internal_test AUC ${auc2}`);
    expect(auc2).toBeGreaterThan(0.6);
    for (const l of [l1!, l2!]) {
      expect(l.cohorts.internal_test!.comparisons!.map((c) => `${c.a}/${c.b}`)).toEqual([`${l.models[0]}/${l.models[1]}`]);
      expect(Object.keys(l.cohorts.internal_test!.subgroups!)).toEqual(['ki67_high', 'ki67_high (complement)', 'ki67_low', 'ki67_low (complement)']);
      expect(Object.keys(l.subgroup_analyses!)).toEqual(['ki67_high', 'ki67_low']);
    }
    // Table 1 on level 1's population (everyone), stated in the notes.
    const t1 = full.table1 as { n: Record<string, number>; notes: string[] };
    expect(t1.n.test).toBe(test.length);
    expect(t1.notes[0]).toMatch(/level 1's population \(n0_vs_nplus/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<h2>Level 1: N0 vs N\+ \(n0_vs_nplus\)<\/h2>/);
    expect(html).toMatch(/<h2>Level 2: N1-2 vs N&gt;=3 among N\+ \(low_vs_high\)<\/h2>/);
    // The level sections replace the pooled cohorts, whose rows mix both levels' populations.
    expect(html).not.toMatch(/<h2>internal_test<\/h2>/);
    // fl evaluate recomputes every figure, per level and subgroup, from predictions.csv.
    expect(await reproduce(out, full, ['ki67_high', 'ki67_low'], true)).toBeGreaterThan(1000);
  }, 180_000);

  it('radiomics-ml: LASSO and GBDT at both endpoints', async () => {
    const { report, manifest, stderr } = await demo('radiomics-ml');
    expect(Object.keys(report.fitted!).sort()).toEqual(['gbdt_aln', 'gbdt_burden', 'lasso_aln', 'lasso_burden']);
    expect(report.fitted!.lasso_burden!.n).toBeLessThan(report.fitted!.lasso_aln!.n);
    for (const m of ['gbdt_aln', 'lasso_aln', 'gbdt_burden', 'lasso_burden']) expect(report.cohorts.internal_test!.models[m]).toBeDefined();
    // The burden level's n is the N+ held-out cases, not the pooled rows of both levels.
    const full = report as unknown as StudyReport;
    const burden = full.levels!.find((l) => l.name === 'burden')!;
    const test = sites.flatMap((s) => manifest(s)).filter((r) => r.cohort === 'test');
    expect(burden.cohorts.internal_test!.n).toBe(test.filter((r) => Number(r.n_positive_nodes) >= 1).length);
    expect(full.levels!.find((l) => l.name === 'aln')!.cohorts.internal_test!.n).toBe(test.length);
    expect(report.cohorts.internal_test!.n).toBe(burden.cohorts.internal_test!.n + test.length);
    expect(stderr).toMatch(new RegExp(`internal_test\\s+lasso_burden\\s+${burden.cohorts.internal_test!.n} `));
  }, 120_000);

  it('comb: dual-stream MobileNetV2 on B-mode + colour Doppler, only_hf, only_df and comb', async () => {
    const { report, manifest } = await demo('comb');
    expect(Object.keys(manifest('site-1')[0]!)).toEqual(expect.arrayContaining(['bmus', 'cdus']));
    expect(Object.keys(report.fitted!).sort()).toEqual(['comb', 'only_df', 'only_hf']);
    for (const m of ['dual_mnv2', 'only_hf', 'only_df', 'comb']) expect(report.cohorts.internal_test!.models[m]!.auc.estimate).not.toBeNull();
  }, 180_000);
});
