// Defaults for the hooks most strategies do not need, so a strategy file holds only its rule.
import type { EvaluationResult, FitInstructions, Strategy } from './types.js';

export type StrategyDefinition = Pick<Strategy, 'name' | 'aggregateFit'> & Partial<Omit<Strategy, 'name' | 'aggregateFit'>>;

const NO_PARAMS: FitInstructions = Object.freeze({ params: Object.freeze({}) });

export function defineStrategy(def: StrategyDefinition): Strategy {
  return {
    validate: () => {},
    configureFit: () => NO_PARAMS,
    configureEvaluate: () => ({}),
    aggregateEvaluate: weightedMetrics,
    ...def,
  };
}

/**
 * Example-weighted means of site metrics; `val_*` metrics are weighted by `val_n` when present
 * (validation cases), others by the training examples. Counts (`*_n`) and non-finite values are
 * left out.
 */
export function weightedMetrics(results: readonly EvaluationResult[]): Record<string, number> {
  const sums = new Map<string, { s: number; w: number }>();
  for (const u of results) {
    for (const [k, v] of Object.entries(u.metrics)) {
      if (!Number.isFinite(v) || k.endsWith('_n')) continue;
      const w = k.startsWith('val_') ? (u.metrics.val_n ?? u.numExamples) : u.numExamples;
      const e = sums.get(k) ?? { s: 0, w: 0 };
      e.s += v * w;
      e.w += w;
      sums.set(k, e);
    }
  }
  const out: Record<string, number> = {};
  for (const [k, { s, w }] of sums) if (w > 0) out[k] = s / w;
  return out;
}
