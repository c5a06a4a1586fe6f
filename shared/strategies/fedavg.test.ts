import { describe, expect, it } from 'vitest';
import { fedAvg } from './fedavg.js';
import { fedProx } from './fedprox.js';
import { readersOf } from '../../test/helpers/aggregate-testing.js';

describe('FedAvg', () => {
  it('moves the global model by the hand-computed example-weighted mean delta', async () => {
    const global = Float32Array.from([1, 2, 3]);
    const deltas = [Float32Array.from([1, 0, -2]), Float32Array.from([3, 4, 2]), Float32Array.from([0, -8, 1])];
    // (10 d0 + 30 d1 + 60 d2) / 100 = [100, -360, 100] / 100 = [1, -3.6, 1]
    const out = await fedAvg().aggregateFit(global, readersOf(deltas, [10, 30, 60]), {});
    expect(Array.from(out.global)).toEqual([2, Math.fround(2 - 3.6), 4]);
    expect(out.metrics.total_examples).toBe(100);
    expect(out.metrics.updates).toBe(3);
    expect(Array.from(global)).toEqual([1, 2, 3]); // input untouched
  });

  it('refuses rounds without examples, without updates, or with a wrong length', async () => {
    const g = new Float32Array(2);
    await expect(fedAvg().aggregateFit(g, readersOf([new Float32Array(2)], [0]), {})).rejects.toThrow(/no training examples/);
    await expect(fedAvg().aggregateFit(g, [], {})).rejects.toThrow(/no updates/);
    await expect(fedAvg().aggregateFit(g, readersOf([new Float32Array(3)], [1]), {})).rejects.toThrow(/site "site-0" has 3 values, the model has 2/);
  });

  it('FedProx aggregates as FedAvg and sends proximal_mu to the sites', async () => {
    const s = fedProx(0.05);
    expect(s.configureFit({ round: 1, model: 'm' }).params).toEqual({ proximal_mu: 0.05 });
    const g = Float32Array.from([1, 1]);
    const ds = [Float32Array.from([1, 2]), Float32Array.from([3, 4])];
    const a = await s.aggregateFit(g, readersOf(ds, [1, 3]), {});
    const b = await fedAvg().aggregateFit(g, readersOf(ds, [1, 3]), {});
    expect(Array.from(a.global)).toEqual(Array.from(b.global));
    expect(() => fedProx(-1)).toThrow(/proximal_mu -1/);
  });
});
