// Site-side DP for one round: clip the update to L2 norm C, then add Gaussian noise with
// standard deviation σ·C to every coordinate. The result is what the privacy guard lets leave.
import { clipL2 } from './clip.js';
import type { DpConfig } from './dp-config.js';
import { GaussianSampler } from './gaussian-noise.js';

export interface DpUpdateReport {
  /** L2 norm of the update before clipping. */
  readonly normBeforeClip: number;
  readonly clipped: boolean;
  readonly noiseStd: number;
}

/** Clip and noise `delta` in place (an update = local weights − global weights). */
export function privatiseUpdate(
  delta: Float32Array,
  dp: Pick<DpConfig, 'clip' | 'noiseMultiplier'>,
  sampler: GaussianSampler = new GaussianSampler(),
): DpUpdateReport {
  const { norm, clipped } = clipL2(delta, dp.clip);
  const noiseStd = dp.noiseMultiplier * dp.clip;
  sampler.addNoise(delta, noiseStd);
  return { normBeforeClip: norm, clipped, noiseStd };
}
