// The IBSI 1 digital phantom: intensity statistics, intensity histogram and the 2D texture
// families (averaged and slice-merged) against the IBSI consensus reference values.
import { describe, expect, it } from 'vitest';
import { discretise, type Quantised } from './discretise.js';
import { ihFeatures } from './ih.js';
import { FEATURES, type Family } from './registry.js';
import { statFeatures } from './stat.js';
import { textureFamily, type Aggregation, type TextureFamily } from './texture.js';
import { IH, PHANTOM, PHANTOM_MASK, STAT, TEXTURE_2D_AVERAGED, TEXTURE_2D_MERGED, type IbsiReference } from './fixtures/ibsi-phantom.js';

const W = 5;
const H = 4;

function slices(): Quantised[] {
  return PHANTOM.map((plane, z) => {
    const values = new Float64Array(plane.flat());
    const mask = new Uint8Array(PHANTOM_MASK[z]!.flat());
    // The phantom is used as it is: fixed bin size 1 from its lowest ROI level (1) leaves it unchanged.
    return discretise(values, mask, W, H, { method: 'bin-width', width: 1 }, { min: 1, max: 6 });
  });
}

function roiValues(): Float64Array {
  const v: number[] = [];
  PHANTOM.forEach((plane, z) => plane.forEach((row, y) => row.forEach((x, i) => PHANTOM_MASK[z]![y]![i] && v.push(x))));
  return new Float64Array(v);
}

/** Half a unit in the last digit written, e.g. "0.0567" -> 0.00005, "43.9" -> 0.05, "113" -> 0.5. */
function tolerance(value: string): number {
  const m = /^-?(\d+)(?:\.(\d+))?(?:e(-?\d+))?$/.exec(value);
  if (!m) throw new Error(`unreadable reference ${value}`);
  const decimals = m[2]?.length ?? 0;
  const exp = Number(m[3] ?? 0);
  return 0.5 * 10 ** (exp - decimals) * (1 + 1e-9);
}

function check(refs: readonly IbsiReference[], family: Family, values: number[]): void {
  const infos = FEATURES[family];
  const rows = refs.filter((r) => r.family === family);
  expect(rows.length).toBe(infos.length);
  for (const r of rows) {
    const k = infos.findIndex((f) => f.ibsi === r.id);
    expect(k, `${family} ${r.id} (${r.feature}) is in the registry`).toBeGreaterThanOrEqual(0);
    const got = values[k]!;
    const want = Number(r.value);
    expect(Math.abs(got - want), `${infos[k]!.name} (${r.feature}): ${got} vs IBSI ${r.value}`).toBeLessThanOrEqual(tolerance(r.value));
  }
}

describe('IBSI 1 digital phantom', () => {
  it('has 74 ROI voxels with mean 2.15 (transcription check)', () => {
    const v = roiValues();
    expect(v.length).toBe(74);
    expect(v.reduce((a, b) => a + b, 0)).toBe(159);
  });

  it('intensity statistics match the IBSI reference values', () => {
    check(STAT, 'stat', statFeatures(roiValues()));
  });

  it('intensity histogram features match the IBSI reference values', () => {
    const levels: number[] = [];
    for (const q of slices()) for (const g of q.levels) if (g) levels.push(g);
    check(IH, 'ih', ihFeatures(levels, 6));
  });

  for (const [aggregation, refs] of [['average', TEXTURE_2D_AVERAGED], ['merge', TEXTURE_2D_MERGED]] as [Aggregation, readonly IbsiReference[]][]) {
    for (const family of ['cm', 'rlm', 'szm', 'dzm', 'ngt', 'ngl'] as TextureFamily[]) {
      it(`${family} 2D ${aggregation}d matches the IBSI reference values`, () => {
        check(refs, family, textureFamily(family, slices(), aggregation));
      });
    }
  }
});
