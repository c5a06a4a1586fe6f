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
