// Seeded PRNG for the bootstrap: xoshiro128** seeded through splitmix32, platform independent.

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

export class StatsRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const st = { s: seed | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in [0, n), 1 <= n <= 2^31, without modulo bias (rejection of the incomplete top block). */
  below(n: number): number {
    return this.sampler(n)();
  }

  /** A drawer of uniform integers in [0, n) with the rejection limit computed once (31-bit integer arithmetic). */
  sampler(n: number): () => number {
    if (!(Number.isInteger(n) && n >= 1 && n <= 2147483648)) throw new RangeError(`sampler: n = ${n} is not an integer in [1, 2^31]`);
    const limit = 2147483648 - (2147483648 % n);
    return () => {
      let x = this.nextU32() >>> 1;
      while (x >= limit) x = this.nextU32() >>> 1;
      return x % n;
    };
  }
}
