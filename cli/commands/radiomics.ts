// `fl radiomics extract`: IBSI handcrafted features of ultrasound regions, computed at the site.
//   fl radiomics extract --manifest M --modality gsus [--region lesion --region peri:2mm]
//     [--bin-width W | --bin-count N] [--texture-aggregation average|merge] [--cohort C]
//     --out features.csv [--json]
// Writes one row per case (case_id, cohort, <modality>.<region>.<feature>) and, beside the CSV,
// <out>.settings.json with every extraction setting. Features never leave the site from here.
// `fl radiomics features`: every feature with its family, IBSI identifier and definition.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { FlError } from '../../shared/errors/index.js';
import { DEFAULT_SETTINGS, checkSettings, featureNames, type ExtractionSettings } from '../../shared/radiomics/extract.js';
import { ALL_FEATURES, FAMILIES, FAMILY_TITLES } from '../../shared/radiomics/registry.js';
import { parseRegion, regionName, type RegionSpec } from '../../shared/radiomics/regions.js';
import { COHORTS, formatProblem, loadManifest, ManifestError, type Cohort } from '../../site-agent/data/manifest.js';
import type { CaseJob, CaseResult } from '../../site-agent/radiomics/extract-case.js';
import { RadiomicsPool } from '../../site-agent/radiomics/pool.js';
import { CliError } from '../errors.js';

interface ExtractOptions {
  manifest: string;
  modality: string;
  region?: string[];
  binWidth?: string;
  binCount?: string;
  textureAggregation: string;
  cohort?: string;
  out: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function positive(flag: string, text: string, integer: boolean): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new CliError(`${flag} ${text}: expected a positive ${integer ? 'integer' : 'number'}`, 2);
  }
  return v;
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Settings as written next to the features (and in --json). */
export function describeSettings(s: ExtractionSettings, modality: string, regions: readonly RegionSpec[]) {
  return {
    standard: 'IBSI 1 (Zwanenburg et al., Radiology 2020); 2D features per image',
    modality,
    regions: regions.map(regionName),
    regionDefinitions: {
      lesion: 'pixels of the <modality>_mask (non-zero)',
      'peri:<d>mm': 'pixels outside the mask whose centre lies within d mm (Euclidean, pixel centre to pixel centre) of a mask pixel, clipped to the image',
      roi: 'the <modality>_roi rectangle',
    },
    intensities: 'the image\'s own values: PNG stored values, DICOM stored values x rescale slope + intercept (no windowing, no normalisation)',
    discretisation:
      s.discretisation.method === 'bin-width'
        ? { method: 'fixed bin size (IBSI FBS)', binWidth: s.discretisation.width, lowerBound: 'the region\'s minimum intensity', levels: 'floor((x - min) / w) + 1' }
        : { method: 'fixed bin number (IBSI FBN)', binCount: s.discretisation.count, levels: 'floor(N (x - min) / (max - min)) + 1, max in bin N' },
    textureAggregation:
      s.aggregation === 'average'
        ? 'average: features of each 2D directional matrix averaged over the 4 directions (IBSI 2D:AVG, BTW3; PyRadiomics default)'
        : 'merge: the 4 directional matrices summed before computing features (IBSI 2D:MRG, SUJT)',
    textureParameters: {
      directions: '(1,0) (1,1) (0,1) (-1,1)',
      glcm: 'symmetric, Chebyshev distance 1',
      glszm: '8-connected zones',
      gldzm: 'zones 8-connected; distance to the region edge 4-connected (taxicab), border pixels at 1',
      ngtdm: '8-neighbourhood (distance 1), neighbours outside the region left out; pixels without a neighbour excluded',
      ngldm: '8-neighbourhood (distance 1), coarseness alpha 0',
      logarithm: 'base 2',
    },
    percentiles: 'linear interpolation between order statistics (R type 7)',
    morphology: '2D, marching-squares contour through the midpoints between pixel centres; mm from the pixel spacing',
    resampling: s.resampleMm === null ? 'none' : `isotropic ${s.resampleMm} mm, bilinear (image), bilinear >= 0.5 (mask), grid centres aligned`,
    undefinedFeatures: 'NaN (a quotient whose denominator is 0), listed as warnings',
    families: s.families,
  };
}

