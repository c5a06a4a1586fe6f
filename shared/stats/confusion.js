// Confusion matrix at a threshold (a case is called positive when score >= threshold) and the
// diagnostic proportions with 95% CIs.
import { proportion } from './proportions.js';
export function confusionAt(labels, scores, threshold) {
    let tp = 0, fp = 0, tn = 0, fn = 0;
    for (let i = 0; i < labels.length; i++) {
        const pos = scores[i] >= threshold;
        if (labels[i] === 1) {
            if (pos)
                tp++;
            else
                fn++;
        }
        else if (pos)
            fp++;
        else
            tn++;
    }
    return { tp, fp, tn, fn };
}
export function diagnosticMetrics(c, method = 'wilson') {
    const p = (x, n, what, whyZero) => {
        const e = proportion(x, n, method, what);
        return n === 0 ? { ...e, reason: `${what} undefined: ${whyZero}` } : e;
    };
    return {
        sensitivity: p(c.tp, c.tp + c.fn, 'sensitivity', 'no positive cases'),
        specificity: p(c.tn, c.tn + c.fp, 'specificity', 'no negative cases'),
        ppv: p(c.tp, c.tp + c.fp, 'PPV', 'no case is called positive at this threshold'),
        npv: p(c.tn, c.tn + c.fn, 'NPV', 'no case is called negative at this threshold'),
        accuracy: p(c.tp + c.tn, c.tp + c.fp + c.tn + c.fn, 'accuracy', 'no cases'),
    };
}
//# sourceMappingURL=confusion.js.map