// Small, fast, seedable PRNG (xoshiro128**) with the draws the generators and augmentation need.
// Platform-independent: the same seed gives the same stream on every machine.
import { Xoshiro128 } from '../util/xoshiro128.js';

/** 32-bit FNV-1a hash of a string, for deriving sub-seeds from names ("site-2/case-17/gsus"). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Rng extends Xoshiro128 {
  private spare: number | null = null;

  /** Seeded by a number and optional name parts, e.g. `new Rng(seed, 'site-1', 'case-3')`. */
  constructor(seed: number, ...parts: (string | number)[]) {
    super(hash32(`${seed >>> 0}/${parts.join('/')}`) ^ (seed >>> 0));
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(mean = 0, sd = 1): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return mean + sd * v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

