// Coordinate-wise trimmed mean (Yin et al. 2018): for every parameter, drop the t lowest and t
// highest deltas and average the rest (unweighted). t = trim_count, or floor(beta * K) for the K
// updates of the round.
import { applyToSink, streamTrimmedMean, trimCount } from '../aggregate/order-statistics.js';
import { ConfigError } from '../config/load.js';
import { requireFinite, requireUpdates, stepNorm } from './checks.js';
import { defineStrategy } from './base.js';
import type { Strategy } from './types.js';

export type TrimSpec = { readonly beta: number } | { readonly count: number };

export function trimmedMean(trim: TrimSpec, blockElems?: number): Strategy {
  const field = 'count' in trim ? 'trim_count' : 'beta';
  const value = 'count' in trim ? trim.count : trim.beta;
  return defineStrategy({
    name: 'trimmed_mean',
    validate({ minSites, expectedSites }) {
      const fail = (msg: string) => new ConfigError(`strategy.${field}: ${msg}`, [`strategy.${field}: ${msg}`]);
      if ('count' in trim) {
        if (!(Number.isInteger(trim.count) && trim.count >= 1)) throw fail(`${trim.count} must be an integer >= 1`);
        if (minSites - 2 * trim.count < 1) {
          throw fail(`trimming ${trim.count} update(s) from each end needs at least ${2 * trim.count + 1} sites per round, but min_sites is ${minSites}`);
        }
      } else {
        if (!(trim.beta > 0 && trim.beta < 0.5)) throw fail(`${trim.beta} must be in (0, 0.5)`);
        const k = Math.min(minSites, expectedSites);
        if (Math.floor(trim.beta * k) < 1) {
          throw fail(`${trim.beta} trims no update when ${k} site(s) report (floor(${trim.beta} x ${k}) = 0); use beta >= ${(1 / k).toFixed(3)} or trim_count`);
        }
      }
    },
    needsIndividualUpdates: true,
    async aggregateFit(global, updates, state) {
      requireUpdates('trimmed_mean', global, updates);
      let t: number;
      try {
        t = trimCount(updates.length, trim);
      } catch (err) {
        throw new ConfigError(`strategy.${field} = ${value}: ${(err as Error).message}`);
      }
      const next = new Float32Array(global.length);
      await streamTrimmedMean(updates, global.length, t, applyToSink(global, next), blockElems);
      requireFinite('trimmed_mean', next);
      const total = updates.reduce((s, u) => s + u.numExamples, 0);
      return { global: next, state, metrics: { total_examples: total, updates: updates.length, trimmed_per_side: t, step_norm: stepNorm(global, next) } };
    },
  });
}
