// Report figures under `privacy: aggregate`, from pooled grid counts only (see
// shared/evaluation/aggregate.ts). Same per-cohort shape as `fl evaluate --json`; the figures that
// need per-case scores are null with the reason.
import { reportCohortOrder } from './report-cohorts.js';
import { proportion } from '../shared/stats/proportions.js';
import { GRID, gridCounts, gridRoc, pool } from '../shared/evaluation/aggregate.js';
const NEEDS_SCORES = 'unavailable under privacy: aggregate (per-case scores do not leave the sites)';
function modelFigures(s, threshold) {
    const [tp, fp, tn, fn] = (s.at ?? [0, 0, 0, 0]);
    const { roc, auc } = gridRoc(s);
    const n = s.n;
    return {
        n, positives: s.positives,
        auc: { estimate: auc, ci: null, method: 'trapezoid over the 0.01 threshold grid', reason: auc === null ? 'one class only' : 'no CI: ' + NEEDS_SCORES },
        threshold,
        confusion: { tp, fp, tn, fn },
        sensitivity: proportion(tp, tp + fn, 'wilson', 'sensitivity'),
        specificity: proportion(tn, tn + fp, 'wilson', 'specificity'),
        ppv: proportion(tp, tp + fp, 'wilson', 'ppv'),
        npv: proportion(tn, tn + fn, 'wilson', 'npv'),
        accuracy: proportion(tp + tn, n, 'wilson', 'accuracy'),
        fraction_below_threshold: n > 0 ? (tn + fn) / n : null,
        calibration: { intercept: null, slope: null, brier: n > 0 ? s.brier_sum / n : null, reason: `intercept and slope ${NEEDS_SCORES}` },
        decision_curve: GRID.slice(1, 100).map((pt, i) => {
            const [gtp, gfp] = gridCounts(s, i + 1);
            const w = pt / (1 - pt);
            return { threshold: Math.round(pt * 100) / 100, net_benefit: n > 0 ? gtp / n - (gfp / n) * w : null, treat_all: n > 0 ? s.positives / n - ((n - s.positives) / n) * w : null };
        }),
        roc,
    };
}
/**
 * `parts[reportCohort][model]` = the sites' summaries to pool. Returns `{ cohorts, unavailable }`.
 */
export function aggregateStatistics(parts, models, thresholds) {
    const cohorts = {};
    const order = reportCohortOrder(Object.keys(parts));
    for (const c of order) {
        const pooled = Object.fromEntries(models.filter((m) => parts[c][m]).map((m) => [m, pool(parts[c][m])]));
        const first = Object.values(pooled)[0];
        const comparisons = [];
        for (let i = 0; i < models.length; i++) {
            for (let j = i + 1; j < models.length; j++) {
                const a = pooled[models[i]];
                const b = pooled[models[j]];
                const aucA = a ? gridRoc(a).auc : null;
                const aucB = b ? gridRoc(b).auc : null;
                comparisons.push({
                    a: models[i], b: models[j], auc_difference: aucA !== null && aucB !== null ? aucA - aucB : null,
                    delong: { z: null, p: null, reason: NEEDS_SCORES },
                });
            }
        }
        cohorts[c] = {
            n: first?.n ?? 0, positives: first?.positives ?? 0,
            models: Object.fromEntries(Object.entries(pooled).map(([m, s]) => [m, modelFigures(s, thresholds[m])])),
            comparisons, subgroups: {},
        };
    }
    return {
        cohorts,
        unavailable: {
            privacy: 'aggregate',
            figures: ['AUC 95% CI (DeLong)', 'DeLong comparisons', 'paired bootstrap P-values', 'calibration intercept and slope', 'predictions.csv'],
            reason: 'only confusion counts on a 0.01 threshold grid, counts at the frozen threshold and the Brier sum left the sites',
        },
    };
}
//# sourceMappingURL=aggregate-statistics.js.map