// fitTabular end to end over the simulated sites: selection funnel, CV folds, refusals, config schema.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../stats/csv.js';
import { assignFolds, design, siteDatasetFromRows } from './dataset.js';
import { fitTabular } from './fit.js';
import { parseTabularModel } from './config.js';
import { redundancyFilter } from './selection.js';
import { localTransport } from './site.js';
import { radScore } from './lasso.js';

const ref = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8'));
const load = (name: string) => siteDatasetFromRows(name, parseCsv(readFileSync(new URL(`./fixtures/sites/${name}.csv`, import.meta.url), 'utf8'), name));
const MAIN = ['main_a', 'main_b', 'main_c'].map(load);
const FEAT = Array.from({ length: 8 }, (_, j) => `f${j + 1}`);

describe('selection', () => {
  it('redundancy filter: ICC descending, ties by name, |r| > max dropped', () => {
    const r = [[1, 0.95, 0.1], [0.95, 1, 0.2], [0.1, 0.2, 1]];
    expect(redundancyFilter(['a', 'b', 'c'], r, { a: 0.8, b: 0.9, c: 0.8 }, 0.9)).toEqual(['b', 'c']);
    expect(redundancyFilter(['b', 'a', 'c'], [[1, 0.95, 0.2], [0.95, 1, 0.1], [0.2, 0.1, 1]], { a: 0.9, b: 0.9, c: 0.8 }, 0.9)).toEqual(['a', 'c']);
    expect(redundancyFilter(['a', 'b'], [[1, -0.95], [-0.95, 1]], { a: 0.9, b: 0.9 }, 0.96)).toEqual(['a', 'b']);
  });
});

describe('folds', () => {
  it('stratified within a site, deterministic in the seed, independent of row order', () => {
    const d = design(MAIN[0]!, 'ln_metastasis', ['age']);
    const f = assignFolds(d, 5, 7);
    for (const cls of [0, 1]) {
      const counts = [0, 0, 0, 0, 0];
      d.y.forEach((y, i) => { if (y === cls) counts[f[i]!]!++; });
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
    expect([...assignFolds(d, 5, 7)]).toEqual([...f]);
    expect([...assignFolds(d, 5, 8)]).not.toEqual([...f]);
    const rev = { ...d, x: [...d.x].reverse(), y: Uint8Array.from([...d.y].reverse()), ids: [...d.ids].reverse() };
    expect([...assignFolds(rev, 5, 7)].reverse()).toEqual([...f]);
  });
});

describe('fitTabular', () => {
  it('lasso_logistic with ICC pairs and CV: ICC equals R, funnel recorded, 1se >= min, Rad-score = linear predictor', async () => {
    const fitted = await fitTabular(localTransport(MAIN), {
      family: 'lasso_logistic', outcome: 'ln_metastasis', columns: FEAT,
      iccPairs: Object.fromEntries(FEAT.map((f) => [f, `${f}_r2`])), folds: 5, rule: '1se', seed: 3, nlambda: 30,
    });
    for (const f of FEAT) expect(Math.abs(fitted.icc![f]! - ref.main.icc[f])).toBeLessThan(1e-10);
    expect(fitted.selected.icc).toEqual(FEAT.filter((f) => ref.main.icc[f] >= 0.75));
    expect(fitted.selected.icc).not.toContain('f5');
    expect(fitted.lambda_1se!).toBeGreaterThanOrEqual(fitted.lambda_min!);
    expect(fitted.lambda).toBe(fitted.lambda_1se);
    expect(fitted.cv!.length).toBe(30);
    expect(fitted.terms.every((t) => t.std_error === null)).toBe(true);
    // Rad-score = linear predictor
    const row = Object.fromEntries(fitted.selected.pearson.map((f) => [f, 0.5]));
    const lp = fitted.terms.reduce((a, t) => a + t.estimate! * (t.term === '(Intercept)' ? 1 : 0.5), 0);
    expect(radScore(fitted, row)).toBeCloseTo(lp, 12);
    console.log(`lasso CV (5 folds, 30 lambdas): ${fitted.round_trips} round trips, ${fitted.fit_ms} ms`);
  });

  it('logistic: the fitted object has the report keys; a missing column is named', async () => {
    const f = await fitTabular(localTransport(MAIN), { family: 'logistic', outcome: 'ln_metastasis', columns: ['age', 'tumor_size_mm', 'ki67', 'aus_positive'] });
    expect(Object.keys(f)).toEqual(expect.arrayContaining(['family', 'n', 'events', 'terms', 'lambda', 'lambda_rule', 'selected', 'standardization', 'iterations', 'converged', 'round_trips', 'dropped_missing']));
    expect(f.terms[1]!.estimate).toBeCloseTo(ref.main.glm.terms[1].estimate, 10);
    await expect(fitTabular(localTransport(MAIN), { family: 'logistic', outcome: 'ln_metastasis', columns: ['age', 'nope'] })).rejects.toThrow(/site main_a: no column "nope"/);
  });

  it('min_cell: the refusing site is named; excluded with onRefusal = exclude', async () => {
    const sites = ['mincell_a', 'mincell_b', 'mincell_c', 'mincell_d'].map(load);
    await expect(fitTabular(localTransport(sites), { family: 'gbdt', outcome: 'ln_metastasis', columns: ['age', 'ki67'], gbdt: { rounds: 2 } })).rejects.toThrow(/mincell_d.*min_cell = 5/);
    const f = await fitTabular(localTransport(sites), { family: 'logistic', outcome: 'ln_metastasis', columns: ['age', 'tumor_size_mm', 'ki67', 'aus_positive'], onRefusal: 'exclude' });
    expect(f.excluded_sites.map((e) => e.site)).toEqual(['mincell_d']);
    expect(f.n).toBe(ref.mincell.glm.n);
    expect(f.dropped_missing.mincell_c).toBe(3);
  });
});

describe('config', () => {
  it('defaults and errors naming the field', () => {
    const m = parseTabularModel({ name: 'radscore', family: 'lasso_logistic', inputs: { radiomics: { modality: 'gsus', regions: ['lesion'] } }, selection: { lasso: { folds: 5, rule: '1se' } } });
    expect(m.selection!.icc_min).toBe(0.75);
    expect(m.selection!.pearson_max).toBe(0.9);
    expect(m.min_cell).toBe(5);
    expect(parseTabularModel({ name: 'clinical', family: 'logistic', inputs: { columns: ['age', 'tumor_size_mm', 'ki67'] } }).family).toBe('logistic');
    expect(parseTabularModel({ name: 'ml', family: 'gbdt', inputs: { columns: ['age'] } }).gbdt!.max_depth).toBe(3);
    expect(() => parseTabularModel({ name: 'x', family: 'lasso_logistic', inputs: { columns: ['a'] }, selection: { lasso: { rule: 'max' } } }, 'models[1]')).toThrow(/models\[1\]\.selection\.lasso\.rule/);
    expect(() => parseTabularModel({ name: 'x', family: 'logistic', inputs: {} }, 'models[0]')).toThrow(/models\[0\]\.inputs: name at least one input/);
    expect(() => parseTabularModel({ name: 'x', family: 'logistic', inputs: { columns: ['a'] }, gbdt: { rounds: 3 } })).toThrow(/model\.gbdt: gbdt settings given for family logistic/);
    expect(() => parseTabularModel({ name: 'x', family: 'probit', inputs: { columns: ['a'] } })).toThrow(/model\.family/);
  });
});
