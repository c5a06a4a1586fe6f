// Every family on images small enough to compute by hand (the arithmetic is in the comments).
import { describe, expect, it } from 'vitest';
import { discretise, levelOf, type Quantised } from './discretise.js';
import { extractRegion, featureNames, DEFAULT_SETTINGS } from './extract.js';
import { glcm, glcmFeatures } from './glcm.js';
import { glrlm } from './glrlm.js';
import { edgeDistance, zones } from './glszm.js';
import { ihFeatures } from './ih.js';
import { morph2dFeatures } from './morph2d.js';
import { ngldm, ngtdmFeatures } from './ngtdm.js';
import { FEATURES, type Family } from './registry.js';
import { parseRegion, periRing, rectangleMask } from './regions.js';
import { statFeatures } from './stat.js';
import { zoneFeatures } from './zone-features.js';

const pick = (family: Family, values: number[], short: string): number => {
  const k = FEATURES[family].findIndex((f) => f.name === `${family}_${short}` || f.name.startsWith(`${family}_${short}_`));
  if (k < 0) throw new Error(`no feature ${family}_${short}`);
  return values[k]!;
};

// Grey levels   1 1 2
//               1 2 2     (3 x 2, every pixel in the region, Ng = 2)
const small: Quantised = { width: 3, height: 2, levels: new Int32Array([1, 1, 2, 1, 2, 2]), ng: 2 };

describe('discretisation', () => {
  it('fixed bin size counts from the region minimum; fixed bin number puts the maximum in the last bin', () => {
    expect([0, 24, 25, 60].map((x) => levelOf({ method: 'bin-width', width: 25 }, x, 0, 60))).toEqual([1, 1, 2, 3]);
    expect([0, 1, 2, 4].map((x) => levelOf({ method: 'bin-count', count: 4 }, x, 0, 4))).toEqual([1, 2, 3, 4]);
    expect(levelOf({ method: 'bin-count', count: 4 }, 7, 7, 7)).toBe(1);
    const q = discretise([10, 40, 70, 99], new Uint8Array([1, 1, 0, 1]), 2, 2, { method: 'bin-width', width: 25 }, { min: 10, max: 99 });
    expect(Array.from(q.levels)).toEqual([1, 2, 0, 4]);
    expect(q.ng).toBe(4);
  });
});

describe('intensity statistics (values 1, 2, 3, 4)', () => {
  const f = statFeatures(new Float64Array([4, 1, 3, 2]));
  it.each([
    ['mean', 2.5], ['var', 1.25], ['skew', 0], ['kurt', 2.5625 / 1.5625 - 3], ['median', 2.5], ['min', 1], ['p10', 1.3], ['p90', 3.7], ['max', 4],
    ['iqr', 1.5], ['range', 3], ['mad', 1], ['rmad', 0.5], ['medad', 1], ['cov', Math.sqrt(1.25) / 2.5], ['qcod', 0.3], ['energy', 30], ['rms', Math.sqrt(7.5)],
  ])('%s = %d', (short, want) => expect(pick('stat', f, short as string)).toBeCloseTo(want as number, 12));
  it('skewness and kurtosis of a constant region are undefined (NaN)', () => {
    const c = statFeatures(new Float64Array([5, 5, 5]));
    expect(pick('stat', c, 'skew')).toBeNaN();
    expect(pick('stat', c, 'kurt')).toBeNaN();
  });
});

describe('intensity histogram (levels 1, 1, 2, 4 of 4)', () => {
  // Histogram 2 1 0 1; gradient -1 (one-sided), -1, 0, 1 (one-sided).
  const f = ihFeatures([1, 1, 2, 4], 4);
  it.each([
    ['mean', 2], ['var', 1.5], ['median', 1.5], ['min', 1], ['max', 4], ['mode', 1], ['range', 3], ['entropy', 1.5], ['uniformity', 0.375],
    ['max_grad', 1], ['max_grad_g', 4], ['min_grad', -1], ['min_grad_g', 1], ['mad', 1], ['medad', 1],
  ])('%s = %d', (short, want) => expect(pick('ih', f, short as string)).toBeCloseTo(want as number, 12));
});

