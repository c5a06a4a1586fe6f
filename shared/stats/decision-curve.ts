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
