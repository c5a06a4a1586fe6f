// Operating-threshold selection on a validation set (a case is positive when score >= threshold).
// Candidates are the distinct observed scores, so the chosen threshold is reproducible exactly.
//   youden:             maximise sensitivity + specificity - 1 (ties: the highest threshold)
//   target_sensitivity: the highest threshold whose sensitivity >= target
//   target_npv:         the highest threshold whose NPV >= target (the rule for sparing biopsies:
//                       the higher the threshold, the more patients fall below it)
import { checkInputs } from './roc.js';
const none = (reason) => ({ threshold: null, reason, fractionBelow: null, sensitivity: null, specificity: null, npv: null });
export function selectThreshold(labels, scores, rule) {
    checkInputs(labels, scores);
    if (rule.rule !== 'youden' && !(rule.target >= 0 && rule.target <= 1))
        throw new RangeError(`${rule.rule}: target ${rule.target} is not in [0, 1]`);
    const n = labels.length;
    if (n === 0)
        return none('no validation cases');
    const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[j] - scores[i]);
    let m = 0;
    for (let i = 0; i < n; i++)
        m += labels[i];
    const neg = n - m;
    if (rule.rule !== 'target_npv' && (m === 0 || neg === 0))
        return none(`${m === 0 ? 'no positive' : 'no negative'} cases in the validation set`);
    // Walk distinct thresholds from the highest down; at each, tp/fp count cases with score >= t.
    let tp = 0, fp = 0, k = 0;
    let best = null;
    while (k < n) {
        const t = scores[order[k]];
        while (k < n && scores[order[k]] === t) {
            if (labels[order[k]] === 1)
                tp++;
            else
                fp++;
            k++;
        }
        const sens = m ? tp / m : NaN;
        const spec = neg ? (neg - fp) / neg : NaN;
        if (rule.rule === 'youden') {
            const j = sens + spec - 1;
            if (best === null || j > best.j)
                best = { t, tp, fp, j };
        }
        else if (rule.rule === 'target_sensitivity') {
            if (sens >= rule.target) {
                best = { t, tp, fp, j: 0 };
                break;
            }
        }
        else {
            const calledNeg = n - tp - fp;
            if (calledNeg > 0 && (neg - fp) / calledNeg >= rule.target) {
                best = { t, tp, fp, j: 0 };
                break;
            }
        }
    }
    if (best === null)
        return none(rule.rule === 'youden' ? 'no threshold' : `no threshold reaches ${rule.rule === 'target_npv' ? 'NPV' : 'sensitivity'} >= ${rule.target}`);
    const calledNeg = n - best.tp - best.fp;
    return {
        threshold: best.t,
        fractionBelow: calledNeg / n,
        sensitivity: m ? best.tp / m : null,
        specificity: neg ? (neg - best.fp) / neg : null,
        npv: calledNeg ? (neg - best.fp) / calledNeg : null,
    };
}
//# sourceMappingURL=threshold.js.map