describe('GLCM along (1, 0)', () => {
  // Pairs (1,1) (1,2) / (1,2) (2,2), symmetric: every cell 2 of 8, p = 0.25.
  const m = glcm(small, 1, 0);
  const f = glcmFeatures(m, 2);
  it('counts', () => expect(Array.from(m)).toEqual([2, 2, 2, 2]));
  it.each([
    ['joint_max', 0.25], ['joint_avg', 1.5], ['joint_var', 0.25], ['joint_entr', 2], ['diff_avg', 0.5], ['diff_var', 0.25], ['diff_entr', 1],
    ['sum_avg', 3], ['sum_var', 0.5], ['sum_entr', 1.5], ['energy', 0.25], ['contrast', 0.5], ['dissimilarity', 0.5], ['inv_diff', 0.75],
    ['inv_diff_norm', 0.5 + 0.5 / 1.5], ['inv_diff_mom', 0.75], ['inv_diff_mom_norm', 0.5 + 0.5 / 1.25], ['inv_var', 0.5], ['corr', 0],
    ['auto_corr', 2.25], ['clust_tend', 0.5], ['clust_shade', 0], ['clust_prom', 0.5], ['info_corr1', 0], ['info_corr2', 0],
  ])('%s = %d', (short, want) => expect(pick('cm', f, short as string)).toBeCloseTo(want as number, 12));
  it('correlation of a constant region is NaN, and extraction says so', () => {
    const r = extractRegion({ width: 2, height: 2, values: [7, 7, 7, 7], mask: new Uint8Array([1, 1, 1, 1]), spacing: { x: 1, y: 1 } }, DEFAULT_SETTINGS);
    const names = featureNames(DEFAULT_SETTINGS.families);
    expect(r.values[names.indexOf('cm_corr')]).toBeNaN();
    expect(r.warnings.some((w) => w.startsWith('cm_corr is undefined (NaN)') && w.includes('1 grey level'))).toBe(true);
  });
});

describe('GLRLM along (1, 0)', () => {
  // Runs: (level 1, length 2), (2, 1), (1, 1), (2, 2); Ns = 4 of 6 pixels.
  const f = zoneFeatures(glrlm(small, 1, 0), 6);
  it.each([
    ['sre', 2.5 / 4], ['lre', 2.5], ['lgre', 2.5 / 4], ['hgre', 2.5], ['srlge', (0.25 + 0.25 + 1 + 1 / 16) / 4], ['srhge', (0.25 + 4 + 1 + 1) / 4],
    ['lrlge', (4 + 0.25 + 1 + 1) / 4], ['lrhge', (4 + 4 + 1 + 16) / 4], ['glnu', 2], ['glnu_norm', 0.5], ['rlnu', 2], ['rlnu_norm', 0.5],
    ['r_perc', 4 / 6], ['gl_var', 0.25], ['rl_var', 0.25], ['rl_entr', 2],
  ])('%s = %d', (short, want) => expect(pick('rlm', f, short as string)).toBeCloseTo(want as number, 12));
});

describe('GLSZM and GLDZM', () => {
  // Two 8-connected zones of 3 pixels (levels 1 and 2), both touching the border (distance 1).
  const z = zones(small);
  const s = zoneFeatures(z.size, 6);
  const d = zoneFeatures(z.distance, 6);
  it.each([
    ['sze', 1 / 9], ['lze', 9], ['lgze', 0.625], ['hgze', 2.5], ['glnu', 1], ['glnu_norm', 0.5], ['zsnu', 2], ['zsnu_norm', 1], ['z_perc', 2 / 6],
    ['gl_var', 0.25], ['zs_var', 0], ['zs_entr', 1], ['szlge', 0.625 / 9], ['szhge', 2.5 / 9], ['lzlge', 0.625 * 9], ['lzhge', 2.5 * 9],
  ])('szm %s = %d', (short, want) => expect(pick('szm', s, short as string)).toBeCloseTo(want as number, 12));
  it.each([['sde', 1], ['lde', 1], ['zdnu', 2], ['zd_var', 0], ['z_perc', 2 / 6], ['lgze', 0.625], ['hgze', 2.5], ['sdlge', 0.625], ['sdhge', 2.5], ['ldlge', 0.625], ['ldhge', 2.5], ['glnu', 1], ['glnu_norm', 0.5], ['zdnu_norm', 1], ['gl_var', 0.25], ['zd_entr', 1]])(
    'dzm %s = %d',
    (short, want) => expect(pick('dzm', d, short as string)).toBeCloseTo(want as number, 12),
  );
  it('distance to the edge is taxicab, 1 on the border, and counts a hole as edge', () => {
    const full: Quantised = { width: 5, height: 5, levels: new Int32Array(25).fill(1), ng: 1 };
    expect(Array.from(edgeDistance(full)).slice(10, 15)).toEqual([1, 2, 3, 2, 1]);
    const holed = { ...full, levels: full.levels.map((v, k) => (k === 12 ? 0 : v)) };
    expect(Array.from(edgeDistance(holed)).slice(5, 10)).toEqual([1, 2, 1, 2, 1]);
  });
});

