import { describe, expect, it } from 'vitest';
import { fedAdam } from './fedadam.js';
import { fedYogi } from './fedyogi.js';
import { serverOptimizer } from './server-optimizer.js';
import { randomArray, readersOf } from '../../test/helpers/aggregate-testing.js';
import { tensorSetDigest } from '../tensor/tensor-set.js';
import type { StrategyState } from './types.js';

const params = { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 };
const global = Float32Array.from([1, 2]);
// Δ = (1 * [0.1, -0.2] + 3 * [0.3, 0.2]) / 4 = [0.25, 0.1]
const deltas = [Float32Array.from([0.1, -0.2]), Float32Array.from([0.3, 0.2])];
const n = [1, 3];

describe('FedAdam / FedYogi (Reddi et al. 2021)', () => {
  it('FedAdam: one step equals the hand-computed values', async () => {
    const out = await fedAdam(params).aggregateFit(global, readersOf(deltas, n), { step: 0 });
    // m = 0.1 Δ = [0.025, 0.01]; v = 0.99 τ² + 0.01 Δ² = [0.00062599, 0.00010099]
    // x += 0.1 m / (√v + τ): [1 + 0.0025 / 0.0260198.., 2 + 0.001 / 0.0110494..]
    expect(out.global[0]).toBeCloseTo(1 + 0.0025 / (Math.sqrt(0.00062599) + 0.001), 6);
    expect(out.global[0]).toBeCloseTo(1.0960807, 6);
    expect(out.global[1]).toBeCloseTo(2.0905028, 6);
    const s = out.state as { step: number; m: Float32Array; v: Float32Array };
    expect(s.step).toBe(1);
    expect(s.m[0]).toBeCloseTo(0.025, 7);
    expect(s.m[1]).toBeCloseTo(0.01, 7);
    expect(s.v[0]).toBeCloseTo(0.00062599, 9);
    expect(s.v[1]).toBeCloseTo(0.00010099, 9);
  });

  it('FedAdam: the second step uses the moments of the first', async () => {
    const s = fedAdam(params);
    const r1 = await s.aggregateFit(global, readersOf(deltas, n), {});
    const r2 = await s.aggregateFit(r1.global, readersOf(deltas, n), r1.state);
    const m1 = 0.9 * 0.025 + 0.1 * 0.25; // 0.0475
    const v1 = 0.99 * 0.00062599 + 0.01 * 0.0625;
    expect(r2.global[0]).toBeCloseTo(r1.global[0]! + (0.1 * m1) / (Math.sqrt(v1) + 1e-3), 6);
    expect((r2.state as { step: number }).step).toBe(2);
    // The given state is not mutated.
    expect((r1.state as { m: Float32Array }).m[0]).toBeCloseTo(0.025, 7);
  });

  it('FedYogi: one step equals the hand-computed values', async () => {
    const out = await fedYogi(params).aggregateFit(global, readersOf(deltas, n), {});
    // v = τ² - 0.01 Δ² sign(τ² - Δ²) = τ² + 0.01 Δ² = [0.000626, 0.000101]
    expect(out.global[0]).toBeCloseTo(1 + 0.0025 / (Math.sqrt(0.000626) + 0.001), 6);
    expect(out.global[1]).toBeCloseTo(2 + 0.001 / (Math.sqrt(0.000101) + 0.001), 6);
    expect((out.state as { v: Float32Array }).v[0]).toBeCloseTo(0.000626, 9);
  });

  it('refuses bad parameters and state of the wrong shape', async () => {
    expect(() => fedAdam({ ...params, beta1: 1 })).toThrow(/strategy\.beta1/);
    expect(() => fedYogi({ ...params, eta: 0 })).toThrow(/strategy\.eta/);
    const bad: StrategyState = { step: 1, m: new Float32Array(3), v: new Float32Array(3) };
    await expect(fedAdam(params).aggregateFit(global, readersOf(deltas, n), bad)).rejects.toThrow(/state\.m has 3 values, the model has 2/);
    await expect(fedAdam(params).aggregateFit(global, readersOf(deltas, n), { step: 1, m: {}, v: [] })).rejects.toThrow(/state\.m is not a Float32Array/);
  });
});

describe('server optimiser streaming', () => {
  it('small blocks give bit-identical models and moments to one block, over two rounds', async () => {
    const digest = (a: Float32Array) => tensorSetDigest({ infos: [], data: a });
    const len = 2501;
    const g0 = randomArray(len, 9);
    const ups = (r: number) => readersOf([0, 1, 2].map((k) => Float32Array.from(randomArray(len, 100 * r + k), (v) => 0.01 * v)), [3, 5, 8]);
    for (const kind of ['adam', 'yogi'] as const) {
      const run = async (blockElems: number) => {
        const s = serverOptimizer(`fed${kind}`, kind, params, blockElems);
        const r1 = await s.aggregateFit(g0, ups(1), s.initialState!());
        return s.aggregateFit(r1.global, ups(2), r1.state);
      };
      const [a, b] = await Promise.all([run(19), run(len)]);
      expect(digest(a.global)).toBe(digest(b.global));
      const sa = a.state as { m: Float32Array; v: Float32Array; step: number };
      const sb = b.state as { m: Float32Array; v: Float32Array; step: number };
      expect(digest(sa.m)).toBe(digest(sb.m));
      expect(digest(sa.v)).toBe(digest(sb.v));
      expect(sa.step).toBe(2);
    }
  });
});
