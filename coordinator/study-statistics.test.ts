// The study statistics of a hierarchical endpoint with subgroups: report.json's `levels` (each level
// on its own rows and models, its thresholds, comparisons between its models only), valid against
// the report schema; predictions.csv with the level and 1/0/empty subgroup columns, from which
// `fl evaluate --level-col level --subgroup-flag ...` recomputes the same figures; report.html
// with a heading per level.
import { describe, expect, it } from 'vitest';
import { buildStudyStatistics, predictionsCsv, type StudyLevel, type StudyPredictionRow } from './study-statistics.js';
import { checkPooledValidation, studyReportLevels } from './study-evaluation.js';
import { levelSection } from './report-html.js';
import { levelReportSchema, subgroupAnalysesSchema } from '../shared/report/schema.js';
import { studySchema } from '../shared/config/study.js';
import { parseCsv } from '../shared/stats/csv.js';
import { studyFigures } from '../cli/commands/evaluate.js';

// A deterministic generator (no Math.random): scores related to the label with noise.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const STUDY = studySchema.parse({
  id: 's', rounds: 1, min_sites: 1,
  levels: [
    { name: 'n0_vs_nplus', title: 'N0 vs N+', outcome: { column: 'n_positive_nodes', positive_when: '>= 1' } },
    { name: 'low_vs_high', outcome: { column: 'n_positive_nodes', positive_when: '>= 3' }, population: { column: 'n_positive_sln', between: [1, 2] } },
  ],
  subgroups: [{ name: 'ki67_high', column: 'ki67', when: '>= 14' }],
  models: [{ name: 'r1', level: 'n0_vs_nplus' }, { name: 'c1' }, { name: 'r2', level: 'low_vs_high' }, { name: 'c2', level: 'low_vs_high' }],
});
const MODELS = ['r1', 'c1', 'r2', 'c2'];

function makeRows(): StudyPredictionRow[] {
  const u = lcg(11);
  const rows: StudyPredictionRow[] = [];
  for (const site of ['site-1', 'site-2']) {
    for (const siteCohort of ['test', 'prospective']) {
      const n = siteCohort === 'test' ? 60 : 30;
      for (let i = 0; i < n; i++) {
        const y = (u() < 0.4 ? 1 : 0) as 0 | 1;
        const ki = u();
        const subgroups: Record<string, boolean> = ki < 0.1 ? {} : { ki67_high: ki < 0.55 };
        const cohort = siteCohort === 'test' ? 'internal_test' : `prospective_${site}`;
        rows.push({ site, cohort, siteCohort, caseKey: `${site}-${siteCohort}-${i}`, label: y, level: 'n0_vs_nplus', subgroups, scores: { r1: y * 0.3 + u() * 0.7, c1: y * 0.5 + u() * 0.5, r2: NaN, c2: NaN } });
        if (y === 1) {
          const y2 = (u() < 0.35 ? 1 : 0) as 0 | 1;
          rows.push({ site, cohort, siteCohort, caseKey: `${site}-${siteCohort}-${i}-l2`, label: y2, level: 'low_vs_high', subgroups, scores: { r1: NaN, c1: NaN, r2: y2 * 0.2 + u() * 0.8, c2: y2 * 0.4 + u() * 0.6 } });
        }
      }
    }
  }
  return rows;
}

