// Shamir secret sharing (Shamir 1979) over the prime field GF(p), p = 2^521 - 1 (a Mersenne prime,
// so every 256-bit secret, e.g. a raw X25519 key or a 32-byte seed, is a field element as is).
// A secret s is the constant term of a random polynomial f of degree T-1; share i is (i, f(i)),
// i = 1..n. Any T shares give s by Lagrange interpolation at 0; any T-1 shares are independent
// of s (information-theoretically), which is what "fewer than T reveal nothing" rests on.
import { randomBytes } from 'node:crypto';
import { FlError } from '../errors/index.js';

export const PRIME = (1n << 521n) - 1n;
/** Bytes of one share value (big-endian, fixed width). */
export const SHARE_BYTES = 66;

export function mod(a: bigint): bigint {
  const r = a % PRIME;
  return r < 0n ? r + PRIME : r;
}

export function powMod(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % PRIME;
    b = (b * b) % PRIME;
    e >>= 1n;
  }
  return result;
}

/** Multiplicative inverse by the extended Euclidean algorithm. */
export function invMod(a: bigint): bigint {
  let r0 = PRIME;
  let r1 = mod(a);
  if (r1 === 0n) throw new FlError('secagg.shamir', 'no inverse of 0 in GF(p)', { user: false });
  let t0 = 0n;
  let t1 = 1n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0);
}

/** A uniform field element: 521 random bits, rejected when >= p (probability 2^-521). */
export function randomFieldElement(): bigint {
  for (;;) {
    const bytes = randomBytes(SHARE_BYTES);
    bytes[0]! &= 0x01;
    const v = bytesToBigInt(bytes);
    if (v < PRIME) return v;
  }
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function bigIntToBytes(v: bigint, width: number): Buffer {
  if (v < 0n) throw new FlError('secagg.shamir', 'negative value cannot be encoded', { user: false });
  const out = Buffer.alloc(width);
  let x = v;
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  if (x !== 0n) throw new FlError('secagg.shamir', `value does not fit in ${width} bytes`, { user: false });
  return out;
}

export interface Share {
  /** The evaluation point, 1..n (never 0: f(0) is the secret). */
  readonly x: number;
  readonly y: bigint;
}

/** Evaluates the polynomial with the given coefficients (constant term first) at x, Horner's rule. */
export function evalPoly(coeffs: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let i = coeffs.length - 1; i >= 0; i--) acc = (acc * x + coeffs[i]!) % PRIME;
  return acc;
}

/** Splits `secret` (< p) into shares at x = 1..n, any `threshold` of which reconstruct it. */
export function split(secret: bigint, threshold: number, n: number, coefficients?: readonly bigint[]): Share[] {
  if (secret < 0n || secret >= PRIME) throw new FlError('secagg.shamir', 'secret is not a field element', { user: false });
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > n) {
    throw new FlError('secagg.shamir', `threshold ${threshold} must be an integer in 1..${n}`, { user: false });
  }
  const coeffs = [secret];
  for (let i = 1; i < threshold; i++) coeffs.push(coefficients?.[i - 1] ?? randomFieldElement());
  const shares: Share[] = [];
  for (let x = 1; x <= n; x++) shares.push({ x, y: evalPoly(coeffs, BigInt(x)) });
  return shares;
}

/** Lagrange interpolation of the given points, evaluated at `at` (0 gives the secret). */
export function interpolate(shares: readonly Share[], at: bigint): bigint {
  const xs = new Set<number>();
  for (const s of shares) {
    if (!Number.isInteger(s.x) || s.x < 1) throw new FlError('secagg.shamir', `share point ${s.x} is not a positive integer`);
    if (xs.has(s.x)) throw new FlError('secagg.shamir', `two shares at the same point x=${s.x}`);
    xs.add(s.x);
  }
  let acc = 0n;
  for (let i = 0; i < shares.length; i++) {
    const xi = BigInt(shares[i]!.x);
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < shares.length; j++) {
      if (j === i) continue;
      const xj = BigInt(shares[j]!.x);
      num = (num * mod(at - xj)) % PRIME;
      den = (den * mod(xi - xj)) % PRIME;
    }
    acc = (acc + shares[i]!.y * ((num * invMod(den)) % PRIME)) % PRIME;
  }
  return acc;
}

/**
 * The secret from at least `threshold` shares. With more than `threshold` shares, every extra share
 * must lie on the polynomial through the first `threshold` ones, else a share was altered
 * (detected, not corrected) and this throws.
 */
export function reconstruct(shares: readonly Share[], threshold: number): bigint {
  if (shares.length < threshold) {
    throw new FlError('secagg.too-few', `${shares.length} shares, ${threshold} needed: the secret cannot be reconstructed`);
  }
  const base = shares.slice(0, threshold);
  for (const extra of shares.slice(threshold)) {
    if (interpolate(base, BigInt(extra.x)) !== extra.y) {
      throw new FlError('secagg.share-mismatch', `share at x=${extra.x} is inconsistent with the others (altered or corrupt share)`);
    }
  }
  return interpolate(base, 0n);
}
