// Five sites, one of which sends its honest delta scaled by -10: the robust strategies move the
// global model only slightly away from where the honest sites alone would take it; FedAvg does not.
import { describe, expect, it } from 'vitest';
import { createStrategy } from './registry.js';
import { readersOf, randomArray } from '../../test/helpers/aggregate-testing.js';
import { l2Norm } from '../aggregate/norms.js';
import { flagNormOutliers } from '../aggregate/outliers.js';

const N = 20_000;
const global = randomArray(N, 1);
const direction = Float32Array.from(randomArray(N, 2), (v) => 0.01 * v);
// Honest deltas: a common direction plus site noise (30% of it).
const honest = Array.from({ length: 5 }, (_, k) => Float32Array.from(randomArray(N, 10 + k), (v, i) => direction[i]! + 0.003 * v));
const attacked = honest.map((d, k) => (k === 2 ? Float32Array.from(d, (v) => -10 * v) : d));
const n = [100, 120, 110, 90, 105];

function distance(a: Float32Array, b: Float32Array): number {
  return l2Norm(Float32Array.from(a, (v, i) => v - b[i]!));
}

describe('one hostile site among five', () => {
  it('robust strategies stay close to the honest aggregate; FedAvg is dragged away', async () => {
    const honestStep = l2Norm(direction);
    const moved: Record<string, number> = {};
    const honestNorm = l2Norm(honest[0]!);
    for (const config of [{ name: 'fedavg' }, { name: 'median' }, { name: 'trimmed_mean', trim_count: 1 }, { name: 'norm_bounding', max_norm: honestNorm * 1.1 }]) {
      const s = createStrategy(config);
      const clean = await s.aggregateFit(global, readersOf(honest, n), {});
      const hit = await s.aggregateFit(global, readersOf(attacked, n), {});
      moved[config.name] = distance(hit.global, clean.global) / honestStep;
    }
    // FedAvg: the attacker's -10x delta with weight ~1/5 moves the model ~2.2 honest steps the wrong way.
    expect(moved.fedavg!).toBeGreaterThan(2);
    expect(moved.median!).toBeLessThan(0.25);
    expect(moved.trimmed_mean!).toBeLessThan(0.25);
    // Norm bounding limits the attacker to the honest norm: at most ~(1.1 + 1) / 5 of a step.
    expect(moved.norm_bounding!).toBeLessThan(0.5);
  });

  it('the norm outlier rule flags the hostile site', () => {
    const flags = flagNormOutliers(attacked.map((d, k) => ({ id: `u${k}`, site: `site-${k}`, norm: l2Norm(d) })), { factor: 5 });
    expect(flags.map((f) => f.site)).toEqual(['site-2']);
  });
});