describe('study statistics of a hierarchical endpoint', () => {
  const rows = makeRows();
  const thresholds = { r1: 0.45, c1: 0.5, r2: 0.5, c2: 0.55 };
  const levels: StudyLevel[] = studyReportLevels(STUDY)!;
  const subgroups = [{ name: 'ki67_high', definition: 'ki67 >= 14' }];
  const stats = buildStudyStatistics(rows, MODELS, thresholds, { bootstrap: 200, seed: 5, reference: 'c1', subgroups, levels });

  it('describes each level: endpoint text as configured, its models and thresholds', () => {
    expect(levels.map((l) => [l.name, l.title, l.models])).toEqual([['n0_vs_nplus', 'N0 vs N+', ['r1', 'c1']], ['low_vs_high', 'n_positive_nodes >= 3', ['r2', 'c2']]]);
    expect(levels[1]!.endpoint).toEqual({ outcome: 'n_positive_nodes >= 3', population: 'the positives of level 1 "n0_vs_nplus" (n_positive_nodes >= 1) and n_positive_sln between 1 and 2' });
    expect(levels[0]!.endpoint.population).toBe('every case with the outcome recorded');
    expect(studyReportLevels(studySchema.parse({ id: 's', rounds: 1, min_sites: 1, models: [{ name: 'm' }], outcome: { column: 'x', positive_when: '>= 1' } }))).toBeNull();
  });

  it('report.json levels: each level on its own rows (n, positives per cohort), comparisons between its models only; schema-valid', () => {
    const ls = (stats.levels as unknown[]).map((l) => levelReportSchema.parse(l));
    expect(ls.map((l) => [l.level, l.name, l.reference_model])).toEqual([[1, 'n0_vs_nplus', 'r1'], [2, 'low_vs_high', 'r2']]);
    expect(ls[1]!.thresholds).toEqual({ r2: 0.5, c2: 0.55 });
    for (const [k, l] of ls.entries()) {
      const mine = rows.filter((r) => r.level === l.name);
      for (const [cohort, c] of Object.entries(l.cohorts)) {
        const inCohort = mine.filter((r) => r.cohort === cohort);
        expect([c.n, c.positives], `${l.name} ${cohort}`).toEqual([inCohort.length, inCohort.filter((r) => r.label === 1).length]);
        expect(Object.keys(c.models)).toEqual(levels[k]!.models);
        expect((c.comparisons ?? []).map((x) => `${x.a}/${x.b}`)).toEqual([`${levels[k]!.models[0]}/${levels[k]!.models[1]}`]);
        expect(c.comparisons![0]!.delong.p).not.toBeNull();
      }
      expect(Object.keys(l.cohorts)[0]).toBe('internal_test');
      subgroupAnalysesSchema.parse(l.subgroup_analyses);
      const known = mine.filter((r) => r.cohort === 'internal_test' && r.subgroups?.ki67_high !== undefined);
      expect(l.cohorts.internal_test!.subgroups!.ki67_high!.n).toBe(known.filter((r) => r.subgroups!.ki67_high).length);
      expect(l.subgroup_analyses!.ki67_high!.missing).toBe(mine.length - mine.filter((r) => r.subgroups?.ki67_high !== undefined).length);
    }
    // The pooled cohorts keep their shape (every row, every model).
    expect((stats.cohorts as Record<string, { n: number }>).internal_test!.n).toBe(rows.filter((r) => r.cohort === 'internal_test').length);
  });

  it('predictions.csv carries the level and the subgroup flags; fl evaluate recomputes every level and subgroup figure from it', () => {
    const csv = predictionsCsv(rows, MODELS, { subgroups: ['ki67_high'], level: true });
    const table = parseCsv(csv, 'predictions.csv');
    expect(Object.keys(table[0]!)).toEqual(['site', 'cohort', 'case_key', 'label', ...MODELS, 'level', 'ki67_high']);
    expect(new Set(table.map((r) => r.ki67_high))).toEqual(new Set(['1', '0', '']));
    const again = studyFigures(table, { label: 'label', scores: MODELS, threshold: thresholds, cohortCol: 'cohort', proportionCi: 'wilson', bootstrap: { replicates: 200, seed: 5 } }, ['ki67_high'], 'level');
    const strip = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v) => (k === 'definition' ? undefined : v)));
    expect(strip(again.cohorts)).toEqual(strip(stats.cohorts));
    expect(strip(again.subgroup_analyses)).toEqual(strip(stats.subgroup_analyses));
    const ls = stats.levels as { cohorts: unknown; subgroup_analyses: unknown; models: string[] }[];
    expect(again.levels!.map((l) => l.models)).toEqual(ls.map((l) => l.models));
    again.levels!.forEach((l, k) => {
      expect(strip(l.cohorts)).toEqual(strip(ls[k]!.cohorts));
      expect(strip(l.subgroup_analyses)).toEqual(strip(ls[k]!.subgroup_analyses));
    });
    // A study with one endpoint and no subgroups: the columns as before.
    expect(predictionsCsv(rows.slice(0, 1), MODELS).split('\n')[0]).toBe('site,cohort,case_key,label,r1,c1,r2,c2');
  });

  it('report.html: a heading per level with its endpoint, population n per cohort and the level\'s tables', () => {
    const l = levelReportSchema.parse((stats.levels as unknown[])[1]);
    const html = levelSection(l);
    expect(html).toMatch(/<b>Outcome:<\/b> n_positive_nodes &gt;= 3; <b>population:<\/b> the positives of level 1/);
    expect(html).toMatch(/r2 \(threshold 0\.5000\), c2 \(threshold 0\.5500\)/);
    expect(html).toMatch(/<h3>Level 2 \(low_vs_high\): internal_test<\/h3>/);
    expect(html).toMatch(/Level 2, Table 2\. internal_test: estimates/);
    expect(html).toMatch(/r2 vs c2/);
    expect(html).toMatch(/subgroup interaction tests/);
    const n = l.cohorts.internal_test!.n;
    expect(html).toContain(`<tr><td>internal_test</td><td>${n}</td>`);
  });

  it('the cohort rules on the pooled validation cases: a level with one class stops the study naming the level and cohort', () => {
    const ok = { r1: { n: 50, positives: 20 }, r2: { n: 20, positives: 6 } };
    expect(() => checkPooledValidation(STUDY, (m) => ok[m as 'r1' | 'r2'], ['site-1', 'site-2'])).not.toThrow();
    const none = { r1: { n: 50, positives: 20 }, r2: { n: 7, positives: 0 } };
    expect(() => checkPooledValidation(STUDY, (m) => none[m as 'r1' | 'r2'], ['site-1', 'site-2']))
      .toThrow(/the pooled validation predictions of site-1, site-2: .*\n.*level "low_vs_high" .*cohort validation: 7 cases, 0 positive/);
    // A study on the label column has no endpoint levels to check.
    expect(() => checkPooledValidation(studySchema.parse({ id: 's', rounds: 1, min_sites: 1, models: [{ name: 'm' }] }), () => ({ n: 0, positives: 0 }), [])).not.toThrow();
  });
});
