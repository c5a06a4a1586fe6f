// Synthetic multicenter data: one folder per site with manifest.csv and PNG images of both
// modalities (GSUS and CEUS), cohorts train / validation / test / prospective. Deterministic in
// the seed: the same options always give byte-identical files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { toUint8, type Gray } from './image-ops.js';
import { boundingBox, ceusAppearance, ellipseRadius, gsusAppearance, suspicion, type Ellipse } from './lymph-node.js';
import { renderDoppler, type Rgb } from './doppler.js';
import { renderCeus, renderGsus } from './render.js';
import { Rng } from './rng.js';
import { drawClinicalCase, STUDY_CLINICAL_COLUMNS, STUDY_NAMES, STUDY_PROFILES, type ClinicalCase, type StudyName } from './clinical.js';
import { drawSiteProfile, prospectiveShift, type SiteProfile } from './scanner.js';

export const COHORTS = ['train', 'validation', 'test', 'prospective'] as const;
export type Cohort = (typeof COHORTS)[number];

export interface GenerateSitesOptions {
  /** Output directory; site folders `site-1`, `site-2`, ... are created inside. */
  readonly out: string;
  readonly sites: number;
  readonly casesPerSite: number;
  readonly seed: number;
  /** Side of the square PNG images (default 128). */
  readonly imageSize?: number;
  /** Class separation d of each modality's evidence score (default 1.6: single-modality Bayes AUC ~0.87, fused ~0.95). */
  readonly separation?: number;
  /** Fractions of train / validation / test / prospective (default 0.6 / 0.1 / 0.2 / 0.1). */
  readonly cohortFractions?: readonly [number, number, number, number];
  /**
   * Image pair per case: 'gsus-ceus' (default; grey B-mode + contrast-enhanced) or 'bmus-cdus'
   * (grey B-mode + RGB colour Doppler, for dual-stream B-mode/Doppler models).
   */
  readonly pair?: 'gsus-ceus' | 'bmus-cdus';
  /**
   * A seed study (clinical.ts): the clinical variables, the outcome the images show and the pair
   * follow the study's profile, and the study's extra columns are appended. Without it the files
   * are exactly those of earlier versions for the same seed.
   */
  readonly study?: StudyName;
}

export interface GeneratedSite {
  readonly site: string;
  readonly dir: string;
  readonly manifest: string;
  readonly profile: SiteProfile;
  readonly cases: Record<Cohort, { n: number; positives: number }>;
}

export interface GenerateSitesResult {
  readonly sites: GeneratedSite[];
  readonly imageSize: number;
  readonly separation: number;
}

export const MANIFEST_COLUMNS = [
  'case_id', 'cohort', 'label', 'gsus', 'ceus', 'gsus_roi', 'ceus_roi', 'age', 'tumor_size_mm', 'ki67', 'n_positive_nodes',
  'gsus_mask', 'gsus_mask_2', 'gsus_spacing_mm', 'ceus_mask', 'ceus_mask_2', 'ceus_spacing_mm',
] as const;

/** Binary lesion mask (0 / 255) of an ellipse, on the renderer's pixel grid. */
export function ellipseMask(e: Ellipse, size: number): Gray {
  const data = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data[y * size + x] = ellipseRadius(e, x, y) < 1 ? 1 : 0;
  return { width: size, height: size, data };
}

/**
 * A second reader's outline of the same node: the ellipse shifted by ~0.6 px, each semi-axis scaled
 * by ~3% and turned by ~2 degrees (a Dice of about 0.93-0.97, typical of repeated ultrasound
 * delineations). Drawn from its own stream so the images' stream is unchanged.
 */
export function secondDelineation(e: Ellipse, rng: Rng): Ellipse {
  return {
    cx: e.cx + rng.normal(0, 0.6),
    cy: e.cy + rng.normal(0, 0.6),
    a: e.a * (1 + rng.normal(0, 0.03)),
    b: e.b * (1 + rng.normal(0, 0.03)),
    angle: e.angle + rng.normal(0, 0.035),
  };
}

export const DOPPLER_MANIFEST_COLUMNS = [
  'case_id', 'cohort', 'label', 'bmus', 'cdus', 'bmus_roi', 'cdus_roi', 'age', 'tumor_size_mm', 'ki67', 'n_positive_nodes',
  'bmus_mask', 'bmus_mask_2', 'bmus_spacing_mm', 'cdus_mask', 'cdus_mask_2', 'cdus_spacing_mm',
] as const;

