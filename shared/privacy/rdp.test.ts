import { describe, expect, it } from 'vitest';
import { logErfc } from './log-erfc.js';
import { DEFAULT_ORDERS, RdpAccountant, computeRdp, epsilonFromRdp, gaussianRdp } from './rdp.js';

describe('logErfc', () => {
  it('matches log(erfc(x)) from SciPy/libm, including where erfc underflows', () => {
    const ref: Array<[number, number]> = [
      [-3, 0.6931361352504468],
      [-1, 0.6112323176780705],
      [-0.3, 0.28414589714140825],
      [0, 0],
      [0.5, -0.7350111298370844],
      [1, -1.8496055099332482],
      [1.99, -5.320852015139977],
      [2, -5.364941264616638],
      [2.5, -7.806815272727264],
      [3, -10.720363041981113],
      [5, -27.200889545537436],
      [10, -102.87988902484489],
      [30, -903.9741171106442],
      [100, -10005.177585122668],
    ];
    for (const [x, want] of ref) expect(logErfc(x)).toBeCloseTo(want, 11);
  });
});

describe('RDP of the (sampled) Gaussian mechanism', () => {
  it('is α/(2σ²) per step without sampling and composes additively', () => {
    expect(gaussianRdp(1, 2, 3)).toBe(3 / 8);
    expect(computeRdp(1, 2, 10, [3, 5])).toEqual([3.75, 6.25]);
  });

  it('reproduces TF-Privacy rdp_accountant_test (q=0.01, σ=2.5, 50 steps)', () => {
    const got = computeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100]);
    const want = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
    got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-5));
  });

  it('reproduces the Opacus RDPAccountant test value (σ=1.5, q=0.04, 2250 steps, δ=1e-5 → ε=7.32911117143)', () => {
    const acc = new RdpAccountant();
    acc.step(1.5, 0.04, 2250);
    expect(acc.spent(1e-5).epsilon).toBeCloseTo(7.32911117143, 8);
    expect(acc.spent(1e-5).order).toBeCloseTo(3.9, 12);
  });

  it('reproduces the Opacus analysis docstring example (ε≈0.336 at order 23)', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const rdp = computeRdp(1e-5, 1.0, 10, orders).map((r, i) => r + computeRdp(1e-4, 3.0, 4, orders)[i]!);
    const spent = epsilonFromRdp(orders, rdp, 1e-5);
    expect(spent.epsilon).toBeCloseTo(0.33634406339, 8);
    expect(spent.order).toBe(23);
  });

  it('closed form for full participation: ε_T = min_α Tα/(2σ²) + log((α−1)/α) − (log δ + log α)/(α−1)', () => {
    // reference values computed with the same conversion in double precision (NumPy)
    const acc = new RdpAccountant();
    const eps: number[] = [];
    for (let round = 1; round <= 100; round++) {
      acc.step(1.0);
      eps.push(acc.spent(1e-5).epsilon);
    }
    expect(eps[0]).toBeCloseTo(4.728507067217623, 10);
    expect(eps[9]).toBeCloseTo(19.05359753163139, 10);
    expect(eps[99]).toBeCloseTo(96.11630842505602, 10);
    for (let i = 1; i < eps.length; i++) expect(eps[i]!).toBeGreaterThan(eps[i - 1]!);
    // independent check of one value by brute force over the grid
    const brute = Math.min(
      ...DEFAULT_ORDERS.map((a) => (10 * a) / 2 + Math.log((a - 1) / a) - (Math.log(1e-5) + Math.log(a)) / (a - 1)),
    );
    expect(eps[9]).toBeCloseTo(brute, 12);
  });

  it('more noise means less privacy loss; history round-trips', () => {
    const a = new RdpAccountant();
    const b = new RdpAccountant();
    for (let r = 0; r < 20; r++) {
      a.step(0.8);
      b.step(1.6);
    }
    expect(b.spent(1e-5).epsilon).toBeLessThan(a.spent(1e-5).epsilon);
    expect(a.history).toEqual([{ noiseMultiplier: 0.8, sampleRate: 1, steps: 20 }]);
    expect(new RdpAccountant(a.history).spent(1e-5)).toEqual(a.spent(1e-5));
    expect(new RdpAccountant().spent(1e-5).epsilon).toBe(0);
    expect(() => a.step(0)).toThrow(/noise multiplier must be positive/);
  });
});
