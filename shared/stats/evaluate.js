// The evaluation of a predictions table: per cohort (and per subgroup), per model AUC with
// DeLong CI, diagnostic proportions at the threshold with Wilson or exact CIs, calibration,
// decision curve and ROC points; per pair of models the paired DeLong test and paired bootstrap
// P-values for the differences in NPV and specificity. The JSON shape is the one `fl evaluate
// --json` prints and the study report embeds. Undefined figures are null with a reason.
// An empty score cell leaves that case out for that model only (the model's n says how many it
// scored); a comparison uses the cases both models scored.
import { DEFAULT_REPLICATES, DEFAULT_SEED } from './bootstrap.js';
import { diagnosticReplicates, pairedDiagnosticDifferences } from './diagnostic-bootstrap.js';
import { calibration } from './calibration.js';
import { confusionAt, diagnosticMetrics } from './confusion.js';
import { decisionCurve } from './decision-curve.js';
import { aucFromPlacements, delongPlacements, delongTestFromPlacements } from './delong.js';
import { rocCurve, thinRoc } from './roc.js';
export class EvaluationInputError extends Error {
    row;
    column;
    name = 'EvaluationInputError';
    constructor(message, row, column) {
        super(message);
        this.row = row;
        this.column = column;
    }
}
/** Vertices of the ROC curve kept in the report (enough to draw it from the JSON alone). */
export const ROC_REPORT_POINTS = 200;
function parseRows(rows, o) {
    const name = o.rowName ?? ((i) => `data row ${i + 1}`);
    if (rows.length === 0)
        throw new EvaluationInputError('the predictions table has no data rows');
    if (o.scores.length === 0)
        throw new EvaluationInputError('no score column given');
    const cols = [o.label, ...o.scores, ...(o.cohortCol ? [o.cohortCol] : []), ...(o.subgroupCol ? [o.subgroupCol] : [])];
    for (const c of cols) {
        if (!(c in rows[0]))
            throw new EvaluationInputError(`column "${c}" is missing (columns: ${Object.keys(rows[0]).join(', ')})`, undefined, c);
    }
    if (new Set(o.scores).size !== o.scores.length)
        throw new EvaluationInputError(`a score column is named twice: ${o.scores.join(', ')}`);
    const labels = new Uint8Array(rows.length);
    const scores = Object.fromEntries(o.scores.map((s) => [s, new Float64Array(rows.length)]));
    rows.forEach((r, i) => {
        const lv = (r[o.label] ?? '').trim();
        const l = lv === '' ? NaN : Number(lv);
        if (l !== 0 && l !== 1)
            throw new EvaluationInputError(`${name(i)}, column "${o.label}": label ${JSON.stringify(r[o.label] ?? '')} is not 0 or 1`, i, o.label);
        labels[i] = l;
        for (const s of o.scores) {
            const v = (r[s] ?? '').trim();
            if (v === '') {
                scores[s][i] = NaN;
                continue;
            } // no score from this model: left out for it
            const x = Number(v);
            if (!Number.isFinite(x))
                throw new EvaluationInputError(`${name(i)}, column "${s}": score ${JSON.stringify(r[s] ?? '')} is not a finite number`, i, s);
            scores[s][i] = x;
        }
    });
    const col = (c) => (c ? rows.map((r) => r[c] ?? '') : null);
    return { labels, scores, cohort: col(o.cohortCol), subgroup: col(o.subgroupCol) };
}
function thresholdsFor(o) {
    const out = {};
    for (const s of o.scores) {
        const t = typeof o.threshold === 'number' ? o.threshold : o.threshold === undefined ? 0.5 : o.threshold[s];
        if (t === undefined)
            throw new EvaluationInputError(`no threshold given for score column "${s}"`, undefined, s);
        if (!Number.isFinite(t))
            throw new EvaluationInputError(`threshold for "${s}" is not a finite number: ${t}`, undefined, s);
        out[s] = t;
    }
    return out;
}
function modelReport(labels, scores, placements, threshold, ci) {
    const auc = typeof placements === 'string'
        ? { estimate: null, ci: null, se: null, method: 'delong', reason: `AUC undefined: ${placements}` }
        : (({ estimate, ci, se, reason }) => ({ estimate, ci, se, method: 'delong', ...(reason ? { reason } : {}) }))(aucFromPlacements(placements));
    const confusion = confusionAt(labels, scores, threshold);
    const n = labels.length;
    let positives = 0;
    for (let i = 0; i < n; i++)
        positives += labels[i];
    const roc = rocCurve(labels, scores);
    return {
        n,
        positives,
        auc,
        threshold,
        confusion,
        ...diagnosticMetrics(confusion, ci),
        fraction_below_threshold: n ? (confusion.tn + confusion.fn) / n : null,
        calibration: calibration(labels, scores),
        decision_curve: decisionCurve(labels, scores),
        roc: roc ? thinRoc(roc, ROC_REPORT_POINTS).map((p) => [p.fpr, p.tpr]) : [],
    };
}
function difference(b) {
    return { estimate: b.estimate, ci: b.ci, p: b.p, valid: b.valid, ...(b.reason ? { reason: b.reason } : {}) };
}
/** Indices of the cases where every given score is present. */
function scored(n, cols) {
    const out = [];
    for (let i = 0; i < n; i++)
        if (cols.every((c) => !Number.isNaN(c[i])))
            out.push(i);
    return out;
}
function take(a, idx) {
    if (idx === null)
        return a;
    const out = new a.constructor(idx.length);
    for (let k = 0; k < idx.length; k++)
        out[k] = a[idx[k]];
    return out;
}
function groupReport(labels, scores, names, th, o) {
    const n = labels.length;
    let positives = 0;
    for (let i = 0; i < n; i++)
        positives += labels[i];
    const ci = o.proportionCi ?? 'wilson';
    // Per model: the cases it scored (null = all of them).
    const own = {};
    const placements = {};
    const models = {};
    for (const s of names) {
        const idx = scored(n, [scores[s]]);
        own[s] = idx.length === n ? null : idx;
        const y = take(labels, own[s]), x = take(scores[s], own[s]);
        placements[s] = delongPlacements(y, x);
        models[s] = modelReport(y, x, placements[s], th[s], ci);
    }
    const reps = o.bootstrap?.replicates ?? DEFAULT_REPLICATES;
    const seed = o.bootstrap?.seed ?? DEFAULT_SEED;
    const boot = { replicates: reps, seed };
    const calls = (s, idx) => Uint8Array.from(take(scores[s], idx), (x) => (x >= th[s] ? 1 : 0));
    const complete = names.every((s) => own[s] === null);
    // With every score present one pass of replicates serves all pairs; otherwise each pair resamples its common cases.
    const shared = reps > 0 && names.length > 1 && complete ? diagnosticReplicates(labels, names.map((s) => calls(s, null)), boot) : null;
    const comparisons = [];
    for (let i = 0; i < names.length; i++) {
        for (let j = i + 1; j < names.length; j++) {
            const a = names[i], b = names[j];
            let common = null;
            let pa = placements[a], pb = placements[b];
            if (!complete) {
                const idx = scored(n, [scores[a], scores[b]]);
                common = idx.length === n ? null : idx;
                if (common !== null) {
                    const y = take(labels, common);
                    pa = delongPlacements(y, take(scores[a], common));
                    pb = delongPlacements(y, take(scores[b], common));
                }
            }
            const t = typeof pa === 'string' || typeof pb === 'string'
                ? { auc_difference: null, ci: null, z: null, p: null, reason: `AUC undefined on the cases both models scored: ${typeof pa === 'string' ? pa : pb}` }
                : delongTestFromPlacements(pa, pb);
            let diffs = null;
            if (shared)
                diffs = pairedDiagnosticDifferences(shared, i, j, boot);
            else if (reps > 0)
                diffs = pairedDiagnosticDifferences(diagnosticReplicates(take(labels, common), [calls(a, common), calls(b, common)], boot), 0, 1, boot);
            comparisons.push({
                a, b,
                n: common === null ? n : common.length,
                auc_difference: t.auc_difference,
                auc_difference_ci: t.ci,
                delong: { z: t.z, p: t.p, ...(t.reason ? { reason: t.reason } : {}) },
                ...(diffs ? { bootstrap: { method: 'paired stratified bootstrap', replicates: reps, seed, npv_difference: difference(diffs.npv), specificity_difference: difference(diffs.specificity) } } : {}),
            });
        }
    }
    return { n, positives, negatives: n - positives, prevalence: n ? positives / n : null, models, comparisons };
}
function groupsOf(keys) {
    const m = new Map();
    keys.forEach((k, i) => { const g = m.get(k); if (g)
        g.push(i);
    else
        m.set(k, [i]); });
    return m;
}
/** Evaluates every score column against the label, per cohort and subgroup (see the module comment). */
export function evaluatePredictions(rows, o) {
    const p = parseRows(rows, o);
    const th = thresholdsFor(o);
    const names = [...o.scores];
    const sub = (idx) => ({
        labels: take(p.labels, idx),
        scores: Object.fromEntries(names.map((s) => [s, take(p.scores[s], idx)])),
    });
    const cohorts = {};
    const cohortGroups = p.cohort ? groupsOf(p.cohort) : new Map([['all', Array.from({ length: rows.length }, (_, i) => i)]]);
    for (const [cohort, idx] of cohortGroups) {
        const c = sub(idx);
        const subgroups = {};
        if (p.subgroup) {
            for (const [g, gi] of groupsOf(idx.map((i) => p.subgroup[i]))) {
                const s = sub(gi.map((k) => idx[k]));
                subgroups[g] = groupReport(s.labels, s.scores, names, th, o);
            }
        }
        cohorts[cohort] = { ...groupReport(c.labels, c.scores, names, th, o), subgroups };
    }
    return {
        cohorts,
        settings: {
            label: o.label,
            scores: names,
            thresholds: th,
            proportion_ci: o.proportionCi ?? 'wilson',
            cohort_col: o.cohortCol ?? null,
            subgroup_col: o.subgroupCol ?? null,
            bootstrap: { replicates: o.bootstrap?.replicates ?? DEFAULT_REPLICATES, seed: o.bootstrap?.seed ?? DEFAULT_SEED },
            positive_when: 'score >= threshold',
        },
    };
}
//# sourceMappingURL=evaluate.js.map