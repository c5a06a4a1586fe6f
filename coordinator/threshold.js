// Operating threshold on pooled validation predictions (a case is positive when score >= t).
import { selectThreshold } from '../shared/stats/threshold.js';
export function chooseThreshold(labels, scores, rule, value) {
    if (rule === 'fixed') {
        const below = scores.filter((s) => s < value).length;
        return { threshold: value, rule: `fixed ${value}`, fractionBelow: scores.length ? below / scores.length : null };
    }
    const r = selectThreshold(labels, scores, rule === 'youden' ? { rule: 'youden' } : { rule, target: value });
    if (r.threshold === null) {
        throw new Error(`threshold rule ${rule}${rule === 'youden' ? '' : ` ${value}`} cannot be met on the validation predictions: ${r.reason ?? 'undefined'}`);
    }
    return { threshold: r.threshold, rule: rule === 'youden' ? 'youden' : `${rule} ${value}`, fractionBelow: r.fractionBelow ?? null };
}
//# sourceMappingURL=threshold.js.map