// Wrappers add a cross-cutting rule around any strategy (Flower's strategy wrappers, e.g.
// DifferentialPrivacyServerSideFixedClipping, work the same way): the round engine knows neither
// the norm-outlier filter nor the privacy accountant, it only calls the round hooks.
import { updateNorms } from '../aggregate/norms.js';
import { flagNormOutliers } from '../aggregate/outliers.js';
import { RdpAccountant } from '../privacy/rdp.js';
import { AggregationError } from './checks.js';
import type { AggregateResult, FitInstructions, PrivacySpentReport, RoundInfo, Strategy } from './types.js';

/** The round cannot aggregate: fewer usable updates than min_sites (the round fails with this reason). */
export class QuorumError extends AggregationError {
  override name = 'QuorumError';
}

/**
 * Leaves out, before the inner strategy sees them, updates whose L2 norm is above `factor` x the
 * round's median norm (a scaled, sign-flipped or broken update); each exclusion is returned with
 * its reason for the study log. With fewer than 3 updates no median is meaningful: nothing is
 * filtered.
 */
export function withNormOutlierFilter(inner: Strategy, factor: number): Strategy {
  return {
    ...inner,
    needsIndividualUpdates: true,
    async aggregateFit(global, results, state, round?: RoundInfo): Promise<AggregateResult> {
      if (results.length < 3) return inner.aggregateFit(global, results, state, round);
      const norms = await updateNorms(results, global.length);
      const flags = flagNormOutliers(results.map((u, i) => ({ id: u.id, site: u.site, norm: norms[i]! })), { factor });
      if (flags.length === 0) return inner.aggregateFit(global, results, state, round);
      const flagged = new Set(flags.map((f) => f.index));
      const keep = results.filter((_, i) => !flagged.has(i));
      const excluded = flags.map((f) => ({ id: f.id, site: f.site, reason: f.reason }));
      if (round?.minSites !== undefined && keep.length < round.minSites) {
        throw new QuorumError(`model "${round.model}": ${keep.length} update(s) accepted, min_sites is ${round.minSites} (${excluded.length} left out as norm outliers)`);
      }
      const failures = [...(round?.failures ?? []), ...excluded.map((e) => ({ site: e.site, reason: e.reason }))];
      const out = await inner.aggregateFit(global, keep, state, round ? { ...round, failures } : undefined);
      return { ...out, excluded: [...(out.excluded ?? []), ...excluded] };
    },
  };
}

export interface DpSettings {
  readonly clip: number;
  readonly noise_multiplier: number;
  readonly delta: number;
}

/**
 * Study-wide privacy accounting: every aggregated model release of every round is one
 * application of the Gaussian mechanism (site-level noise, sampling rate 1). One instance serves
 * all the study's models, since they are trained on the same data.
 */
export class DpAccounting {
  private accountant = new RdpAccountant();
  constructor(readonly settings: DpSettings) {}

  /** After a restart: `releases` models were already released. */
  restore(releases: number): void {
    this.accountant = releases > 0 ? new RdpAccountant([{ noiseMultiplier: this.settings.noise_multiplier, sampleRate: 1, steps: releases }]) : new RdpAccountant();
  }

  release(): PrivacySpentReport {
    this.accountant.step(this.settings.noise_multiplier, 1, 1);
    const spent = this.accountant.spent(this.settings.delta);
    return { epsilon: spent.epsilon, delta: this.settings.delta, noise_multiplier: this.settings.noise_multiplier, clip: this.settings.clip, releases: this.accountant.totalSteps };
  }
}

/**
 * Sites clip their update to `clip` and add N(0, (noise_multiplier * clip)^2) noise (the training
 * task carries both); each aggregate is accounted and the privacy spent so far is reported.
 */
export function withDpAccounting(inner: Strategy, accounting: DpAccounting): Strategy {
  const { clip, noise_multiplier } = accounting.settings;
  return {
    ...inner,
    configureFit(round): FitInstructions {
      return { params: { ...inner.configureFit(round).params, dp_clip: clip, dp_noise_multiplier: noise_multiplier } };
    },
    async aggregateFit(global, results, state, round) {
      const out = await inner.aggregateFit(global, results, state, round);
      return { ...out, privacy: accounting.release() };
    },
  };
}
