// Seeded PRNG for the bootstrap: xoshiro128** seeded through splitmix32, platform independent.
import { Xoshiro128 } from '../util/xoshiro128.js';
export class StatsRng extends Xoshiro128 {
    constructor(seed) {
        super(seed | 0);
    }
    /** Uniform integer in [0, n), 1 <= n <= 2^31, without modulo bias (rejection of the incomplete top block). */
    below(n) {
        return this.sampler(n)();
    }
    /** A drawer of uniform integers in [0, n) with the rejection limit computed once (31-bit integer arithmetic). */
    sampler(n) {
        if (!(Number.isInteger(n) && n >= 1 && n <= 2147483648))
            throw new RangeError(`sampler: n = ${n} is not an integer in [1, 2^31]`);
        const limit = 2147483648 - (2147483648 % n);
        return () => {
            let x = this.nextU32() >>> 1;
            while (x >= limit)
                x = this.nextU32() >>> 1;
            return x % n;
        };
    }
}
//# sourceMappingURL=rng.js.map