// The report's tabular section: the selection funnel (in, after ICC, after correlation, after
// LASSO), the coefficient table on the original scale, and the nomogram-style points table.
import { describe, expect, it } from 'vitest';
import { fittedSection } from './report-html.js';

describe('fitted models in report.html', () => {
  it('shows the funnel, the coefficients and the points scaled to the largest effect', () => {
    const html = fittedSection({
      radscore: {
        family: 'lasso_logistic', n: 144, events: 48, lambda: 0.0247, lambda_rule: 'min', iterations: 30, converged: true,
        terms: [{ term: '(Intercept)', estimate: 1.04, std_error: null, z: null, p: null, ci: null }, { term: 'gsus.lesion.cm_energy', estimate: 2.99, std_error: null, z: null, p: null, ci: null }],
        selected: { input: ['a', 'b', 'c', 'd'], icc: ['a', 'b', 'c'], pearson: ['a', 'b'], model: ['gsus.lesion.cm_energy'] },
        standardization: { 'gsus.lesion.cm_energy': { mean: 0.3, sd: 0.1 } }, round_trips: 6051, fit_ms: 18965,
      },
      clinical: {
        family: 'logistic', n: 144, events: 48, lambda: null, lambda_rule: null, iterations: 5, converged: true,
        terms: [
          { term: '(Intercept)', estimate: -2.35, std_error: 1.1, z: -2.1, p: 0.03, ci: [-4.5, -0.2] },
          { term: 'age', estimate: -0.03, std_error: 0.01, z: -3, p: 0.0004, ci: [-0.05, -0.01] },
          { term: 'ki67', estimate: 0.0665, std_error: 0.02, z: 3.3, p: 0.001, ci: [0.03, 0.1] },
        ],
        selected: { input: ['age', 'ki67'], icc: ['age', 'ki67'], pearson: ['age', 'ki67'], model: ['age', 'ki67'] },
        standardization: { age: { mean: 54, sd: 10 }, ki67: { mean: 25, sd: 12 } },
      },
    });
    expect(html).toMatch(/<b>4<\/b> features in → <b>3<\/b> after ICC → <b>2<\/b> after correlation → <b>1<\/b> after LASSO/);
    expect(html).toMatch(/λ = 0\.02470 \(min\)/);
    expect(html).toMatch(/6051 round trips/);
    expect(html).toMatch(/<td>age<\/td><td>-0\.0300<\/td><td>0\.0100<\/td><td>-3\.000<\/td><td>&lt;0\.001<\/td><td>-0\.0500 to -0\.0100<\/td><td>0\.970<\/td>/);
    // ki67 spans |0.0665| x 4 x 12 = 3.19 on the log-odds scale, age 0.03 x 4 x 10 = 1.2: ki67 gets 100 points.
    expect(html).toMatch(/<td>ki67<\/td><td>[0-9.]+<\/td><td>100\.0<\/td><td>higher value, higher risk<\/td>/);
    expect(html).toMatch(/<td>age<\/td><td>[0-9.]+<\/td><td>37\.6<\/td><td>higher value, lower risk<\/td>/);
  });
});

describe('Table 1 in report.html', () => {
  it('shows the cohorts with n, the P per variable with its test, reasons for suppressed cells in print, per-site tables', async () => {
    const { table1Section } = await import('./report-html.js');
    const rows = [
      { variable: 'age', statistic: 'mean (SD)', cells: { train: { text: '54.1 (9.8)' }, test: { text: null, reason: 'suppressed: a site\'s count is below min_cell (5)' } } },
      { variable: 'age', statistic: 'missing', cells: { train: { text: '0' }, test: { text: '2' } } },
      { variable: 'her2', statistic: 'positive', cells: { train: { text: '30 (25.0%)' }, test: { text: '9 (22.5%)' } } },
    ];
    const html = table1Section({
      cohorts: ['train', 'test'], n: { train: 120, test: 40 }, rows,
      tests: { age: { test: "Welch's t", statistic: null, p: null, reason: 'suppressed' }, her2: { test: 'chi-squared', statistic: 0.1, p: 0.7512 } },
      by_site: { 'site-1': { n: { train: 60 }, rows: [rows[0]!] } }, notes: ['median [IQR] from the pooled histogram (approximate)'],
      sites_answered: ['site-1', 'site-2'], sites_missing: { 'site-3': 'table1.aggregates: no answer within 600 s' },
    });
    expect(html).toMatch(/<th>train \(n = 120\)<\/th><th>test \(n = 40\)<\/th><th>P across cohorts<\/th>/);
    expect(html).toMatch(/<td><b>age<\/b> mean \(SD\)<\/td><td>54\.1 \(9\.8\)<\/td><td>— <small>\(suppressed: a site&#39;s count is below min_cell \(5\)\)<\/small><\/td><td>— <small>\(suppressed\)<\/small><br><small>Welch&#39;s t<\/small><\/td>/);
    expect(html).toMatch(/<td><b>her2<\/b> positive<\/td><td>30 \(25\.0%\)<\/td><td>9 \(22\.5%\)<\/td><td>0\.751<br><small>chi-squared<\/small><\/td>/);
    expect(html).toMatch(/No aggregates from: site-3 \(table1\.aggregates: no answer within 600 s\)/);
    expect(html).toMatch(/<h3>site-1<\/h3>.*train \(n = 60\)/s);
    expect(html).toMatch(/approximate/);
    expect(table1Section({ reason: 'no site answered the Table 1 request', sites_missing: {} })).toMatch(/No Table 1: no site answered/);
  });
});
