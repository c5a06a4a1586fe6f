// Agreement with R (chisq.test(correct = FALSE), fisher.test, t.test, oneway.test(var.equal = TRUE),
// pchisq) on fixtures/make-table1-fixtures.R; and the site/coordinator split with min_cell.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { anovaFromSums, chiSquaredTest, fisherExact2x2, histogramQuantile, pchisqUpper, poolTable1, siteTable1, welchFromSums, type Table1Variable } from './table1.js';

type Cohort = { age: number[]; er: string[]; t_stage: string[] };
const ref = JSON.parse(readFileSync(new URL('./fixtures/table1-reference.json', import.meta.url), 'utf8')) as {
  data: Record<string, Cohort>;
  chisq_er: { table: number[][]; statistic: number; p: number };
  chisq_t: { table: number[][]; statistic: number; p: number };
  welch_age: { statistic: number; p: number };
  anova_age: { statistic: number; p: number };
  fisher: { table: number[]; p: number }[];
  pchisq: { x: number; df: number; q: number }[];
};

const rel = (a: number | null, b: number, tol = 1e-8) => {
  expect(a).not.toBeNull();
  expect(Math.abs(a! - b)).toBeLessThanOrEqual(tol * Math.abs(b) + 1e-15);
};
const sums = (x: number[]) => ({ n: x.length, sum: x.reduce((s, v) => s + v, 0), sumsq: x.reduce((s, v) => s + v * v, 0) });
const VARS: Table1Variable[] = [
  { name: 'age', column: 'age', kind: 'numeric', edges: [0, 30, 40, 45, 50, 55, 60, 70, 100] },
  { name: 'ER', column: 'er', kind: 'categorical', levels: ['negative', 'positive'] },
  { name: 'T stage', column: 't_stage', kind: 'categorical', levels: ['T1', 'T2', 'T3'] },
];

function rowsOf(cohort: string, c: Cohort) {
  return c.age.map((a, i) => ({ cohort, age: String(a), er: c.er[i]!, t_stage: c.t_stage[i]! }));
}

describe('Table 1 tests agree with R', () => {
  it('chi-squared, Fisher, Welch, ANOVA, pchisq', () => {
    for (const t of [ref.chisq_er, ref.chisq_t]) {
      const r = chiSquaredTest(t.table);
      rel(r.statistic, t.statistic, 1e-10);
      rel(r.p, t.p, 1e-8);
    }
    for (const f of ref.fisher) rel(fisherExact2x2(f.table[0]!, f.table[1]!, f.table[2]!, f.table[3]!).p, f.p, 1e-8);
    const w = welchFromSums(sums(ref.data.train!.age), sums(ref.data.test!.age));
    rel(w.statistic, ref.welch_age.statistic, 1e-8);
    rel(w.p, ref.welch_age.p, 1e-8);
    const a = anovaFromSums(['train', 'validation', 'test'].map((c) => sums(ref.data[c]!.age)));
    rel(a.statistic, ref.anova_age.statistic, 1e-8);
    rel(a.p, ref.anova_age.p, 1e-8);
    for (const q of ref.pchisq) rel(pchisqUpper(q.x, q.df), q.q, 1e-9);
  });
});

