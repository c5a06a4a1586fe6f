import { describe, expect, it } from 'vitest';
import { flagNormOutliers } from './outliers.js';

const u = (norms: number[]) => norms.map((norm, k) => ({ id: `u${k}`, site: `site-${k}`, norm }));

describe('norm outlier flags', () => {
  it('flags a norm far above the others, with the reason', () => {
    const flags = flagNormOutliers(u([1.0, 1.2, 0.9, 1.1, 12]));
    expect(flags.map((f) => f.site)).toEqual(['site-4']);
    expect(flags[0]!.reason).toMatch(/L2 norm 12\.00 is 10\.9x the median 1\.100 of this round's 5 updates \(limit 10x\)/);
    expect(flagNormOutliers(u([1.0, 1.2, 0.9, 1.1, 12]), { factor: 20 })).toEqual([]);
  });

  it('flags non-finite norms always, outliers only with enough updates', () => {
    expect(flagNormOutliers(u([1, 100])).length).toBe(0);
    expect(flagNormOutliers(u([1, NaN])).map((f) => f.reason)).toEqual(['L2 norm NaN is not finite']);
    expect(() => flagNormOutliers(u([1]), { factor: 1 })).toThrow(/factor 1/);
  });
});
