import { describe, expect, it } from 'vitest';
import { createStrategy, strategyConfigSchema, strategyNames } from './registry.js';
import { ConfigError } from '../config/load.js';

describe('strategy registry', () => {
  it('builds every strategy with defaults', () => {
    for (const name of strategyNames) {
      const s = createStrategy(name === 'norm_bounding' ? { name, max_norm: 2 } : { name });
      expect(s.name).toBe(name);
    }
    expect(strategyConfigSchema.parse({ name: 'fedadam' })).toEqual({ name: 'fedadam', eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    expect(createStrategy({ name: 'fedprox' }).configureFit({ round: 1, model: 'm' }).params).toEqual({ proximal_mu: 0.01 });
  });

  it('names the field in config errors', () => {
    const err = (c: unknown) => {
      try {
        createStrategy(c);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(err({ name: 'fedadam', beta2: 1.5 })).toMatch(/strategy\.beta2/);
    expect(err({ name: 'norm_bounding' })).toMatch(/strategy\.max_norm/);
    expect(err({ name: 'fedavg', eta: 1 })).toMatch(/eta/);
    expect(err({ name: 'krum' })).toMatch(/known: fedavg, fedprox/);
    expect(err({ name: 'trimmed_mean', beta: 0.1, trim_count: 1 })).toMatch(/strategy\.trim_count: give beta or trim_count, not both/);
  });

  it('validate() refuses rules that cannot be honoured', () => {
    const ctx = (minSites: number, expectedSites = minSites) => ({ minSites, expectedSites });
    expect(() => createStrategy({ name: 'trimmed_mean', trim_count: 2 }).validate(ctx(4, 10))).toThrow(/strategy\.trim_count: trimming 2 update\(s\) from each end needs at least 5 sites per round, but min_sites is 4/);
    createStrategy({ name: 'trimmed_mean', trim_count: 2 }).validate(ctx(5));
    expect(() => createStrategy({ name: 'trimmed_mean', beta: 0.2 }).validate(ctx(4))).toThrow(/strategy\.beta: 0\.2 trims no update when 4 site/);
    createStrategy({ name: 'trimmed_mean' }).validate(ctx(5));
    createStrategy({ name: 'median' }).validate(ctx(1));
  });
});
