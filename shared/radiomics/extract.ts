// Feature extraction for one region of one 2D image: intensities inside the mask (the image's own
// values, never a network's normalisation), optional isotropic resampling, discretisation, then the
// selected families in registry order.
import { FlError } from '../errors/index.js';
import { checkDiscretisation, discretise, type Discretisation } from './discretise.js';
import { ihFeatures } from './ih.js';
import { morph2dFeatures, type Spacing } from './morph2d.js';
import { FAMILIES, FEATURES, type Family } from './registry.js';
import { resampleIsotropic } from './regions.js';
import { statFeatures } from './stat.js';
import { textureFamily, type Aggregation } from './texture.js';

export interface ExtractionSettings {
  readonly discretisation: Discretisation;
  readonly aggregation: Aggregation;
  readonly families: readonly Family[];
  /** Resample to square pixels of this size (mm) before extraction; null keeps the grid. */
  readonly resampleMm: number | null;
}

export const DEFAULT_SETTINGS: ExtractionSettings = {
  discretisation: { method: 'bin-width', width: 25 },
  aggregation: 'average',
  families: FAMILIES,
  resampleMm: null,
};

export interface RegionInput {
  readonly width: number;
  readonly height: number;
  /** Intensities, row-major. */
  readonly values: ArrayLike<number>;
  /** Non-zero inside the region. */
  readonly mask: Uint8Array;
  /** Pixel spacing in mm; null when unknown (morphology is then in pixels). */
  readonly spacing: Spacing | null;
}

export interface RegionResult {
  /** One value per name of featureNames(settings.families). */
  readonly values: Float64Array;
  readonly warnings: string[];
  readonly pixels: number;
}

export function featureNames(families: readonly Family[]): string[] {
  return FAMILIES.filter((f) => families.includes(f)).flatMap((f) => FEATURES[f].map((x) => x.name));
}

export function checkSettings(s: ExtractionSettings): void {
  checkDiscretisation(s.discretisation);
  if (s.aggregation !== 'average' && s.aggregation !== 'merge') {
    throw new FlError('radiomics.settings', `texture aggregation "${String(s.aggregation)}": expected average or merge`);
  }
  for (const f of s.families) if (!FAMILIES.includes(f)) throw new FlError('radiomics.settings', `feature family "${f}": expected one of ${FAMILIES.join(', ')}`);
  if (s.resampleMm !== null && !(s.resampleMm > 0)) throw new FlError('radiomics.settings', `resampling spacing ${s.resampleMm} mm: expected a positive number`);
}

export function extractRegion(input: RegionInput, settings: ExtractionSettings): RegionResult {
  let { width, height, values, mask, spacing } = input;
  const warnings: string[] = [];
  if (settings.resampleMm !== null) {
    if (!spacing) throw new FlError('radiomics.spacing', `resampling to ${settings.resampleMm} mm needs the pixel spacing (DICOM Pixel Spacing or a <modality>_spacing_mm column)`);
    const r = resampleIsotropic(values, mask, width, height, spacing, settings.resampleMm);
    ({ width, height, values, mask, spacing } = r);
  }
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < width * height; k++) {
    if (!mask[k]) continue;
    n++;
    const v = values[k]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0) throw new FlError('radiomics.empty-region', 'the region has no pixels');
  const inside = new Float64Array(n);
  for (let k = 0, j = 0; k < width * height; k++) if (mask[k]) inside[j++] = values[k]!;
  const q = discretise(values, mask, width, height, settings.discretisation, { min, max });
  const roiLevels = new Int32Array(n);
  for (let k = 0, j = 0; k < q.levels.length; k++) if (q.levels[k]) roiLevels[j++] = q.levels[k]!;
  if (!spacing && settings.families.includes('morph2d')) warnings.push('pixel spacing unknown: morph2d features are in pixels, not mm');
  const out: number[] = [];
  for (const f of FAMILIES) {
    if (!settings.families.includes(f)) continue;
    switch (f) {
      case 'stat':
        out.push(...statFeatures(inside.slice()));
        break;
      case 'ih':
        out.push(...ihFeatures(roiLevels, q.ng));
        break;
      case 'morph2d':
        out.push(...morph2dFeatures(mask, width, height, spacing ?? { x: 1, y: 1 }));
        break;
      default:
        out.push(...textureFamily(f, [q], settings.aggregation));
    }
  }
  const names = featureNames(settings.families);
  const distinct = new Set(roiLevels).size;
  out.forEach((v, k) => {
    if (Number.isNaN(v)) warnings.push(`${names[k]} is undefined (NaN) for this region: ${n} pixel${n === 1 ? '' : 's'}, ${distinct} grey level${distinct === 1 ? '' : 's'}`);
  });
  return { values: Float64Array.from(out), warnings, pixels: n };
}
