// Federated fits across the simulated sites of fixtures/make-fixtures.R against R's glm / glmnet /
// anova / eigen on the POOLED rows (values committed in fixtures/reference.json; R is not needed).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../stats/csv.js';
import { siteDatasetFromRows, type SiteDataset } from './dataset.js';
import { Federation } from './federation.js';
import { fitLogistic } from './logistic.js';
import { fitLasso } from './lasso.js';
import { localTransport } from './site.js';
import { pooledCorrelation, pooledIcc, pooledMoments, pooledPca } from './stats.js';

const ref = JSON.parse(readFileSync(new URL('./fixtures/reference.json', import.meta.url), 'utf8'));
const OUT = 'ln_metastasis';
const CLIN = ['age', 'tumor_size_mm', 'ki67', 'aus_positive'];
const FEAT = Array.from({ length: 8 }, (_, j) => `f${j + 1}`);

export function loadSite(name: string): SiteDataset {
  const text = readFileSync(new URL(`./fixtures/sites/${name}.csv`, import.meta.url), 'utf8');
  return siteDatasetFromRows(name, parseCsv(text, `${name}.csv`));
}
const fed = (scenario: string, onRefusal: 'fail' | 'exclude' = 'fail') =>
  new Federation(localTransport((ref[scenario].sites as string[]).map(loadSite)), onRefusal);

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}

interface RTerm { term: string; estimate: number | null; std_error?: number; z?: number; p?: number; ci?: [number, number]; aliased?: boolean }

function expectGlm(fit: Awaited<ReturnType<typeof fitLogistic>>, r: { n: number; events: number; terms: RTerm[]; deviance: number; null_deviance: number; aic: number }) {
  expect(fit.n).toBe(r.n);
  expect(fit.events).toBe(r.events);
  expect(fit.terms.map((t) => t.term)).toEqual(r.terms.map((t) => t.term));
  r.terms.forEach((rt, i) => {
    const t = fit.terms[i]!;
    if (rt.aliased) { expect(t.estimate).toBeNull(); return; }
    expect(rel(t.estimate!, rt.estimate!)).toBeLessThan(1e-6);
    expect(rel(t.std_error!, rt.std_error!)).toBeLessThan(1e-6);
    expect(rel(t.z!, rt.z!)).toBeLessThan(1e-6);
    expect(rel(t.p!, rt.p!)).toBeLessThan(1e-6);
    expect(rel(t.ci![0], rt.ci![0])).toBeLessThan(1e-6);
    expect(rel(t.ci![1], rt.ci![1])).toBeLessThan(1e-6);
  });
  expect(rel(fit.deviance, r.deviance)).toBeLessThan(1e-9);
  expect(rel(fit.null_deviance, r.null_deviance)).toBeLessThan(1e-9);
  expect(rel(fit.aic, r.aic)).toBeLessThan(1e-9);
}