describe('Table 1 from site aggregates', () => {
  // Two sites: the cohorts of the R data split by alternate rows.
  const all = Object.entries(ref.data).flatMap(([c, d]) => rowsOf(c, d));
  const siteRows = [all.filter((_, i) => i % 2 === 0), all.filter((_, i) => i % 2 === 1)];

  it('pooled counts, means and P-values equal those of the pooled data (min_cell 1)', () => {
    const t = poolTable1(siteRows.map((r, k) => siteTable1(`site-${k + 1}`, r, VARS, 1)), VARS, ['train', 'validation', 'test']);
    expect(t.cohorts).toEqual(['train', 'validation', 'test']);
    expect(t.n).toEqual({ train: 120, validation: 40, test: 60 });
    rel(t.tests['ER']!.p, ref.chisq_er.p, 1e-8);
    rel(t.tests['T stage']!.p, ref.chisq_t.p, 1e-8);
    rel(t.tests.age!.p, ref.anova_age.p, 1e-8);
    const pos = t.rows.find((r) => r.variable === 'ER' && r.statistic === 'positive')!;
    expect(pos.cells.train!.text).toBe(`94 (${(9400 / 120).toFixed(1)}%)`);
    const age = ref.data.train!.age;
    const m = age.reduce((s, v) => s + v, 0) / age.length;
    const sd = Math.sqrt(age.reduce((s, v) => s + (v - m) ** 2, 0) / (age.length - 1));
    expect(t.rows.find((r) => r.variable === 'age' && r.statistic === 'mean (SD)')!.cells.train!.text).toBe(`${m.toFixed(1)} (${sd.toFixed(1)})`);
    expect(Object.keys(t.by_site)).toEqual(['site-1', 'site-2']);
    expect(t.by_site['site-1']!.n.train).toBe(60);
  });

  it('median [IQR] from the pooled histogram lies within one bin of the exact quantile', () => {
    const age = ref.data.train!.age;
    const t = poolTable1(siteRows.map((r, k) => siteTable1(`s${k}`, r, VARS, 1)), VARS);
    const text = t.rows.find((r) => r.variable === 'age' && r.statistic.startsWith('median'))!.cells.train!.text!;
    const med = Number(text.split(' ')[0]);
    const sorted = [...age].sort((a, b) => a - b);
    const exact = (sorted[59]! + sorted[60]!) / 2;
    expect(Math.abs(med - exact)).toBeLessThan(5); // bins of 5 years around the median
    expect(histogramQuantile([0, 10], [4], 0.5)).toBe(5);
    expect(histogramQuantile([0, 10, 20], [0, 0], 0.5)).toBeNull();
  });

  it('min_cell: small counts leave the site as null, and a P-value that needs one is null with the reason', () => {
    const rows = [
      ...Array.from({ length: 12 }, (_, i) => ({ cohort: 'train', er: i < 2 ? 'negative' : 'positive', age: String(40 + i), t_stage: 'T1' })),
      ...Array.from({ length: 12 }, (_, i) => ({ cohort: 'test', er: i < 6 ? 'negative' : 'positive', age: String(45 + i), t_stage: 'T2' })),
    ];
    const s = siteTable1('site-1', rows, VARS, 5);
    const er = s.cohorts.train!.variables.ER!;
    expect(er.kind === 'categorical' && er.counts.negative).toBeNull();
    expect(JSON.stringify(s)).not.toMatch(/"negative":2\b/);
    const t = poolTable1([s], VARS);
    expect(t.tests.ER).toMatchObject({ p: null, reason: expect.stringMatching(/min_cell \(5\)/) });
    expect(t.rows.find((r) => r.variable === 'ER' && r.statistic === 'negative')!.cells.train).toMatchObject({ text: null, reason: expect.stringMatching(/suppressed/) });
    expect(t.tests['T stage']!.p).not.toBeNull(); // 12 / 12, nothing suppressed
  });

  it('a bin suppressed at one site stays suppressed when pooled: the median is marked approximate (*)', () => {
    const V: Table1Variable[] = [{ name: 'age', column: 'age', kind: 'numeric', edges: [40, 50, 60] }];
    const a = siteTable1('a', Array.from({ length: 12 }, (_, i) => ({ cohort: 'train', age: String(i < 2 ? 41 : 55) })), V, 5);
    const b = siteTable1('b', Array.from({ length: 12 }, (_, i) => ({ cohort: 'train', age: String(i < 6 ? 42 : 56) })), V, 5);
    const t = poolTable1([a, b], V);
    // Site a's 2 values in [40, 50) are suppressed; the pooled bin is unknown, not 6.
    expect(t.rows.find((r) => r.statistic === 'median [IQR] (histogram)')!.cells.train!.text).toMatch(/\*$/);
    // Every bin suppressed: the median is suppressed (with that reason), not "no values".
    const V3: Table1Variable[] = [{ name: 'age', column: 'age', kind: 'numeric', edges: [40, 50, 60, 70] }];
    const c = siteTable1('c', Array.from({ length: 12 }, (_, i) => ({ cohort: 'train', age: String(41 + 10 * (i % 3)) })), V3, 5);
    expect(poolTable1([c], V3).rows.find((r) => r.statistic === 'median [IQR] (histogram)')!.cells.train).toMatchObject({ text: null, reason: expect.stringMatching(/min_cell/) });
  });
});
