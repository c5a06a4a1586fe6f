import { describe, it, expect } from 'vitest';
import { fedAvg } from './fedavg.js';
import { DpAccounting, QuorumError, withDpAccounting, withNormOutlierFilter } from './wrappers.js';
import { createStudyStrategies } from './study.js';
import { RdpAccountant } from '../privacy/rdp.js';
import { readersOf } from '../../test/helpers/aggregate-testing.js';

const g = new Float32Array([0, 0]);
const round = { round: 1, model: 'm', minSites: 2 };

describe('strategy wrappers', () => {
  it('the norm-outlier filter leaves out a 20x update, returns it with the reason, and the inner strategy averages the rest', async () => {
    const ds = [Float32Array.from([1, 1]), Float32Array.from([1, 2]), Float32Array.from([2, 1]), Float32Array.from([-20, -20])];
    const s = withNormOutlierFilter(fedAvg(), 10);
    const out = await s.aggregateFit(g, readersOf(ds, [1, 1, 1, 1]), {}, round);
    expect(out.excluded?.map((e) => e.site)).toEqual(['site-3']);
    expect(out.excluded?.[0]?.reason).toMatch(/L2 norm 28.28 is 12.6x the median/);
    expect(Array.from(out.global)).toEqual([4 / 3, 4 / 3].map(Math.fround));
    // Without the outlier, plain FedAvg gives the same model.
    const plain = await fedAvg().aggregateFit(g, readersOf(ds.slice(0, 3), [1, 1, 1]), {});
    expect(Array.from(out.global)).toEqual(Array.from(plain.global));
  });

  it('leaving out outliers below min_sites fails the round with a QuorumError, not a smaller aggregate', async () => {
    const ds = [Float32Array.from([1, 1]), Float32Array.from([1, 1]), Float32Array.from([50, 50]), Float32Array.from([60, 60])];
    const s = withNormOutlierFilter(fedAvg(), 10);
    // median of norms is between 1.4 and 70: neither huge update is 10x it, nothing to leave out
    await expect(s.aggregateFit(g, readersOf(ds, [1, 1, 1, 1]), {}, { ...round, minSites: 4 })).resolves.toBeDefined();
    const ds2 = [Float32Array.from([1, 1]), Float32Array.from([1, 1]), Float32Array.from([1, 1]), Float32Array.from([90, 90])];
    await expect(s.aggregateFit(g, readersOf(ds2, [1, 1, 1, 1]), {}, { ...round, minSites: 4 })).rejects.toBeInstanceOf(QuorumError);
  });

  it('DP accounting adds clip and noise to the training task and reports the accountant epsilon per release', async () => {
    const acc = new DpAccounting({ clip: 1, noise_multiplier: 1.1, delta: 1e-5 });
    const s = withDpAccounting(fedAvg(), acc);
    expect(s.configureFit(round).params).toEqual({ dp_clip: 1, dp_noise_multiplier: 1.1 });
    const ds = [Float32Array.from([1, 1]), Float32Array.from([0, 1])];
    const a = await s.aggregateFit(g, readersOf(ds, [1, 1]), {});
    const b = await s.aggregateFit(g, readersOf(ds, [1, 1]), {});
    expect(a.privacy?.releases).toBe(1);
    expect(b.privacy?.releases).toBe(2);
    expect(b.privacy?.epsilon).toBeCloseTo(new RdpAccountant([{ noiseMultiplier: 1.1, sampleRate: 1, steps: 2 }]).spent(1e-5).epsilon, 12);
    acc.restore(5);
    expect((await s.aggregateFit(g, readersOf(ds, [1, 1]), {})).privacy?.releases).toBe(6);
  });

  it('a study composes its strategy with the wrappers it configures, one accountant for all models', () => {
    const models = [{ name: 'a' }, { name: 'b' }] as never;
    const st = createStudyStrategies({ models, strategy: { name: 'fedprox', proximal_mu: 0.2 }, outlier_norm_factor: 10, dp: { clip: 2, noise_multiplier: 1, delta: 1e-5 }, sites: undefined, min_sites: 2 });
    expect(st.accounting).not.toBeNull();
    expect(st.byModel.get('a')!.configureFit(round).params).toEqual({ proximal_mu: 0.2, dp_clip: 2, dp_noise_multiplier: 1 });
    expect(st.byModel.get('b')!.needsIndividualUpdates).toBe(true);
    const plain = createStudyStrategies({ models, strategy: { name: 'fedavg' }, outlier_norm_factor: 0, dp: undefined, sites: undefined, min_sites: 2 });
    expect(plain.accounting).toBeNull();
    expect(plain.byModel.get('a')!.needsIndividualUpdates).toBeUndefined();
  });
});
