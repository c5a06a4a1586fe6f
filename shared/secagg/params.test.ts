import { describe, expect, it } from 'vitest';
import { maxBits, minimumThreshold, secureAggregationSchema, validateSecureAggregation } from './params.js';

describe('threshold and quantisation rules', () => {
  it('T >= ceil(2n/3) is the smallest T with 2T > n + c for every c < n/3 colluding sites', () => {
    // Hand-computed: n=3 -> 2, n=5 -> 4, n=10 -> 7, n=20 -> 14.
    expect([3, 5, 10, 20].map(minimumThreshold)).toEqual([2, 4, 7, 14]);
    for (let n = 3; n <= 60; n++) {
      const cMax = Math.ceil(n / 3) - 1; // largest c with c < n/3
      const smallest = Math.floor((n + cMax) / 2) + 1; // smallest T with 2T > n + cMax
      expect(minimumThreshold(n)).toBe(smallest);
    }
  });

  it('bits: n * (2^B - 1) must fit in 32 bits', () => {
    expect(maxBits(3)).toBe(30); // 3 * (2^30 - 1) < 2^32 <= 3 * (2^31 - 1)
    expect(maxBits(4)).toBe(30); // 4 * (2^30 - 1) = 2^32 - 4
    expect(maxBits(5)).toBe(29);
    expect(maxBits(20)).toBe(27);
    for (const n of [3, 7, 20, 100, 1000]) {
      const b = maxBits(n);
      expect(n * (2 ** b - 1)).toBeLessThanOrEqual(2 ** 32 - 1);
      expect(n * (2 ** (b + 1) - 1)).toBeGreaterThan(2 ** 32 - 1);
    }
  });

  it('validation names the field and the allowed range', () => {
    const cfg = secureAggregationSchema.parse({ enabled: true, threshold: 6, quantization: { clip: 0.1, bits: 16 } });
    expect(() => validateSecureAggregation(cfg, 10, 'study.yaml')).toThrow(/study.yaml: secure_aggregation.threshold is 6; with 10 sites it must be in 7..10/);
    expect(() => validateSecureAggregation({ ...cfg, threshold: 11 }, 10)).toThrow(/must be in 7..10/);
    expect(() => validateSecureAggregation({ ...cfg, threshold: 14, quantization: { clip: 0.1, bits: 28 } }, 20)).toThrow(/bits is 28; with 20 sites at most 27/);
    expect(() => validateSecureAggregation({ ...cfg, threshold: 2 }, 2)).toThrow(/at least 3 sites/);
    expect(() => validateSecureAggregation({ ...cfg, threshold: 7 }, 10)).not.toThrow();
    expect(secureAggregationSchema.safeParse({ enabled: true, threshold: 3, quantization: { clip: -1, bits: 8 } }).success).toBe(false);
    expect(secureAggregationSchema.safeParse({ enabled: true, threshold: 3, quantization: { clip: 1, bits: 32 } }).success).toBe(false);
  });
});
