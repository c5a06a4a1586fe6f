// AUC with DeLong's variance and the paired DeLong test, computed as R's pROC 1.18 does
// (ci.auc(method = "delong"), roc.test(method = "delong", paired = TRUE)), with the fast
// O(n log n) placement algorithm of Sun & Xu (2014): each case's placement is the fraction of
// controls scored below it (ties 1/2), found by binary search in the sorted controls, and vice
// versa. Higher score means positive, always (pROC's direction = "<"; never auto-detected).
import { pnorm, qnorm } from './distributions.js';
import { checkInputs } from './roc.js';
import { countBelow, splitSorted } from './sorted.js';
/** Placements of the sorted cases and sorted controls by one merge walk, O(m + n). */
function sortedPlacements(cases, controls) {
    const m = cases.length;
    const n = controls.length;
    const v10 = new Float64Array(m);
    const v01 = new Float64Array(n);
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < m; i++) {
        const x = cases[i];
        while (lo < n && controls[lo] < x)
            lo++;
        if (hi < lo)
            hi = lo;
        while (hi < n && controls[hi] <= x)
            hi++;
        v10[i] = (lo + hi) / (2 * n);
    }
    lo = 0;
    hi = 0;
    for (let j = 0; j < n; j++) {
        const y = controls[j];
        while (lo < m && cases[lo] < y)
            lo++;
        if (hi < lo)
            hi = lo;
        while (hi < m && cases[hi] <= y)
            hi++;
        v01[j] = (2 * m - lo - hi) / (2 * m);
    }
    return { v10, v01 };
}
/**
 * DeLong placements; a string reason when a class is empty. With ordered = false the placements
 * come in score order rather than input order (enough for one AUC's variance, and faster); the
 * paired test needs input order so that the two scores' placements of a case line up.
 */
