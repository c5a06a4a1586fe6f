// Decision curve analysis (Vickers & Elkin 2006): net benefit of treating the cases whose score
// is >= pt, NB = TP/n - FP/n * pt / (1 - pt), against treat-all, at pt = 0.01, 0.02, ..., 0.99.
// Thresholds are exact decimals (k / 100, the double nearest to "0.15"), never accumulated sums.
import { countBelow, splitSorted } from './sorted.js';

export type DecisionPoint = {
  readonly threshold: number;
  readonly net_benefit: number;
  readonly treat_all: number;
};

/** The standard grid 0.01 .. 0.99 in steps of 0.01. */
export function decisionThresholds(): number[] {
  return Array.from({ length: 99 }, (_, k) => (k + 1) / 100);
}

export function decisionCurve(labels: ArrayLike<number>, scores: ArrayLike<number>, thresholds: readonly number[] = decisionThresholds()): DecisionPoint[] {
  const { cases, controls } = splitSorted(labels, scores);
  const n = labels.length;
  if (n === 0) return [];
  const prevalence = cases.length / n;
  return thresholds.map((pt) => {
    const odds = pt / (1 - pt);
    const tp = cases.length - countBelow(cases, pt);
    const fp = controls.length - countBelow(controls, pt);
    return { threshold: pt, net_benefit: tp / n - (fp / n) * odds, treat_all: prevalence - (1 - prevalence) * odds };
  });
}

export interface DecisionCurveResult {
  /** null when the curve is undefined (see reason). */
  readonly points: DecisionPoint[] | null;
  readonly reason?: string;
}

/**
 * The decision curve, or null with the reason when it is undefined: no cases, or scores that are
 * not probabilities in [0, 1] (logits, ranks: a threshold probability means nothing for them).
 */
export function decisionCurveChecked(labels: ArrayLike<number>, scores: ArrayLike<number>, thresholds: readonly number[] = decisionThresholds()): DecisionCurveResult {
  if (labels.length === 0) return { points: null, reason: 'decision curve undefined: no cases' };
  for (let i = 0; i < scores.length; i++) {
    if (!(scores[i]! >= 0 && scores[i]! <= 1)) {
      return { points: null, reason: `decision curve undefined: scores are not probabilities in [0, 1] (index ${i}: ${scores[i]}); net benefit needs a probability threshold` };
    }
  }
  return { points: decisionCurve(labels, scores, thresholds) };
}
