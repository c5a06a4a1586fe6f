// The report's figures per level and subgroup from a predictions table (the code the coordinator
// and `fl evaluate` share): each level on its own rows and models, checked against R (pROC's
// paired DeLong on the n = 30 data set as level 2, unpaired DeLong for the subgroup interaction on
// level 1; fixtures made by make-fixtures.R and make-table1-fixtures.R).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cohortFigures, flagMembership, levelFigures, levelsFromColumn } from './study-figures.js';
import { evaluatePredictions } from './evaluate.js';

const unpaired = (JSON.parse(readFileSync(new URL('./fixtures/table1-reference.json', import.meta.url), 'utf8')) as {
  delong_unpaired: { y1: number[]; s1: number[]; y2: number[]; s2: number[]; auc1: number; auc2: number; z: number; p: number };
}).delong_unpaired;
const fixture = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8')) as {
  data: { n30: { y: number[]; a: number[]; b: number[] } };
  reference: { n30: { positives: number; auc_a: { estimate: number; ci: [number, number] }; auc_b: { estimate: number }; delong: { z: number; p: number } } };
};
const n30 = fixture.data.n30, ref30 = fixture.reference.n30;

// Level "one": model m1 on the unpaired data (flag 1 for the first sample, 0 for the second);
// level "two": models a and b on the n = 30 data (flag missing).
const rows: Record<string, string>[] = [
  ...unpaired.y1.map((y, i) => ({ cohort: 'internal_test', label: String(y), m1: String(unpaired.s1[i]), a: '', b: '', level: 'one', high: '1' })),
  ...unpaired.y2.map((y, i) => ({ cohort: 'internal_test', label: String(y), m1: String(unpaired.s2[i]), a: '', b: '', level: 'one', high: '0' })),
  ...n30.y.map((y, i) => ({ cohort: 'internal_test', label: String(y), m1: '', a: String(n30.a[i]), b: String(n30.b[i]), level: 'two', high: '' })),
];
const o = { label: 'label', scores: ['m1', 'a', 'b'], cohortCol: 'cohort', threshold: { m1: 0.4, a: 0.5, b: 0.5 }, bootstrap: { replicates: 200, seed: 3 } };

describe('study figures per level and subgroup', () => {
  it('levels from the level column: each level\'s models are the score columns with values on its rows', () => {
    const { levels, levelOf } = levelsFromColumn(rows, 'level', o.scores);
    expect(levels).toEqual([{ name: 'one', models: ['m1'] }, { name: 'two', models: ['a', 'b'] }]);
    expect(levelOf.filter((l) => l === 'two')).toHaveLength(30);
    expect(() => levelsFromColumn(rows, 'tier', o.scores)).toThrow(/level column "tier" is missing/);
    // Whatever the row order, the level with most rows (a hierarchy's level 1) comes first.
    expect(levelsFromColumn([...rows].reverse(), 'level', o.scores).levels.map((l) => l.name)).toEqual(['one', 'two']);
  });

  it('each level is evaluated on its own rows with its own models; figures agree with R', () => {
    const declared = [{ name: 'high', definition: 'ki67 >= 14', membership: flagMembership(rows, 'high') }];
    const { levels, levelOf } = levelsFromColumn(rows, 'level', o.scores);
    const [one, two] = levelFigures(rows, o, levels, levelOf, declared);
    // Level two: n and positives of its population, paired DeLong between its two models as pROC.
    const c2 = two!.cohorts.internal_test!;
    expect([c2.n, c2.positives]).toEqual([30, ref30.positives]);
    expect(Object.keys(c2.models)).toEqual(['a', 'b']);
    expect(Math.abs(c2.models.a!.auc.estimate! - ref30.auc_a.estimate)).toBeLessThan(1e-12);
    expect(Math.abs(c2.models.a!.auc.ci![0] - ref30.auc_a.ci[0])).toBeLessThan(1e-9);
    expect(c2.comparisons.map((c) => `${c.a}/${c.b}`)).toEqual(['a/b']);
    expect(Math.abs(c2.comparisons[0]!.delong.z! - ref30.delong.z)).toBeLessThan(1e-9);
    expect(Math.abs(c2.comparisons[0]!.delong.p! - ref30.delong.p)).toBeLessThan(1e-9);
    // Its rows have no subgroup flag: every case missing, no interaction test, with the reason.
    expect(two!.subgroup_analyses!.high!.missing).toBe(30);
    expect(two!.subgroup_analyses!.high!.reason).toMatch(/no interaction test in internal_test/);
    // Level one: the interaction test of the subgroup (first sample) against its complement is R's.
    const c1 = one!.cohorts.internal_test!;
    expect(c1.n).toBe(unpaired.y1.length + unpaired.y2.length);
    expect(c1.comparisons).toEqual([]);
    const t = one!.subgroup_analyses!.high!.interaction.internal_test!.m1!;
    expect(Math.abs(t.auc_in! - unpaired.auc1)).toBeLessThan(1e-12);
    expect(Math.abs(t.z! - unpaired.z)).toBeLessThan(1e-9);
    expect(Math.abs(t.p! - unpaired.p)).toBeLessThan(1e-9);
    expect(c1.subgroups.high!.n).toBe(unpaired.y1.length);
    expect(c1.subgroups['high (complement)']!.n).toBe(unpaired.y2.length);
    // The same as evaluating the level's rows alone.
    const direct = evaluatePredictions(rows.filter((r) => r.level === 'two'), { ...o, scores: ['a', 'b'] }).cohorts.internal_test!;
    expect(c2.models.b).toEqual(direct.models.b);
    expect(c2.comparisons).toEqual(direct.comparisons);
  });

  it('without levels: the pooled cohorts with the subgroups merged in and the interaction tests', () => {
    const f = cohortFigures(rows, o, [{ name: 'high', definition: 'ki67 >= 14', membership: flagMembership(rows, 'high') }]);
    const c = f.cohorts.internal_test!;
    expect(c.n).toBe(rows.length);
    expect(Object.keys(c.subgroups)).toEqual(['high', 'high (complement)']);
    expect(f.subgroup_analyses!.high!.missing).toBe(30);
    expect(f.subgroup_analyses!.high!.definition).toBe('ki67 >= 14');
    expect(cohortFigures(rows, o).subgroup_analyses).toBeUndefined();
  });

  it('a subgroup flag is 1, 0 or missing; anything else names the row and column', () => {
    expect(flagMembership([{ f: '1' }, { f: '0' }, { f: '' }, { f: 'NA' }], 'f')).toEqual([true, false, null, null]);
    expect(() => flagMembership([{ f: '1' }, { f: 'yes' }], 'f', (i) => `line ${i + 2}`)).toThrow(/line 3, column "f": subgroup flag "yes" is not 1 or 0/);
    expect(() => flagMembership([{ g: '1' }], 'f')).toThrow(/subgroup column "f" is missing/);
  });
});
