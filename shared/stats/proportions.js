// Binomial proportions with 95% confidence intervals computed exactly as base R does:
//   wilson: prop.test(x, n, correct = FALSE)$conf.int (score interval, no continuity correction)
//   exact:  binom.test(x, n)$conf.int (Clopper-Pearson, from beta quantiles)
import { qbeta, qnorm } from './distributions.js';
/** Wilson score interval as in R's prop.test(correct = FALSE). */
export function wilsonCi(x, n, conf = 0.95) {
    const p = x / n;
    const z = qnorm((1 + conf) / 2);
    const z22n = (z * z) / (2 * n);
    const half = (c) => z * Math.sqrt((c * (1 - c)) / n + z22n / (2 * n));
    const upper = p >= 1 ? 1 : (p + z22n + half(p)) / (1 + 2 * z22n);
    const lower = p <= 0 ? 0 : (p + z22n - half(p)) / (1 + 2 * z22n);
    return [Math.max(lower, 0), Math.min(upper, 1)];
}
/** Clopper-Pearson interval as in R's binom.test. */
export function exactCi(x, n, conf = 0.95) {
    const alpha = (1 - conf) / 2;
    const lower = x === 0 ? 0 : qbeta(alpha, x, n - x + 1);
    const upper = x === n ? 1 : qbeta(1 - alpha, x + 1, n - x);
    return [lower, upper];
}
/** x successes out of n, with a 95% CI; a zero denominator gives null with a reason. */
export function proportion(x, n, method = 'wilson', what = 'proportion') {
    if (!Number.isInteger(x) || !Number.isInteger(n) || x < 0 || x > n) {
        throw new RangeError(`${what}: need integers 0 <= x <= n, got x=${x}, n=${n}`);
    }
    if (n === 0)
        return { estimate: null, ci: null, method, numerator: x, denominator: n, reason: `${what} undefined: zero denominator` };
    return { estimate: x / n, ci: method === 'exact' ? exactCi(x, n) : wilsonCi(x, n), method, numerator: x, denominator: n };
}
//# sourceMappingURL=proportions.js.map