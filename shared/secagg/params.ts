// Study option `secure_aggregation` and the rules that tie threshold and quantisation to the
// number of sites n.
//
// Threshold rule: T >= ceil(2n/3) (and T <= n, n >= 3).
//   Why more than n/2: every honest site answers the unmasking request once, revealing for each
//   peer either a share of its self-mask seed (peer survived) or a share of its pairwise secret key
//   (peer dropped), never both. A server that lies, telling one group that site u survived and
//   another that u dropped, needs T shares of each secret from two disjoint groups of honest sites,
//   impossible when 2T > n. Why ceil(2n/3): with c sites colluding with the server (they answer
//   both ways), the two groups need only 2T - c <= n sites; ceil(2n/3) satisfies 2T > n + c for
//   every c < n/3, the bound of Bonawitz et al. 2017 (malicious server plus fewer than n/3
//   colluding clients). The same T is the number of sites that must survive to the end of the
//   round: fewer than T and the round fails with nothing revealed.
//
// Quantisation rule: each site sends integers in [0, 2^B - 1] in the ring Z_2^32; the sum of n of
// them must not wrap, so n * (2^B - 1) <= 2^32 - 1, i.e. B <= maxBits(n) (27 bits for 20 sites).
import { z } from 'zod';
import { FlError } from '../errors/index.js';

export const RING_BITS = 32;

export const quantizationSchema = z.object({
  /** Updates are clipped elementwise to [-clip, clip] before quantisation. */
  clip: z.number().positive().finite(),
  /** Bits per quantised value; the ring is Z_2^32, so n * (2^bits - 1) must stay below 2^32. */
  bits: z.number().int().min(1).max(31),
}).strict();

export const secureAggregationSchema = z.object({
  enabled: z.boolean().default(false),
  threshold: z.number().int().min(2),
  quantization: quantizationSchema,
}).strict();

export type QuantizationConfig = z.infer<typeof quantizationSchema>;
export type SecureAggregationConfig = z.infer<typeof secureAggregationSchema>;

/** Smallest allowed threshold for n sites: ceil(2n/3) (see the file comment for the reason). */
export function minimumThreshold(n: number): number {
  return Math.ceil((2 * n) / 3);
}

/** Largest B such that the sum of n values in [0, 2^B - 1] does not wrap in Z_2^32. */
export function maxBits(n: number): number {
  let b = 0;
  while (b < 31 && n * (2 ** (b + 1) - 1) <= 2 ** RING_BITS - 1) b++;
  return b;
}

/**
 * Checks the option against the number of sites invited to the round. Throws a FlError naming the
 * field and the allowed range. `where` names the config (e.g. "study.yaml").
 */
export function validateSecureAggregation(cfg: SecureAggregationConfig, n: number, where = 'study config'): void {
  if (!Number.isInteger(n) || n < 3) {
    throw new FlError('config.invalid', `${where}: secure_aggregation needs at least 3 sites, the study has ${n} (with 2 the sum reveals each site's update to the other)`);
  }
  const tMin = minimumThreshold(n);
  if (cfg.threshold < tMin || cfg.threshold > n) {
    throw new FlError(
      'config.invalid',
      `${where}: secure_aggregation.threshold is ${cfg.threshold}; with ${n} sites it must be in ${tMin}..${n} ` +
        `(T >= ceil(2n/3) so that a server cannot obtain both secrets of a site; see the README, secure aggregation)`,
    );
  }
  const bMax = maxBits(n);
  if (cfg.quantization.bits > bMax) {
    throw new FlError(
      'config.invalid',
      `${where}: secure_aggregation.quantization.bits is ${cfg.quantization.bits}; with ${n} sites at most ${bMax} ` +
        `(the sum of ${n} values of B bits must fit in the 32-bit ring without wrapping)`,
    );
  }
}
