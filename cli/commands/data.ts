// `fl data check MANIFEST`: validates a site manifest and its images; exits non-zero listing every problem.
import type { Command } from 'commander';
import { checkManifest, COHORTS, formatProblem } from '../../site-agent/data/manifest.js';
import { CliError } from '../errors.js';

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function register(program: Command): void {
  const data = program.command('data').description('site data tools');
  data
    .command('check')
    .description('validate a manifest (columns, labels, cohorts, duplicate ids, images) and summarise it')
    .argument('<manifest>', 'manifest CSV (case_id, cohort, label, one path column per modality, optional <modality>_roi and clinical columns)')
    .option('--modalities <list>', 'image columns to check, e.g. gsus,ceus (default: every non-standard column)', list)
    .option('--json', 'print the summary and problems as JSON')
    .action(async (path: string, o: { modalities?: string[]; json?: boolean }) => {
      const check = await checkManifest(path, o.modalities ? { modalities: o.modalities } : {});
      const { manifest, problems, images, maskAreas } = check;
      const cohorts = Object.fromEntries(
        COHORTS.map((c) => {
          const cases = manifest.cases.filter((x) => x.cohort === c);
          return [c, { cases: cases.length, positives: cases.filter((x) => x.label === 1).length }];
        }),
      );
      const sizes: Record<string, Record<string, number>> = {};
      for (const rec of images.values()) {
        for (const [m, img] of Object.entries(rec)) {
          const key = `${img.width}x${img.height} ${img.format} ${img.bitDepth}-bit`;
          sizes[m] ??= {};
          sizes[m][key] = (sizes[m][key] ?? 0) + 1;
        }
      }
      // Mask areas per mask column: count, and pixel / mm^2 range.
      const masks: Record<string, { masks: number; minPixels: number; maxPixels: number; minMm2?: number; maxMm2?: number }> = {};
      for (const rec of maskAreas.values()) {
        for (const [col, a] of Object.entries(rec)) {
          const m = (masks[col] ??= { masks: 0, minPixels: Infinity, maxPixels: 0 });
          m.masks++;
          m.minPixels = Math.min(m.minPixels, a.pixels);
          m.maxPixels = Math.max(m.maxPixels, a.pixels);
          if (a.mm2 !== undefined) {
            m.minMm2 = Math.min(m.minMm2 ?? Infinity, a.mm2);
            m.maxMm2 = Math.max(m.maxMm2 ?? 0, a.mm2);
          }
        }
      }
      const summary = {
        manifest: manifest.path,
        modalities: manifest.modalities,
        cases: manifest.cases.length,
        cohorts,
        imageSizes: sizes,
        masks,
        maskAreas: Object.fromEntries(maskAreas),
        problems: problems.map((p) => ({ ...p, text: formatProblem(p) })),
      };
      if (o.json) console.log(JSON.stringify(summary, null, 2));
      else {
        console.log(`${manifest.path}`);
        console.log(`  modalities: ${manifest.modalities.join(', ') || '(none)'}; ${manifest.cases.length} cases parsed`);
        for (const c of COHORTS) console.log(`  ${c.padEnd(12)} ${String(cohorts[c]!.cases).padStart(6)} cases, ${cohorts[c]!.positives} positive`);
        for (const [m, s] of Object.entries(sizes)) {
          console.log(`  ${m} images: ${Object.entries(s).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
        }
        for (const [col, m] of Object.entries(masks)) {
          const mm = m.minMm2 !== undefined ? `, ${m.minMm2.toFixed(1)}-${m.maxMm2!.toFixed(1)} mm²` : '';
          console.log(`  ${col}: ${m.masks} masks, area ${m.minPixels}-${m.maxPixels} px${mm}`);
        }
      }
      if (problems.length > 0) {
        const lines = problems.map((p) => `  ${formatProblem(p)}`).join('\n');
        throw new CliError(`${manifest.path}: ${problems.length} problem${problems.length === 1 ? '' : 's'}${o.json ? '' : `:\n${lines}`}`, 1);
      }
      if (!o.json) console.log('  OK');
    });
}