describe('logistic (federated IRLS) equals glm(family = binomial) on the pooled rows', () => {
  it('clinical model, 3 sites, one of them with a single class', async () => {
    const f = fed('main');
    const fit = await fitLogistic(f, OUT, CLIN);
    expectGlm(fit, ref.main.glm);
    expect(fit.converged).toBe(true);
    expect(fit.separation.detected).toBe(false);
    expect(f.roundTrips).toBe(fit.iterations + 1);
  });
  it('12 terms (clinical + radiomics features)', async () => {
    const fit = await fitLogistic(fed('main'), OUT, [...CLIN, ...FEAT]);
    expectGlm(fit, ref.main.glm_all);
  });
  it('a collinear pair: the later column is aliased (estimate null), the rest equal glm', async () => {
    const fit = await fitLogistic(fed('collinear'), OUT, ['age', 'age2', 'tumor_size_mm', 'ki67']);
    expect(fit.aliased).toEqual(['age2']);
    expectGlm(fit, ref.collinear.glm);
  });
  it('complete separation is reported, with no (huge) estimates', async () => {
    const fit = await fitLogistic(fed('separation'), OUT, ['age', 'tumor_size_mm']);
    expect(ref.separation.glm.warnings).toContain('glm.fit: fitted probabilities numerically 0 or 1 occurred');
    expect(fit.separation.detected).toBe(true);
    expect(fit.converged).toBe(false);
    expect(fit.terms.every((t) => t.estimate === null && t.std_error === null)).toBe(true);
    expect(fit.separation.message).toMatch(/separation/);
  });
  it('a site below min_cell refuses, naming itself; with exclusion the fit equals glm without it', async () => {
    await expect(fitLogistic(fed('mincell'), OUT, CLIN)).rejects.toThrow(/site mincell_d: its complete cases number 3, fewer than min_cell = 5/);
    const f = fed('mincell', 'exclude');
    const fit = await fitLogistic(f, OUT, CLIN);
    expect(f.excluded.map((e) => e.site)).toEqual(['mincell_d']);
    expect(f.droppedMissing).toEqual({ mincell_a: 0, mincell_b: 0, mincell_c: 3 });
    expectGlm(fit, ref.mincell.glm);
  });
  it('a Hessian from fewer rows than parameters is refused, naming the site', async () => {
    const f = new Federation(localTransport([loadSite('main_a'), loadSite('mincell_d')], { minCell: 1 }));
    await expect(fitLogistic(f, OUT, CLIN)).rejects.toThrow(/site mincell_d: its complete cases number 3 rows, fewer than the 5 parameters/);
  });
});

describe('lasso_logistic (federated) equals glmnet(family = "binomial") on the pooled rows', () => {
  const cases: [string, string, string[]][] = [
    ['main', 'glmnet', [...CLIN, ...FEAT]],
    ['collinear', 'glmnet', ['age', 'age2', 'tumor_size_mm', 'ki67']],
    ['mincell', 'glmnet', CLIN],
  ];
  for (const [scenario, key, cols] of cases) {
    it(`${scenario}: coefficients at each lambda within 1e-4, lambda_max and standardisation`, async () => {
      const r = ref[scenario][key];
      const f = fed(scenario, 'exclude');
      const fit = await fitLasso(f, OUT, cols, { lambda: r.fits.map((x: { lambda: number }) => x.lambda) });
      expect(fit.n).toBe(r.n);
      expect(rel(fit.lambda_max, r.lambda_max)).toBeLessThan(1e-9);
      cols.forEach((c) => {
        expect(rel(fit.standardization[c]!.mean, r.mean[c])).toBeLessThan(1e-12);
        expect(rel(fit.standardization[c]!.sd, r.sd[c])).toBeLessThan(1e-12);
      });
      r.fits.forEach((rf: { lambda: number; coef: Record<string, number> }, k: number) => {
        const mine = fit.fits[k]!;
        expect(mine.lambda).toBe(rf.lambda);
        const names = ['(Intercept)', ...cols];
        names.forEach((nm, i) => {
          expect(Math.abs(mine.coefficients[i]! - rf.coef[nm]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(rf.coef[nm]!)));
          expect(mine.coefficients[i] === 0).toBe(rf.coef[nm] === 0);
        });
      });
    });
  }
});

describe('pooled statistics from sums', () => {
  it('ICC(2,1), Pearson r and PCA eigenvalues equal R (anova, cor, eigen(cov))', async () => {
    const f = fed('main');
    const icc = await pooledIcc(f, OUT, FEAT.map((c) => [c, `${c}_r2`] as [string, string]));
    icc.forEach((x, j) => expect(rel(x.icc, ref.main.icc[FEAT[j]!])).toBeLessThan(1e-10));
    const c = await pooledCorrelation(f, OUT, FEAT);
    FEAT.forEach((_, i) => FEAT.forEach((_, j) => expect(Math.abs(c.r[i]![j]! - ref.main.cor[i][j])).toBeLessThan(1e-12)));
    const pca = await pooledPca(f, OUT, FEAT);
    pca.variances.forEach((v, k) => expect(rel(v, ref.main.pca_cov_n1_eigen[k])).toBeLessThan(1e-10));
    const [m] = await pooledMoments(f, OUT, FEAT);
    expect(m!.n).toBe(425);
  });
});