function writeRgbPng(path: string, img: Rgb): void {
  const png = new PNG({ width: img.width, height: img.height, colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  writeFileSync(path, PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 }));
}

function writeGrayPng(path: string, img: Gray): void {
  const png = new PNG({ width: img.width, height: img.height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(toUint8(img).buffer);
  writeFileSync(path, PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 }));
}

/** Cohort sizes that add up to n, each at least 1 when n >= 4. */
export function cohortSizes(n: number, fractions: readonly number[]): number[] {
  const total = fractions.reduce((a, b) => a + b, 0);
  const sizes = fractions.map((f) => Math.floor((n * f) / total));
  if (n >= fractions.length) for (let i = 0; i < sizes.length; i++) if (sizes[i] === 0) sizes[i] = 1;
  let diff = n - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; diff !== 0; i = (i + 1) % sizes.length) {
    if (diff > 0) {
      sizes[i]!++;
      diff--;
    } else if (sizes[i]! > 1) {
      sizes[i]!--;
      diff++;
    }
  }
  return sizes;
}

function validate(o: GenerateSitesOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.sites) || o.sites < 1 || o.sites > 100) problems.push(`sites ${o.sites}: expected an integer in 1..100`);
  if (!Number.isInteger(o.casesPerSite) || o.casesPerSite < 4 || o.casesPerSite > 100_000) {
    problems.push(`casesPerSite ${o.casesPerSite}: expected an integer in 4..100000`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 2 ** 32 - 1) problems.push(`seed ${o.seed}: expected an integer in 0..2^32-1`);
  const size = o.imageSize ?? 128;
  if (!Number.isInteger(size) || size < 32 || size > 1024) problems.push(`imageSize ${size}: expected an integer in 32..1024`);
  const d = o.separation ?? 1.6;
  if (!(d >= 0 && d <= 10)) problems.push(`separation ${d}: expected a number in 0..10`);
  if (o.pair !== undefined && o.pair !== 'gsus-ceus' && o.pair !== 'bmus-cdus') problems.push(`pair ${String(o.pair)}: expected gsus-ceus or bmus-cdus`);
  if (o.study !== undefined && !(STUDY_NAMES as readonly string[]).includes(o.study)) problems.push(`study ${String(o.study)}: expected one of ${STUDY_NAMES.join(', ')}`);
  if (o.cohortFractions && (o.cohortFractions.length !== 4 || o.cohortFractions.some((f) => !(f > 0)))) {
    problems.push('cohortFractions: expected four positive numbers (train, validation, test, prospective)');
  }
  if (problems.length) throw new Error(`synthetic data options are invalid:\n  ${problems.join('\n  ')}`);
}

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function generateSites(o: GenerateSitesOptions): GenerateSitesResult {
  validate(o);
  const size = o.imageSize ?? 128;
  const d = o.separation ?? 1.6;
  const fractions = o.cohortFractions ?? [0.6, 0.1, 0.2, 0.1];
  const sites: GeneratedSite[] = [];
  for (let s = 1; s <= o.sites; s++) {
    const site = `site-${s}`;
    const dir = join(o.out, site);
    mkdirSync(join(dir, 'images'), { recursive: true });
    const siteRng = new Rng(o.seed, site, 'profile');
    // Pixel spacing of the site's scanner preset (its own stream: the images' streams are untouched).
    const spacing = Math.round(new Rng(o.seed, site, 'spacing').uniform(0.06, 0.12) * 1e4) / 1e4;
    const profile = drawSiteProfile(siteRng);
    const prospective = prospectiveShift(profile, siteRng);
    const sizes = cohortSizes(o.casesPerSite, fractions);
    const cases = {} as Record<Cohort, { n: number; positives: number }>;
    const doppler = (o.pair ?? (o.study ? STUDY_PROFILES[o.study].pair : undefined)) === 'bmus-cdus';
    const rows: string[] = [[...(doppler ? DOPPLER_MANIFEST_COLUMNS : MANIFEST_COLUMNS), ...(o.study ? STUDY_CLINICAL_COLUMNS : [])].join(',')];
    // A study's site prevalence varies around the profile's (logit shift, its own stream).
    const studyShift = o.study ? new Rng(o.seed, site, 'study-prevalence').normal(0, 0.25) : 0;
    let index = 0;
    COHORTS.forEach((cohort, ci) => {
      const p = cohort === 'prospective' ? prospective : profile;
      let positives = 0;
      for (let k = 0; k < sizes[ci]!; k++) {
        index++;
        const caseId = `S${s}-${String(index).padStart(4, '0')}`;
        const rng = new Rng(o.seed, site, caseId);
        const clinical: ClinicalCase | null = o.study ? drawClinicalCase(o.study, new Rng(o.seed, site, caseId, 'clinical'), studyShift) : null;
        const label = clinical ? clinical.label : rng.bernoulli(p.prevalence) ? 1 : 0;
        positives += label;
        // Evidence scores: d for a positive case, more for a high nodal burden where the study's
        // images carry it (STUDY_PROFILES[study].burdenEvidence; without a study, none).
        const burden = clinical && o.study && clinical.n_positive_nodes >= 3 ? STUDY_PROFILES[o.study].burdenEvidence : 0;
        const zg = d * (label + burden) + rng.normal();
        const zc = d * (label + burden) + rng.normal();
        const gApp = gsusAppearance(suspicion(zg, d), size, rng);
        let gsusPath: string;
        let ceusPath: string;
        let secondNode = gApp.node;
        if (doppler) {
          gsusPath = `images/${caseId}_bmus.png`;
          ceusPath = `images/${caseId}_cdus.png`;
          const bmode = renderGsus(gApp, p.scanner, size, rng);
          writeGrayPng(join(dir, gsusPath), bmode);
          // The Doppler frame is taken in the same position as the B-mode one, so it overlays it.
          writeRgbPng(join(dir, ceusPath), renderDoppler(bmode, gApp.node, suspicion(zc, d), rng));
        } else {
          const cApp = ceusAppearance(suspicion(zc, d), gApp.node, size, rng);
          secondNode = cApp.node;
          gsusPath = `images/${caseId}_gsus.png`;
          ceusPath = `images/${caseId}_ceus.png`;
          writeGrayPng(join(dir, gsusPath), renderGsus(gApp, p.scanner, size, rng));
          writeGrayPng(join(dir, ceusPath), renderCeus(cApp, p.scanner, size, rng));
        }
        // Lesion masks (a first and a second delineation) and the pixel spacing, per modality,
        // from their own stream so the images' stream is unchanged.
        const maskRng = new Rng(o.seed, site, caseId, 'masks');
        const maskPaths: string[] = [];
        const mods = doppler ? [['bmus', gApp.node], ['cdus', gApp.node]] as const : [['gsus', gApp.node], ['ceus', secondNode]] as const;
        for (const [m, node] of mods) {
          const first = `images/${caseId}_${m}_mask.png`;
          const second = `images/${caseId}_${m}_mask_2.png`;
          writeGrayPng(join(dir, first), ellipseMask(node, size));
          writeGrayPng(join(dir, second), ellipseMask(secondDelineation(node, maskRng), size));
          maskPaths.push(first, second, String(spacing));
        }
        // Clinical covariates, weakly associated with nodal status.
        let age = Math.round(Math.min(85, Math.max(25, rng.normal(54 - 2 * label, 10))));
        let tumour = Math.round(Math.exp(rng.normal(Math.log(18) + 0.25 * label, 0.35)) * 10) / 10;
        let ki67 = Math.round(Math.min(95, Math.max(1, rng.normal(22 + 8 * label, 12))));
        let nodes = label ? 1 + Math.floor(-Math.log(1 - rng.next()) * 1.2) : 0;
        if (clinical) ({ age, tumor_size_mm: tumour, ki67, n_positive_nodes: nodes } = clinical);
        const extra = clinical ? STUDY_CLINICAL_COLUMNS.map((c) => clinical[c]) : [];
        const roi = (box: [number, number, number, number]): string => box.join(' ');
        rows.push(
          [caseId, cohort, label, gsusPath, ceusPath, roi(boundingBox(gApp.node, 0.25, size)), roi(boundingBox(secondNode, 0.25, size)), age, tumour, ki67, nodes, ...maskPaths, ...extra]
            .map(csvField)
            .join(','),
        );
      }
      cases[cohort] = { n: sizes[ci]!, positives };
    });
    const manifest = join(dir, 'manifest.csv');
    writeFileSync(manifest, rows.join('\n') + '\n');
    sites.push({ site, dir, manifest, profile, cases });
  }
  return { sites, imageSize: size, separation: d };
}
