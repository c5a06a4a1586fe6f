// Flags updates whose L2 norm is far above the round's others (a scaled or broken update):
// norm > factor x the median norm of the round. Pure: the coordinator records the reason and
// leaves flagged updates out of the aggregate.
import { median } from './order-statistics.js';

export interface NormOutlierOptions {
  /** Flag norms above factor x the round's median norm (default 10). */
  readonly factor?: number;
  /** Fewest updates for a meaningful median (default 3); with fewer, only non-finite norms are flagged. */
  readonly minUpdates?: number;
}

export interface NormFlag {
  readonly index: number;
  readonly id: string;
  readonly site: string;
  readonly norm: number;
  readonly reason: string;
}

export function flagNormOutliers(
  updates: readonly { readonly id: string; readonly site: string; readonly norm: number }[],
  options: NormOutlierOptions = {},
): NormFlag[] {
  const factor = options.factor ?? 10;
  const minUpdates = options.minUpdates ?? 3;
  if (!(Number.isFinite(factor) && factor > 1)) throw new RangeError(`norm outlier factor ${factor}: expected a finite number > 1`);
  if (!(Number.isInteger(minUpdates) && minUpdates >= 1)) throw new RangeError(`norm outlier minUpdates ${minUpdates}: expected an integer >= 1`);
  const flags: NormFlag[] = [];
  const finite = updates.filter((u) => Number.isFinite(u.norm) && u.norm >= 0);
  const med = median(finite.map((u) => u.norm));
  updates.forEach((u, index) => {
    if (!(Number.isFinite(u.norm) && u.norm >= 0)) {
      flags.push({ index, id: u.id, site: u.site, norm: u.norm, reason: `L2 norm ${u.norm} is not finite` });
      return;
    }
    if (finite.length < minUpdates) return;
    const limit = factor * med;
    if (u.norm > limit) {
      const ratio = med > 0 ? `${(u.norm / med).toPrecision(3)}x` : 'infinitely above';
      flags.push({
        index, id: u.id, site: u.site, norm: u.norm,
        reason: `L2 norm ${u.norm.toPrecision(4)} is ${ratio} the median ${med.toPrecision(4)} of this round's ${finite.length} updates (limit ${factor}x)`,
      });
    }
  });
  return flags;
}
