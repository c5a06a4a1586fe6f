// Norm bounding (Sun et al. 2019, "Can you really backdoor federated learning?"): each update is
// clipped to a maximum L2 norm before the weighted mean. The clip is a per-update factor
// min(1, maxNorm / ||x_k||) folded into that update's weight, so it costs nothing in the sum.

/** Clip factors min(1, maxNorm / norm); throws on a non-finite norm (a non-finite update). */
export function clipFactors(norms: readonly number[], maxNorm: number): number[] {
  if (!(Number.isFinite(maxNorm) && maxNorm > 0)) throw new RangeError(`max norm ${maxNorm}: expected a finite number > 0`);
  return norms.map((n, k) => {
    if (!(Number.isFinite(n) && n >= 0)) throw new RangeError(`update ${k}: L2 norm ${n} is not finite`);
    return n > maxNorm ? maxNorm / n : 1;
  });
}
