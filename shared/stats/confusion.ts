// Confusion matrix at a threshold (a case is called positive when score >= threshold) and the
// diagnostic proportions with 95% CIs.
import { proportion, type ProportionCiMethod } from './proportions.js';
import type { ProportionEstimate } from './estimate.js';

export type Confusion = {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
};

export function confusionAt(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): Confusion {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const pos = scores[i]! >= threshold;
    if (labels[i] === 1) { if (pos) tp++; else fn++; } else if (pos) fp++; else tn++;
  }
  return { tp, fp, tn, fn };
}

export type DiagnosticMetrics = {
  readonly sensitivity: ProportionEstimate;
  readonly specificity: ProportionEstimate;
  readonly ppv: ProportionEstimate;
  readonly npv: ProportionEstimate;
  readonly accuracy: ProportionEstimate;
};

export function diagnosticMetrics(c: Confusion, method: ProportionCiMethod = 'wilson'): DiagnosticMetrics {
  const p = (x: number, n: number, what: string, whyZero: string): ProportionEstimate => {
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
