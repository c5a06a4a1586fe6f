// Normal and beta distribution functions to double precision (no dependencies), as needed by
// DeLong P-values, Wilson intervals and exact Clopper-Pearson intervals.
const SQRT2PI = Math.sqrt(2 * Math.PI);
/** Standard normal density. */
export function dnorm(x) {
    return Math.exp(-0.5 * x * x) / SQRT2PI;
}
/** Standard normal CDF, relative accuracy ~1e-15 in both tails. */
export function pnorm(x) {
    if (Number.isNaN(x))
        return NaN;
    if (x === Infinity)
        return 1;
    if (x === -Infinity)
        return 0;
    if (x < -3)
        return lowerTail(x);
    if (x > 3)
        return 1 - lowerTail(-x);
    // Series: Phi(x) = 1/2 + phi(x) * sum x^(2k+1) / (1*3*...*(2k+1))
    let term = x;
    let sum = x;
    for (let k = 1; k < 200; k++) {
        term *= (x * x) / (2 * k + 1);
        sum += term;
        if (Math.abs(term) < 1e-17 * Math.abs(sum))
            break;
    }
    return 0.5 + dnorm(x) * sum;
}
/** Phi(x) for x < 0 via the continued fraction of the Mills ratio (modified Lentz). */
function lowerTail(x) {
    const z = -x;
    // R(z) = 1/(z+ 1/(z+ 2/(z+ 3/(z+ ...))))
    const tiny = 1e-300;
    let f = z;
    let c = z;
    let d = 0;
    for (let k = 1; k < 500; k++) {
        d = z + k * d;
        d = d === 0 ? tiny : d;
        c = z + k / c;
        c = c === 0 ? tiny : c;
        d = 1 / d;
        const delta = c * d;
        f *= delta;
        if (Math.abs(delta - 1) < 1e-16)
            break;
    }
    return dnorm(z) / f;
}
/** Two-sided P-value of a standard normal statistic. */
export function twoSidedP(z) {
    return 2 * pnorm(-Math.abs(z));
}
/** Standard normal quantile: a rational start refined by Newton steps on pnorm. */
export function qnorm(p) {
    if (!(p >= 0 && p <= 1))
        return NaN;
    if (p === 0)
        return -Infinity;
    if (p === 1)
        return Infinity;
    if (p === 0.5)
        return 0;
    const q = Math.min(p, 1 - p);
    const t = Math.sqrt(-2 * Math.log(q));
    // Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4) as the starting point.
    let x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
    x = -x; // lower-tail quantile of q
    for (let i = 0; i < 50; i++) {
        const err = pnorm(x) - q;
        const step = err / dnorm(x);
        // Halley correction
        const next = x - step / (1 + 0.5 * x * step);
        if (Math.abs(next - x) <= 1e-15 * Math.max(1, Math.abs(x))) {
            x = next;
            break;
        }
        x = next;
    }
    return p < 0.5 ? x : -x;
}
const LANCZOS = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
/** log Gamma(x) for x > 0 (Lanczos, g = 7). */
export function lgamma(x) {
    if (x < 0.5)
        return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
    const xx = x - 1;
    let a = LANCZOS[0];
    const t = xx + 7.5;
    for (let i = 1; i < 9; i++)
        a += LANCZOS[i] / (xx + i);
    return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}
/** Regularized incomplete beta I_x(a, b). */
export function pbeta(x, a, b) {
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    const lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log1p(-x);
    if (x < (a + 1) / (a + b + 2))
        return Math.exp(lbt) * betacf(x, a, b) / a;
    return 1 - Math.exp(lbt) * betacf(1 - x, b, a) / b;
}
function betacf(x, a, b) {
    const tiny = 1e-300;
    const qab = a + b;
    const qap = a + 1;
    const qam = a - 1;
    let c = 1;
    let d = 1 - (qab * x) / qap;
    if (Math.abs(d) < tiny)
        d = tiny;
    d = 1 / d;
    let h = d;
    for (let m = 1; m <= 10000; m++) {
        const m2 = 2 * m;
        let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (Math.abs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (Math.abs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (Math.abs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (Math.abs(c) < tiny)
            c = tiny;
        d = 1 / d;
        const del = d * c;
        h *= del;
        if (Math.abs(del - 1) < 1e-16)
            break;
    }
    return h;
}
/** Quantile of the beta distribution by bisection on pbeta (monotone, to full precision). */
export function qbeta(p, a, b) {
    if (p <= 0)
        return 0;
    if (p >= 1)
        return 1;
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 200; i++) {
        const mid = 0.5 * (lo + hi);
        if (mid === lo || mid === hi)
            break;
        if (pbeta(mid, a, b) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}
//# sourceMappingURL=distributions.js.map