export function delongPlacements(labels, scores, ordered = true) {
    checkInputs(labels, scores);
    const sorted = splitSorted(labels, scores);
    const m = sorted.cases.length;
    const n = sorted.controls.length;
    if (m === 0)
        return 'no positive cases';
    if (n === 0)
        return 'no negative cases';
    const { v10, v01 } = sortedPlacements(sorted.cases, sorted.controls);
    let sum = 0;
    for (let i = 0; i < m; i++)
        sum += v10[i];
    if (!ordered)
        return { auc: sum / m, cases: v10, controls: v01 };
    // Input order: the first tie of each value in its own sorted class carries the placement.
    const c10 = new Float64Array(m);
    const c01 = new Float64Array(n);
    let a = 0;
    let b = 0;
    for (let i = 0; i < labels.length; i++) {
        const x = scores[i];
        if (labels[i] === 1)
            c10[a++] = v10[countBelow(sorted.cases, x)];
        else
            c01[b++] = v01[countBelow(sorted.controls, x)];
    }
    return { auc: sum / m, cases: c10, controls: c01 };
}
function centredCross(x, tx, y, ty) {
    let s = 0;
    for (let i = 0; i < x.length; i++)
        s += (x[i] - tx) * (y[i] - ty);
    return s;
}
/** DeLong covariance of two AUCs on the same cases (the variance when a === b), as pROC. */
export function delongCovariance(a, b) {
    const m = a.cases.length;
    const n = a.controls.length;
    const sx = centredCross(a.cases, a.auc, b.cases, b.auc) / (m - 1);
    const sy = centredCross(a.controls, a.auc, b.controls, b.auc) / (n - 1);
    return sx / m + sy / n;
}
/** AUC with its DeLong variance and 95% CI, as pROC::ci.auc(roc(y, s, direction = "<"), method = "delong"). */
export function aucDelong(labels, scores, conf = 0.95) {
    const p = delongPlacements(labels, scores, false);
    if (typeof p === 'string')
        return { estimate: null, ci: null, variance: null, se: null, method: 'delong', reason: `AUC undefined: ${p}` };
    return aucFromPlacements(p, conf);
}
export function aucFromPlacements(p, conf = 0.95) {
    if (p.cases.length < 2 || p.controls.length < 2) {
        return { estimate: p.auc, ci: null, variance: null, se: null, method: 'delong', reason: 'DeLong variance needs at least 2 positive and 2 negative cases' };
    }
    const variance = Math.max(0, delongCovariance(p, p));
    const se = Math.sqrt(variance);
    const z = qnorm(1 - (1 - conf) / 2);
    const clip = (v) => Math.min(1, Math.max(0, v));
    return { estimate: p.auc, ci: [clip(p.auc - z * se), clip(p.auc + z * se)], variance, se, method: 'delong' };
}
/** Paired two-sided DeLong test of AUC(a) = AUC(b) on the same cases (roc.test(method = "delong", paired = TRUE)). */
export function delongPaired(labels, scoresA, scoresB, conf = 0.95) {
    const a = delongPlacements(labels, scoresA);
    const b = delongPlacements(labels, scoresB);
    if (typeof a === 'string' || typeof b === 'string') {
        return { auc_a: null, auc_b: null, auc_difference: null, ci: null, z: null, p: null, reason: `AUC undefined: ${typeof a === 'string' ? a : b}` };
    }
    return delongTestFromPlacements(a, b, conf);
}
function samePlacements(a, b) {
    if (a.auc !== b.auc)
        return false;
    for (let i = 0; i < a.cases.length; i++)
        if (a.cases[i] !== b.cases[i])
            return false;
    for (let j = 0; j < a.controls.length; j++)
        if (a.controls[j] !== b.controls[j])
            return false;
    return true;
}
export function delongTestFromPlacements(a, b, conf = 0.95) {
    const d = a.auc - b.auc;
    const aucs = { auc_a: a.auc, auc_b: b.auc };
    // Identical rankings (e.g. identical scores): Z = 0 and P = 1 (pROC: 0/0 is taken as Z = 0).
    if (samePlacements(a, b))
        return { ...aucs, auc_difference: 0, ci: [0, 0], z: 0, p: 1 };
    if (a.cases.length < 2 || a.controls.length < 2) {
        return { ...aucs, auc_difference: d, ci: null, z: null, p: null, reason: 'DeLong test needs at least 2 positive and 2 negative cases' };
    }
    const v = delongCovariance(a, a) + delongCovariance(b, b) - 2 * delongCovariance(a, b);
    const sig = Math.sqrt(Math.max(0, v));
    if (sig === 0 && d === 0)
        return { ...aucs, auc_difference: 0, ci: [0, 0], z: 0, p: 1 };
    if (sig === 0)
        return { ...aucs, auc_difference: d, ci: null, z: null, p: null, reason: 'the AUC difference has zero variance' };
    const crit = qnorm(1 - (1 - conf) / 2);
    const z = d / sig;
    return { ...aucs, auc_difference: d, ci: [d - crit * sig, d + crit * sig], z, p: 2 * pnorm(-Math.abs(z)) };
}
/** Textbook O(m n) AUC and DeLong variance: the benchmark baseline and a test oracle. */
export function aucDelongNaive(labels, scores) {
    const xs = [];
    const ys = [];
    for (let i = 0; i < labels.length; i++)
        (labels[i] === 1 ? xs : ys).push(scores[i]);
    const m = xs.length;
    const n = ys.length;
    const v10 = new Float64Array(m);
    const v01 = new Float64Array(n);
    for (let i = 0; i < m; i++) {
        const x = xs[i];
        let s = 0;
        for (let j = 0; j < n; j++) {
            const psi = x > ys[j] ? 1 : x === ys[j] ? 0.5 : 0;
            s += psi;
            v01[j] += psi;
        }
        v10[i] = s / n;
    }
    let auc = 0;
    for (let i = 0; i < m; i++)
        auc += v10[i];
    auc /= m;
    for (let j = 0; j < n; j++)
        v01[j] /= m;
    const p = { auc, cases: v10, controls: v01 };
    return { auc, variance: delongCovariance(p, p) };
}
/** Alias kept for callers that use the shorter name. */
export const delongNaive = aucDelongNaive;
//# sourceMappingURL=delong.js.map