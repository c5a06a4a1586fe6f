// The study report's statistics, computed from the pooled held-out predictions with the same
// code as `fl evaluate`, so that `fl evaluate --predictions predictions.csv --cohort-col cohort`
// with the report's thresholds reproduces every figure.
import { reportCohortOrder } from './report-cohorts.js';
import { evaluatePredictions } from '../shared/stats/evaluate.js';
/** predictions.csv: site, cohort, case_key, label, one column per model (17 significant digits). */
export function predictionsCsv(rows, models) {
    const lines = [['site', 'cohort', 'case_key', 'label', ...models].join(',')];
    for (const r of rows) {
        lines.push([r.site, r.cohort, r.caseKey, String(r.label), ...models.map((m) => formatScore(r.scores[m]))].join(','));
    }
    return lines.join('\n') + '\n';
}
function formatScore(v) {
    return v === undefined || !Number.isFinite(v) ? '' : String(v);
}
/** Parses a score column back exactly as written (shortest round-trip decimal). */
export function csvRecord(r, models) {
    return Object.fromEntries([['site', r.site], ['cohort', r.cohort], ['case_key', r.caseKey], ['label', String(r.label)], ...models.map((m) => [m, formatScore(r.scores[m])])]);
}
export function buildStudyStatistics(rows, models, thresholds, o) {
    const records = rows.map((r) => csvRecord(r, models));
    const common = { label: 'label', scores: [...models], threshold: thresholds, proportionCi: 'wilson', bootstrap: { replicates: o.bootstrap, seed: o.seed } };
    const main = evaluatePredictions(records, { ...common, cohortCol: 'cohort' });
    // Per-site breakdown: each site's own test and prospective cohorts.
    const perSite = evaluatePredictions(rows.map((r, i) => ({ ...records[i], site_cohort: `${r.site}/${r.siteCohort}` })), { ...common, cohortCol: 'site_cohort', bootstrap: { replicates: 0, seed: o.seed } });
    // Cross-site table: each global model's AUC on each site's held-out data.
    const bySite = evaluatePredictions(records, { ...common, cohortCol: 'site', bootstrap: { replicates: 0, seed: o.seed } });
    const crossSite = {};
    for (const [site, c] of Object.entries(bySite.cohorts)) {
        crossSite[site] = Object.fromEntries(models.map((m) => [m, c.models[m]?.auc ?? null]));
    }
    // The paper's order: the pooled internal test cohort first, then the prospective cohorts.
    const order = reportCohortOrder(Object.keys(main.cohorts));
    return {
        cohorts: Object.fromEntries(order.map((k) => [k, main.cohorts[k]])),
        per_site: perSite.cohorts,
        cross_site_auc: crossSite,
        reference_model: o.reference,
        thresholds,
    };
}
//# sourceMappingURL=study-statistics.js.map