// One case of a manifest, one modality: reads the image (own intensities), builds the requested
// regions and extracts their features. Runs in a worker thread or in-process.
import { FlError } from '../../shared/errors/index.js';
import { extractRegion, type ExtractionSettings, type RegionInput } from '../../shared/radiomics/extract.js';
import { periRing, rectangleMask, regionName, type RegionSpec } from '../../shared/radiomics/regions.js';
import { readIntensities, readMask } from './intensities.js';

export interface CaseJob {
  readonly caseId: string;
  /** Manifest row (file line), for messages. */
  readonly line: number;
  readonly modality: string;
  readonly image: string;
  readonly mask?: string;
  readonly roi?: readonly [number, number, number, number];
  /** From the manifest column; overrides the file's own spacing. */
  readonly spacingMm?: readonly [number, number];
  readonly regions: readonly RegionSpec[];
  readonly settings: ExtractionSettings;
}

export interface CaseResult {
  readonly caseId: string;
  /** One array of feature values per region, in job order. */
  readonly values: Float64Array[];
  readonly pixels: number[];
  readonly warnings: string[];
  readonly spacing: { x: number; y: number; source: string } | null;
}

export async function extractCase(job: CaseJob): Promise<CaseResult> {
  const where = `row ${job.line} (case ${job.caseId})`;
  const img = await readIntensities(job.image, `${where}, column ${job.modality}`);
  const spacing = job.spacingMm
    ? { x: job.spacingMm[0], y: job.spacingMm[1], source: `manifest column ${job.modality}_spacing_mm` }
    : (img.spacing ?? null);
  let mask: Uint8Array | undefined;
  if (job.mask) {
    const m = await readMask(job.mask, `${where}, column ${job.modality}_mask`);
    if (m.width !== img.width || m.height !== img.height) {
      throw new FlError('radiomics.mask', `${where}, column ${job.modality}_mask: the mask is ${m.width}x${m.height} but the image is ${img.width}x${img.height}`);
    }
    mask = m.mask;
  }
  const values: Float64Array[] = [];
  const pixels: number[] = [];
  const warnings: string[] = [];
  for (const region of job.regions) {
    const name = `${job.modality}.${regionName(region)}`;
    let regionMask: Uint8Array;
    if (region.kind === 'roi') {
      if (!job.roi) throw new FlError('radiomics.region', `${where}: region roi needs a rectangle in column ${job.modality}_roi`);
      regionMask = rectangleMask(img.width, img.height, job.roi);
    } else {
      if (!mask) throw new FlError('radiomics.region', `${where}: region ${regionName(region)} needs a lesion mask in column ${job.modality}_mask`);
      if (region.kind === 'lesion') regionMask = mask;
      else {
        if (!spacing) {
          throw new FlError('radiomics.spacing', `${where}: region ${regionName(region)} is in mm but the pixel spacing is unknown; add a ${job.modality}_spacing_mm column (mm per pixel) or use DICOM images with Pixel Spacing`);
        }
        regionMask = periRing(mask, img.width, img.height, spacing, region.mm);
      }
    }
    const input: RegionInput = { width: img.width, height: img.height, values: img.values, mask: regionMask, spacing };
    let r;
    try {
      r = extractRegion(input, job.settings);
    } catch (err) {
      if (err instanceof FlError) throw new FlError(err.code, `${where}, region ${name}: ${err.message}`, { cause: err });
      throw err;
    }
    values.push(r.values);
    pixels.push(r.pixels);
    for (const w of r.warnings) warnings.push(`${where}, ${name}: ${w}`);
  }
  return { caseId: job.caseId, values, pixels, warnings, spacing };
}
