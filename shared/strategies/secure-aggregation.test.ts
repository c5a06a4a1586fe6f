// The secure-aggregation wrapper's start-time rules: rules that need individual updates are
// refused with the reason, norm bounding becomes site-side clipping, DP stays at the sites, and
// the study config checks the threshold and bits against the number of sites.
import { describe, it, expect } from 'vitest';
import { createStudyStrategies } from './study.js';
import { studySchema } from '../config/study.js';

const base = {
  id: 's', rounds: 1, min_sites: 3, sites: ['a', 'b', 'c', 'd', 'e', 'f'], models: [{ name: 'm', architecture: 'fake' }],
  outlier_norm_factor: 0, secure_aggregation: { enabled: true, threshold: 4, quantization: { clip: 0.1, bits: 28 } },
};

describe('withSecureAggregation at study start', () => {
  it.each([{ name: 'median' }, { name: 'trimmed_mean', trim_count: 1 }])('refuses $name (it must see individual updates)', (strategy) => {
    const study = studySchema.parse({ ...base, strategy });
    expect(() => createStudyStrategies(study)).toThrow(/cannot be combined with strategy "(median|trimmed_mean)".*only the sum/);
  });

  it('refuses the norm-outlier filter: the config asks for outlier_norm_factor: 0', () => {
    const r = studySchema.safeParse({ ...base, outlier_norm_factor: 10 });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.message).join()).toMatch(/set outlier_norm_factor: 0/);
    // and the wrapper refuses it too when given a study that skipped validation
    expect(() => createStudyStrategies({ ...studySchema.parse(base), outlier_norm_factor: 10 })).toThrow(/norm-outlier filter/);
  });

  it('checks T in ceil(2n/3)..n and bits against the ring, naming the field', () => {
    const low = studySchema.safeParse({ ...base, secure_aggregation: { ...base.secure_aggregation, threshold: 3 } });
    expect(low.error!.issues[0]!.path).toEqual(['secure_aggregation']);
    expect(low.error!.issues[0]!.message).toMatch(/threshold is 3; with 6 sites it must be in 4\.\.6/);
    const bits = studySchema.safeParse({ ...base, secure_aggregation: { ...base.secure_aggregation, quantization: { clip: 0.1, bits: 31 } } });
    expect(bits.error!.issues[0]!.message).toMatch(/bits is 31; with 6 sites at most 29/);
  });

  it('FedAvg/FedProx/FedAdam run on the sum; norm bounding becomes site clipping; DP noise stays at the sites', () => {
    for (const name of ['fedavg', 'fedprox', 'fedadam', 'fedyogi']) {
      const s = createStudyStrategies(studySchema.parse({ ...base, strategy: { name } })).byModel.get('m')!;
      expect(s.name).toBe(name);
      expect(s.maskedUpdates).toBe(true);
      expect(s.phases!.map((p) => [p.name, p.when])).toEqual([['secagg.setup', 'before_fit'], ['secagg.unmask', 'after_fit']]);
      expect(s.configureFit({ round: 1, model: 'm' }).params.secagg).toBe(1);
    }
    const nb = createStudyStrategies(studySchema.parse({ ...base, strategy: { name: 'norm_bounding', max_norm: 2.5 } })).byModel.get('m')!;
    expect(nb.name).toBe('fedavg');
    expect(nb.configureFit({ round: 1, model: 'm' }).params).toMatchObject({ secagg: 1, secagg_clip_norm: 2.5 });
    const dp = createStudyStrategies(studySchema.parse({ ...base, dp: { clip: 1, noise_multiplier: 0.8 } })).byModel.get('m')!;
    expect(dp.configureFit({ round: 1, model: 'm' }).params).toMatchObject({ secagg: 1, dp_clip: 1, dp_noise_multiplier: 0.8 });
  });
});
