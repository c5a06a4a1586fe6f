import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { delongUnpaired, subgroupAnalyses } from './subgroups.js';
import { evaluatePredictions } from './evaluate.js';

const ref = (JSON.parse(readFileSync(new URL('./fixtures/table1-reference.json', import.meta.url), 'utf8')) as {
  delong_unpaired: { y1: number[]; s1: number[]; y2: number[]; s2: number[]; auc1: number; auc2: number; z: number; p: number };
}).delong_unpaired;

describe('subgroup analyses', () => {
  it('DeLong on independent samples agrees with R', () => {
    const t = delongUnpaired(ref.y1, ref.s1, ref.y2, ref.s2);
    expect(t.auc_in).toBeCloseTo(ref.auc1, 12);
    expect(t.auc_out).toBeCloseTo(ref.auc2, 12);
    expect(Math.abs(t.z! - ref.z)).toBeLessThan(1e-9);
    expect(Math.abs(t.p! - ref.p)).toBeLessThan(1e-9);
  });

  it('each subgroup and its complement get every figure; the interaction test compares them; missing cells are in neither', () => {
    const rows = [
      ...ref.y1.map((y, i) => ({ label: String(y), m: String(ref.s1[i]), ki67: '30', cohort: 'test' })),
      ...ref.y2.map((y, i) => ({ label: String(y), m: String(ref.s2[i]), ki67: '5', cohort: 'test' })),
      { label: '1', m: '0.9', ki67: 'NA', cohort: 'test' },
    ];
    const membership = rows.map((r) => (r.ki67 === 'NA' ? null : Number(r.ki67) >= 14));
    const o = { label: 'label', scores: ['m'], cohortCol: 'cohort', threshold: 0.4, bootstrap: { replicates: 0 } };
    const a = subgroupAnalyses(rows, o, [{ name: 'ki67_high', definition: 'ki67 >= 14', membership }]).ki67_high!;
    expect(a.missing).toBe(1);
    const c = a.cohorts.test!;
    expect(c.in.n).toBe(80);
    expect(c.out.n).toBe(70);
    const direct = evaluatePredictions(rows.slice(0, 80), o).cohorts.test!;
    expect(c.in.models.m!.npv).toEqual(direct.models.m!.npv);
    expect(c.in.models.m!.sensitivity.estimate).toBe(direct.models.m!.sensitivity.estimate);
    expect(Math.abs(c.interaction.m!.p! - ref.p)).toBeLessThan(1e-9);
  });
});
