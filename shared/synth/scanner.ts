// Site-specific scanner characteristics (gain, speckle, resolution, attenuation) and prevalence.
import type { Rng } from './rng.js';

export interface ScannerProfile {
  /** Overall brightness multiplier. */
  readonly gain: number;
  /** Speckle strength in [0, 1]. */
  readonly speckle: number;
  /** Speckle grain size in pixels at 128 px (scaled with image size). */
  readonly grain: number;
  /** Blur radius in pixels at 128 px (lower resolution = larger). */
  readonly blur: number;
  /** Depth attenuation: intensity falls by exp(-attenuation * depth/size). */
  readonly attenuation: number;
}

export interface SiteProfile {
  readonly scanner: ScannerProfile;
  /** Fraction of metastatic (positive) cases. */
  readonly prevalence: number;
}

export function drawSiteProfile(rng: Rng): SiteProfile {
  return {
    scanner: {
      gain: rng.uniform(0.85, 1.15),
      speckle: rng.uniform(0.45, 0.75),
      grain: rng.uniform(1, 2.2),
      blur: rng.int(0, 2),
      attenuation: rng.uniform(0.15, 0.6),
    },
    prevalence: rng.uniform(0.3, 0.45),
  };
}

/** The prospective cohort: later, on a re-tuned scanner, with a slightly different case mix. */
export function prospectiveShift(site: SiteProfile, rng: Rng): SiteProfile {
  const s = site.scanner;
  return {
    scanner: {
      gain: s.gain * rng.uniform(1.04, 1.12),
      speckle: Math.min(0.9, s.speckle + rng.uniform(0.03, 0.08)),
      grain: s.grain * rng.uniform(0.95, 1.1),
      blur: s.blur,
      attenuation: s.attenuation * rng.uniform(0.9, 1.2),
    },
    prevalence: Math.min(0.6, Math.max(0.15, site.prevalence + rng.uniform(-0.06, 0.06))),
  };
}