async function extract(o: ExtractOptions): Promise<void> {
  if (o.binWidth !== undefined && o.binCount !== undefined) throw new CliError('--bin-width and --bin-count are exclusive; give one', 2);
  if (o.textureAggregation !== 'average' && o.textureAggregation !== 'merge') {
    throw new CliError(`--texture-aggregation ${o.textureAggregation}: expected average or merge`, 2);
  }
  if (o.cohort !== undefined && !(COHORTS as readonly string[]).includes(o.cohort)) {
    throw new CliError(`--cohort ${o.cohort}: expected one of ${COHORTS.join(', ')}`, 2);
  }
  const settings: ExtractionSettings = {
    ...DEFAULT_SETTINGS,
    discretisation:
      o.binCount !== undefined
        ? { method: 'bin-count', count: positive('--bin-count', o.binCount, true) }
        : { method: 'bin-width', width: o.binWidth !== undefined ? positive('--bin-width', o.binWidth, false) : 25 },
    aggregation: o.textureAggregation,
  };
  checkSettings(settings);
  let check;
  try {
    check = await loadManifest(o.manifest, { modalities: [o.modality], decodeImages: false });
  } catch (err) {
    if (err instanceof ManifestError) throw new CliError(err.message, 2, { cause: err });
    throw err;
  }
  const cases = check.manifest.cases.filter((c) => o.cohort === undefined || c.cohort === (o.cohort as Cohort));
  if (cases.length === 0) throw new CliError(`${check.manifest.path}: no case${o.cohort ? ` in cohort ${o.cohort}` : ''} to extract`, 2);
  let regions: RegionSpec[];
  try {
    regions = (o.region ?? []).map(parseRegion);
  } catch (err) {
    throw new CliError(`--region: ${err instanceof Error ? err.message : String(err)}`, 2);
  }
  if (regions.length === 0) regions = [cases.every((c) => c.images[o.modality]!.mask) ? { kind: 'lesion' } : { kind: 'roi' }];
  const names = featureNames(settings.families);
  const header = ['case_id', 'cohort', ...regions.flatMap((r) => names.map((n) => `${o.modality}.${regionName(r)}.${n}`))];
  const jobs: CaseJob[] = cases.map((c) => {
    const img = c.images[o.modality]!;
    return {
      caseId: c.caseId,
      line: c.line,
      modality: o.modality,
      image: img.path,
      ...(img.mask ? { mask: img.mask } : {}),
      ...(img.roi ? { roi: img.roi } : {}),
      ...(img.spacingMm ? { spacingMm: img.spacingMm } : {}),
      regions,
      settings,
    };
  });
  const started = performance.now();
  const pool = new RadiomicsPool();
  const bar = !o.json && process.stderr.isTTY ? new cliProgress.SingleBar({ stream: process.stderr, format: 'radiomics [{bar}] {value}/{total} cases | {eta}s left' }, cliProgress.Presets.shades_classic) : null;
  bar?.start(jobs.length, 0);
  const results: CaseResult[] = new Array(jobs.length);
  const failures: string[] = [];
  try {
    await Promise.all(
      jobs.map(async (job, k) => {
        try {
          results[k] = await pool.extractCase(job);
        } catch (err) {
          if (err instanceof FlError && err.user) failures.push(err.message);
          else throw err;
        }
        bar?.increment();
      }),
    );
  } finally {
    bar?.stop();
    await pool.close();
  }
  if (failures.length > 0) {
    failures.sort((a, b) => Number(/row (\d+)/.exec(a)?.[1] ?? 0) - Number(/row (\d+)/.exec(b)?.[1] ?? 0));
    throw new CliError(`${check.manifest.path}: ${failures.length} case${failures.length === 1 ? '' : 's'} could not be extracted (nothing written):\n  ${failures.join('\n  ')}`, 2);
  }
  const lines = [header.map(csvField).join(',')];
  cases.forEach((c, k) => {
    const r = results[k]!;
    lines.push([c.caseId, c.cohort, ...r.values.flatMap((v) => Array.from(v, (x) => String(x)))].map(csvField).join(','));
  });
  const out = resolve(o.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, lines.join('\n') + '\n');
  const warnings = results.flatMap((r) => r.warnings);
  const spacingSources = [...new Set(results.map((r) => r.spacing?.source ?? 'unknown (morph2d in pixels)'))];
  const settingsPath = out.replace(/\.csv$/i, '') + '.settings.json';
  const described = { ...describeSettings(settings, o.modality, regions), manifest: check.manifest.path, cohort: o.cohort ?? 'all', pixelSpacing: spacingSources, features: names };
  writeFileSync(settingsPath, JSON.stringify(described, null, 2) + '\n');
  const seconds = (performance.now() - started) / 1000;
  const summary = {
    out,
    settingsFile: settingsPath,
    cases: cases.length,
    regions: regions.map(regionName),
    featuresPerRegion: names.length,
    columns: header.length,
    seconds: Math.round(seconds * 1000) / 1000,
    workers: pool.size,
    warnings,
    settings: described,
  };
  if (o.json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  console.log(`${out}: ${cases.length} cases x ${regions.length} region${regions.length === 1 ? '' : 's'} (${regions.map(regionName).join(', ')}) x ${names.length} features in ${seconds.toFixed(1)} s on ${pool.size} worker${pool.size === 1 ? '' : 's'}`);
  console.log(`settings: ${settingsPath}`);
  if (warnings.length > 0) {
    console.log(`${warnings.length} undefined value${warnings.length === 1 ? '' : 's'} (NaN):`);
    for (const w of warnings.slice(0, 20)) console.log(`  ${w}`);
    if (warnings.length > 20) console.log(`  ... ${warnings.length - 20} more (all in --json)`);
  }
}

export function register(program: Command): void {
  const radiomics = program.command('radiomics').description('IBSI handcrafted radiomics features of image regions, computed at the site');
  radiomics
    .command('extract')
    .description('extract features for every case of a manifest into a local CSV (one row per case)')
    .requiredOption('--manifest <path>', 'site manifest CSV')
    .requiredOption('--modality <name>', 'image column, e.g. gsus')
    .option('--region <spec>', 'lesion (the mask), peri:<d>mm (ring outside the mask) or roi (the <modality>_roi rectangle); repeatable (default: lesion when every case has a mask, else roi)', collect)
    .option('--bin-width <w>', 'fixed bin width in intensity units (default 25, PyRadiomics default)')
    .option('--bin-count <n>', 'fixed number of bins instead of a bin width')
    .option('--texture-aggregation <how>', 'average (per direction, then averaged) or merge (directions merged)', 'average')
    .option('--cohort <cohort>', `only this cohort (${COHORTS.join(', ')})`)
    .requiredOption('--out <file>', 'features CSV to write (settings go to <file>.settings.json)')
    .option('--json', 'print a JSON summary')
    .action(extract);
  radiomics
    .command('features')
    .description('list every feature with its family, IBSI identifier and definition')
    .option('--json', 'print as JSON')
    .action((o: { json?: boolean }) => {
      if (o.json) {
        console.log(JSON.stringify(ALL_FEATURES, null, 2));
        return;
      }
      for (const f of FAMILIES) {
        console.log(`${f}: ${FAMILY_TITLES[f]}`);
        for (const x of ALL_FEATURES.filter((y) => y.family === f)) console.log(`  ${x.name.padEnd(34)} ${(x.ibsi || '-').padEnd(5)} ${x.definition}`);
      }
      console.log(`${ALL_FEATURES.length} features`);
    });
}