describe('NGTDM', () => {
  // s1 = s2 = 1/3 + 3/5 + 1/3 = 19/15, n1 = n2 = 3 (p = 1/2), Nvc = 6.
  const f = ngtdmFeatures(small);
  it.each([['coarseness', 15 / 19], ['contrast', 0.25 * (38 / 15 / 6)], ['busyness', 19 / 15], ['complexity', 38 / 90], ['strength', 30 / 38]])('%s = %d', (short, want) =>
    expect(pick('ngt', f, short as string)).toBeCloseTo(want as number, 12),
  );
  it('a constant region has no grey tone difference: coarseness NaN', () => {
    expect(ngtdmFeatures({ width: 2, height: 1, levels: new Int32Array([1, 1]), ng: 1 })[0]).toBeNaN();
  });
});

describe('NGLDM', () => {
  // Every pixel has two equal neighbours: dependence 3 for all 6 pixels.
  const f = zoneFeatures(ngldm(small), 6, true);
  it.each([
    ['lde', 1 / 9], ['hde', 9], ['lgce', 0.625], ['hgce', 2.5], ['ldlge', 0.625 / 9], ['ldhge', 2.5 / 9], ['hdlge', 0.625 * 9], ['hdhge', 22.5],
    ['glnu', 3], ['glnu_norm', 0.5], ['dcnu', 6], ['dcnu_norm', 1], ['dc_perc', 1], ['gl_var', 0.25], ['dc_var', 0], ['dc_entr', 1], ['dc_energy', 0.5],
  ])('%s = %d', (short, want) => expect(pick('ngl', f, short as string)).toBeCloseTo(want as number, 12));
});

describe('2D morphology', () => {
  it('a single pixel is a diamond of area 1/2', () => {
    const f = morph2dFeatures(new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0]), 3, 3, { x: 1, y: 1 });
    expect(pick('morph2d', f, 'area')).toBeCloseTo(0.5, 12);
    expect(pick('morph2d', f, 'perimeter')).toBeCloseTo(4 * Math.SQRT1_2, 12);
    expect(pick('morph2d', f, 'pixel_area')).toBe(1);
  });
  it('a 2x2 block at 0.5 mm is an octagon of 3.5 px^2 and perimeter 4 + 2 sqrt 2 px', () => {
    const mask = new Uint8Array(16);
    for (const k of [5, 6, 9, 10]) mask[k] = 1;
    const f = morph2dFeatures(mask, 4, 4, { x: 0.5, y: 0.5 });
    const want: [string, number][] = [
      ['area', 3.5 * 0.25], ['pixel_area', 1], ['perimeter', (4 + 4 * Math.SQRT1_2) * 0.5], ['max_diameter', Math.sqrt(5) * 0.5],
      ['major_axis', 4 * 0.5 * 0.5], ['minor_axis', 1], ['elongation', 1], ['convex_area', 0.875], ['area_density', 1], ['perimeter_density', 1],
      ['perimeter_area_ratio', ((4 + 4 * Math.SQRT1_2) * 0.5) / 0.875], ['circularity', (4 * Math.PI * 0.875) / ((4 + 4 * Math.SQRT1_2) * 0.5) ** 2],
      ['sphericity', (2 * Math.sqrt(Math.PI * 0.875)) / ((4 + 4 * Math.SQRT1_2) * 0.5)],
    ];
    for (const [short, v] of want) expect(pick('morph2d', f, short), short).toBeCloseTo(v, 12);
  });
});

describe('regions', () => {
  it('a ring of 1 mm around one pixel holds its 4 edge neighbours; 1.5 mm adds the diagonals; clipped at the border', () => {
    const mask = new Uint8Array(25);
    mask[12] = 1;
    expect(periRing(mask, 5, 5, { x: 1, y: 1 }, 1).reduce((a, b) => a + b, 0)).toBe(4);
    expect(periRing(mask, 5, 5, { x: 1, y: 1 }, 1.5).reduce((a, b) => a + b, 0)).toBe(8);
    expect(periRing(mask, 5, 5, { x: 0.5, y: 1 }, 1).reduce((a, b) => a + b, 0)).toBe(6);
    const corner = new Uint8Array(25);
    corner[0] = 1;
    expect(periRing(corner, 5, 5, { x: 1, y: 1 }, 1.5).reduce((a, b) => a + b, 0)).toBe(3);
  });
  it('parses region names and draws rectangles', () => {
    expect(parseRegion('peri:2mm')).toEqual({ kind: 'peri', mm: 2 });
    expect(() => parseRegion('peri:2')).toThrow(/peri:<d>mm/);
    expect(rectangleMask(4, 3, [1, 1, 2, 5]).reduce((a, b) => a + b, 0)).toBe(4);
  });
});
