import { describe, expect, it } from 'vitest';
import { evaluatePredictions } from '../stats/evaluate.js';
import { renderHtmlReport, type HtmlModel, type HtmlReportInput } from './html.js';

function rows(n: number): Record<string, string>[] {
  return Array.from({ length: n }, (_, i) => {
    const y = i % 3 === 0 ? 1 : 0;
    const u = ((i * 7919) % 101) / 101;
    return { label: String(y), m1: String(Math.min(0.99, 0.6 * y + 0.4 * u)), m2: String(u), c: i % 2 ? 'x' : 'y' };
  });
}

describe('renderHtmlReport', () => {
  it('draws one figure panel (ROC with diagonal, calibration, decision curves) and the tables per cohort', () => {
    const report = evaluatePredictions(rows(120), { label: 'label', scores: ['m1', 'm2'], cohortCol: 'c', bootstrap: { replicates: 50, seed: 1 } });
    const html = renderHtmlReport(report, { title: 'T <1>', subtitle: 'sub', extraSections: [{ title: 'Extra', html: '<p id="extra">x</p>' }] });
    expect(html).toContain('<title>T &lt;1&gt;</title>');
    expect(html.match(/<svg /g)).toHaveLength(6);
    expect(html.match(/ROC curves/g)!.length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('treat all');
    expect(html).toContain('<p id="extra">x</p>');
    expect(html).toMatch(/m1 vs m2/);
    // every ROC path starts at (0,0) in plot coordinates (x = left margin, y = bottom of the axes)
    expect(html).toMatch(/<path d="M54\.00,304\.00L/);
    expect(html).not.toMatch(/NaN|>undefined|undefined<|\(undefined\)|<script|src=|href=/);
  });

  it('shows undefined figures as a dash with the reason, and accepts [fpr, tpr] ROC pairs', () => {
    const m: HtmlModel = {
      auc: { estimate: null, ci: null, reason: 'no positives' },
      roc: [[0, 0], [0.5, 0.5], [1, 1]],
      threshold: 0.5,
      sensitivity: { estimate: null, ci: null, reason: 'no positives' },
      specificity: { estimate: 0.9, ci: [0.8, 0.95], x: 9, n: 10 },
      ppv: { estimate: null, ci: null, reason: 'no cases called positive' },
      npv: { estimate: 1, ci: [0.7, 1] },
      accuracy: { estimate: 0.9, ci: [0.6, 0.98] },
      calibration: { intercept: null, slope: null, brier: 0.1, reason: 'no positives' },
      decision_curve: [],
    };
    const input: HtmlReportInput = { cohorts: { all: { n: 10, positives: 0, models: { 'a&b': m } } } };
    const html = renderHtmlReport(input, { title: 'x' });
    expect(html).toContain('title="no positives"');
    // the reason is printed, not only on hover
    expect(html).toMatch(/<ol class="reasons"><li>no positives<\/li><li>no cases called positive<\/li><\/ol>/);
    expect(html).toContain('title="no cases called positive"');
    expect(html).toContain('a&amp;b');
    expect(html).toContain('9/10');
    expect(html).toMatch(/<path d="M54\.00,304\.00L/);
    expect(html).not.toMatch(/NaN/);
  });

  it('marks each operating point, shades the DeLong CI band, draws calibration CIs and prints the clipping note', () => {
    const report = evaluatePredictions(rows(90), { label: 'label', scores: ['m1', 'm2'], bootstrap: { replicates: 0 } });
    const html = renderHtmlReport(report, { title: 't' });
    expect(html.match(/class="operating"/g)).toHaveLength(2);
    expect(html.match(/class="rocband"/g)).toHaveLength(2);
    expect(html).toContain('Calibration (9 bins of predicted risk)');
    expect(html.match(/class="calci"/g)!.length).toBeGreaterThanOrEqual(9);
    const m1 = report.cohorts.all!.models.m1!;
    const cx = (54 + (1 - m1.specificity.estimate!) * (380 - 54 - 14)).toFixed(2);
    expect(html).toContain(`<circle cx="${cx}"`);
    const clipped = evaluatePredictions(rows(30).map((r, i) => (i < 2 ? { ...r, m1: String(Number(r.label)) } : r)), { label: 'label', scores: ['m1'], bootstrap: { replicates: 0 } });
    expect(renderHtmlReport(clipped, { title: 't' })).toMatch(/<li>\d+ scores? (is|are) exactly 0 or 1/);
  });

  it('binormal band curve: its area is the AUC', async () => {
    const { binormalRoc } = await import('./html.js');
    for (const auc of [0.6, 0.8, 0.95]) {
      const pts = binormalRoc(auc, 4000);
      let area = 0;
      for (let i = 1; i < pts.length; i++) area += (pts[i]![0] - pts[i - 1]![0]) * (pts[i]![1] + pts[i - 1]![1]) / 2;
      expect(area).toBeCloseTo(auc, 3);
    }
  });
});
