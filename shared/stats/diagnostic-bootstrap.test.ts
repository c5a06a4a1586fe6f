import { describe, expect, it } from 'vitest';
import { pairedBootstrapDifference, type Statistic } from './bootstrap.js';
import { diagnosticReplicates, pairedDiagnosticDifferences } from './diagnostic-bootstrap.js';
import { StatsRng } from './rng.js';

describe('paired NPV / specificity bootstrap by pattern counts', () => {
  const r = new StatsRng(77);
  const n = 400;
  const labels = Uint8Array.from({ length: n }, () => (r.below(4) === 0 ? 1 : 0));
  const a = Uint8Array.from(labels, (y) => (r.below(10) < (y ? 8 : 2) ? 1 : 0));
  const b = Uint8Array.from(labels, (y) => (r.below(10) < (y ? 6 : 3) ? 1 : 0));
  const npv = (c: Uint8Array): Statistic => (idx) => {
    let tn = 0, cn = 0;
    for (const i of idx) if (!c[i]) { cn++; if (labels[i] === 0) tn++; }
    return cn ? tn / cn : null;
  };
  const spec = (c: Uint8Array): Statistic => (idx) => {
    let tn = 0, ng = 0;
    for (const i of idx) if (labels[i] === 0) { ng++; if (!c[i]) tn++; }
    return ng ? tn / ng : null;
  };

  it('gives exactly the generic paired bootstrap (same resamples, same figures)', () => {
    const o = { replicates: 300, seed: 9 };
    const fast = pairedDiagnosticDifferences(diagnosticReplicates(labels, [a, b], o), 0, 1, o);
    expect(fast.npv).toEqual(pairedBootstrapDifference(labels, npv(a), npv(b), o));
    expect(fast.specificity).toEqual(pairedBootstrapDifference(labels, spec(a), spec(b), o));
    expect(fast.npv.p).toBeLessThan(0.05);
  });

  it('identical calls give difference 0 and P = 1', () => {
    const o = { replicates: 100, seed: 1 };
    const same = pairedDiagnosticDifferences(diagnosticReplicates(labels, [a, a.slice()], o), 0, 1, o);
    expect(same.npv).toMatchObject({ estimate: 0, p: 1 });
    expect(same.specificity).toMatchObject({ estimate: 0, p: 1 });
  });
});
