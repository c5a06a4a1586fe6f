// Empirical ROC curve and AUC (Mann-Whitney, ties counted 1/2). Direction is fixed: a higher
// score means "positive" (label 1), as pROC with direction = "<"; it is never auto-detected.
import { countAtOrBelow, countBelow, splitSorted } from './sorted.js';
/** Validates that labels are 0/1 and scores finite, with equal lengths. */
export function checkInputs(labels, scores) {
    if (labels.length !== scores.length)
        throw new RangeError(`labels (${labels.length}) and scores (${scores.length}) differ in length`);
    for (let i = 0; i < labels.length; i++) {
        if (labels[i] !== 0 && labels[i] !== 1)
            throw new RangeError(`label at index ${i} is ${labels[i]}, not 0 or 1`);
        if (!Number.isFinite(scores[i]))
            throw new RangeError(`score at index ${i} is ${scores[i]}, not a finite number`);
    }
}
/**
 * The ROC curve from (0, 0) to (1, 1): one point per distinct score, thresholds descending.
 * Returns null when either class is empty (the curve is undefined).
 */
export function rocCurve(labels, scores) {
    checkInputs(labels, scores);
    const { cases, controls } = splitSorted(labels, scores);
    const m = cases.length;
    const n = controls.length;
    if (m === 0 || n === 0)
        return null;
    const points = [{ threshold: Infinity, fpr: 0, tpr: 0 }];
    // Walk distinct scores from the highest down.
    let i = m - 1;
    let j = n - 1;
    while (i >= 0 || j >= 0) {
        const t = Math.max(i >= 0 ? cases[i] : -Infinity, j >= 0 ? controls[j] : -Infinity);
        while (i >= 0 && cases[i] >= t)
            i--;
        while (j >= 0 && controls[j] >= t)
            j--;
        points.push({ threshold: t, tpr: (m - 1 - i) / m, fpr: (n - 1 - j) / n });
    }
    return points;
}
/** AUC = P(score_case > score_control) + 1/2 P(equal); null when a class is empty. */
export function aucMannWhitney(labels, scores) {
    checkInputs(labels, scores);
    const { cases, controls } = splitSorted(labels, scores);
    if (cases.length === 0 || controls.length === 0)
        return null;
    let s = 0;
    for (let k = 0; k < cases.length; k++)
        s += countBelow(controls, cases[k]) + countAtOrBelow(controls, cases[k]);
    return s / 2 / cases.length / controls.length;
}
/**
 * Thins a ROC curve for plotting to at most maxPoints vertices, always keeping the first and
 * last points; the maximum vertical/horizontal error is about 1/maxPoints.
 */
export function thinRoc(points, maxPoints = 1000) {
    if (points.length <= maxPoints)
        return [...points];
    const out = [points[0]];
    const step = 2 / (maxPoints - 2); // fpr + tpr grows by 2 in all
    let last = points[0];
    for (let k = 1; k < points.length - 1; k++) {
        const p = points[k];
        if (p.fpr - last.fpr >= step || p.tpr - last.tpr >= step) {
            out.push(p);
            last = p;
        }
    }
    out.push(points[points.length - 1]);
    return out;
}
//# sourceMappingURL=roc.js.map