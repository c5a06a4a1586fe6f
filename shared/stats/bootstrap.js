// Seeded, stratified bootstrap: each replicate resamples the positive cases and the negative
// cases separately, with replacement, keeping both counts (as pROC's boot.stratified = TRUE).
// Percentile 95% CIs use R's default quantile (type 7). Replicates in which the statistic is
// undefined (a zero denominator) are left out and counted.
import { StatsRng } from './rng.js';
/** 2000 replicates, as pROC's boot.n default: ~1 ms per 1000 cases per statistic. */
export const DEFAULT_REPLICATES = 2000;
export const DEFAULT_SEED = 20240601;
/** Quantile type 7 (R's default) of sorted values. */
export function quantile7(sorted, p) {
    const h = (sorted.length - 1) * p;
    const lo = Math.floor(h);
    const hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
/** Calls visit(idx) for each of `replicates` stratified resamples (the same idx buffer, refilled). */
export function forEachResample(labels, o, visit) {
    const pos = [];
    const neg = [];
    for (let i = 0; i < labels.length; i++)
        (labels[i] === 1 ? pos : neg).push(i);
    const rng = new StatsRng(o.seed ?? DEFAULT_SEED);
    const idx = new Int32Array(labels.length);
    const reps = o.replicates ?? DEFAULT_REPLICATES;
    const drawPos = pos.length ? rng.sampler(pos.length) : () => 0;
    const drawNeg = neg.length ? rng.sampler(neg.length) : () => 0;
    for (let r = 0; r < reps; r++) {
        let k = 0;
        for (let i = 0; i < pos.length; i++)
            idx[k++] = pos[drawPos()];
        for (let i = 0; i < neg.length; i++)
            idx[k++] = neg[drawNeg()];
        visit(idx);
    }
}
function percentileCi(values, conf) {
    const s = Float64Array.from(values).sort();
    return [quantile7(s, (1 - conf) / 2), quantile7(s, 1 - (1 - conf) / 2)];
}
/** Percentile bootstrap CI of any statistic. */
export function bootstrapCi(labels, statistic, o = {}) {
    const all = Int32Array.from({ length: labels.length }, (_, i) => i);
    const estimate = statistic(all);
    const values = [];
    forEachResample(labels, o, (idx) => {
        const v = statistic(idx);
        if (v !== null && Number.isFinite(v))
            values.push(v);
    });
    const replicates = o.replicates ?? DEFAULT_REPLICATES;
    const seed = o.seed ?? DEFAULT_SEED;
    const base = { method: 'stratified bootstrap percentile', replicates, valid: values.length, seed };
    if (estimate === null)
        return { ...base, estimate: null, ci: null, reason: 'the statistic is undefined on the full sample' };
    if (values.length < 2)
        return { ...base, estimate, ci: null, reason: 'fewer than 2 bootstrap replicates where the statistic is defined' };
    return { ...base, estimate, ci: percentileCi(values, o.conf ?? 0.95) };
}
/**
 * Summarises paired replicates: a0, b0 on the full sample; ra[r], rb[r] on replicate r (NaN where
 * the statistic is undefined; such replicates are left out).
 */
export function summarisePaired(a0, b0, ra, rb, o = {}) {
    const diffs = [];
    let le = 0;
    let ge = 0;
    for (let r = 0; r < ra.length; r++) {
        const a = ra[r];
        const b = rb[r];
        if (Number.isNaN(a) || Number.isNaN(b))
            continue;
        const d = a - b;
        diffs.push(d);
        if (d <= 0)
            le++;
        if (d >= 0)
            ge++;
    }
    const replicates = o.replicates ?? DEFAULT_REPLICATES;
    const seed = o.seed ?? DEFAULT_SEED;
    const base = { method: 'paired stratified bootstrap', replicates, valid: diffs.length, seed };
    if (a0 === null || b0 === null)
        return { ...base, estimate: null, ci: null, p: null, reason: 'the statistic is undefined on the full sample' };
    if (diffs.length < 2)
        return { ...base, estimate: a0 - b0, ci: null, p: null, reason: 'fewer than 2 bootstrap replicates where the statistic is defined for both models' };
    const B = diffs.length;
    return { ...base, estimate: a0 - b0, ci: percentileCi(diffs, o.conf ?? 0.95), p: Math.min(1, (2 * Math.min(1 + le, 1 + ge)) / (1 + B)) };
}
/** Paired bootstrap of the difference of one statistic between two models on the same cases. */
export function pairedBootstrapDifference(labels, statA, statB, o = {}) {
    const all = Int32Array.from({ length: labels.length }, (_, i) => i);
    const reps = o.replicates ?? DEFAULT_REPLICATES;
    const ra = new Float64Array(reps);
    const rb = new Float64Array(reps);
    let r = 0;
    forEachResample(labels, o, (idx) => {
        ra[r] = statA(idx) ?? NaN;
        rb[r] = statB(idx) ?? NaN;
        r++;
    });
    return summarisePaired(statA(all), statB(all), ra, rb, o);
}
//# sourceMappingURL=bootstrap.js.map