// log(erfc(x)) for all real x, accurate to ~1e-14 relative in erfc and finite for large x
// (where erfc itself underflows). Needed by the RDP analysis of the subsampled Gaussian.

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/** erf(x) for |x| < 3 by the all-positive series e^{-x²}·2/√π·Σ 2ⁿx^{2n+1}/(2n+1)!! (no cancellation). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

/** log(erfc(x)) for x ≥ 2 from the continued fraction erfc(x) = e^{-x²}/√π · 1/(x + ½/(x + 1/(x + 3⁄2/(x + …)))). */
function logErfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = f;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -x * x - LOG_SQRT_PI - Math.log(f);
}

export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x === -Infinity) return Math.log(2);
  if (x >= 2) return logErfcContinuedFraction(x);
  if (x > -2) return Math.log1p(-erfSeries(x));
  // erfc(x) = 2 − erfc(−x), with erfc(−x) < 0.005
  return Math.log(2 - Math.exp(logErfcContinuedFraction(-x)));
}
