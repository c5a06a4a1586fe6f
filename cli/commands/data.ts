// `fl data check MANIFEST`: validates a site manifest and its images (one image in memory at a
// time); exits non-zero listing every problem. `fl data decode FILE --out OUT.npy`: the stored
// pixel values after decompression and colour conversion, as NumPy (frames, rows, columns, channels).
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { decodeFrames, openImageFile } from '../../site-agent/data/decode.js';
import { checkManifest, COHORTS, formatProblem } from '../../site-agent/data/manifest.js';
import { modalitySettingsSchema, parseSettingsList, type ModalitySettings } from '../../shared/config/modality.js';
import { encodeNpy } from '../../site-agent/data/npy.js';
import { CliError } from '../errors.js';

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

type RawSettings = Record<string, { channels?: string; frames?: string }>;

/** `--channels cdus=rgb --frames ceus=peak` into validated per-modality settings. */
export function settingsFromFlags(channels?: string, frames?: string): Record<string, ModalitySettings> {
  let raw: RawSettings = {};
  try {
    if (channels) raw = parseSettingsList(channels, raw, 'channels');
    if (frames) raw = parseSettingsList(frames, raw, 'frames');
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err), 2);
  }
  const out: Record<string, ModalitySettings> = {};
  for (const [m, v] of Object.entries(raw)) {
    const r = modalitySettingsSchema.safeParse(v);
    if (!r.success) throw new CliError(`modality ${m}: ${r.error.issues.map((i) => i.message).join('; ')}`, 2);
    out[m] = r.data as ModalitySettings;
  }
  return out;
}

export function register(program: Command): void {
  const data = program.command('data').description('site data tools');
  data
    .command('check')
    .description('validate a manifest (columns, labels, cohorts, duplicate ids, images, leakage, paths) and summarise it')
    .argument('<manifest>', 'manifest CSV (case_id, cohort, label, one path column per modality, optional <modality>_roi and clinical columns)')
    .option('--modalities <list>', 'image columns to check, e.g. gsus,ceus (default: the known modality columns present)', list)
    .option('--channels <list>', 'colour modalities, e.g. cdus=rgb (default grey)')
    .option('--frames <list>', 'frame policy for cine modalities, e.g. ceus=peak (fixed:N, peak, mean, sample:K)')
    .option('--extra-columns <list>', 'other columns the manifest may carry (ignored, never printed)', list)
    .option('--data-root <dir>', 'images must stay inside this folder (default: the manifest folder)')
    .option('--input-size <px>', 'model input size, for the small-image warning', (v) => Number.parseInt(v, 10))
    .option('--json', 'print the summary and problems as JSON')
    .action(
      async (
        path: string,
        o: { modalities?: string[]; channels?: string; frames?: string; extraColumns?: string[]; dataRoot?: string; inputSize?: number; json?: boolean },
      ) => {
        const modalitySettings = settingsFromFlags(o.channels, o.frames);
        const check = await checkManifest(path, {
          ...(o.modalities ? { modalities: o.modalities } : {}),
          ...(o.extraColumns ? { extraColumns: o.extraColumns } : {}),
          ...(o.dataRoot ? { dataRoot: o.dataRoot } : {}),
          ...(o.inputSize ? { inputSize: o.inputSize } : {}),
          modalitySettings,
        });
        const { manifest, problems, warnings, images, maskAreas } = check;
        const cohorts = Object.fromEntries(
          COHORTS.map((c) => {
            const cases = manifest.cases.filter((x) => x.cohort === c);
            return [c, { cases: cases.length, positives: cases.filter((x) => x.label === 1).length }];
          }),
        );
        const sizes: Record<string, Record<string, number>> = {};
        const frames: Record<string, Record<string, number>> = {};
        const colourToGrey: Record<string, number> = {};
        for (const img of images) {
          const m = img.modality;
          const colour = img.channels === 3 ? ' RGB' : '';
          const key = `${img.width}x${img.height} ${img.format} ${img.bitDepth}-bit${colour}`;
          sizes[m] ??= {};
          sizes[m][key] = (sizes[m][key] ?? 0) + 1;
          frames[m] ??= {};
          frames[m][String(img.frames)] = (frames[m][String(img.frames)] ?? 0) + 1;
          if (img.convertedToGrey) colourToGrey[m] = (colourToGrey[m] ?? 0) + 1;
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
          frameCounts: frames,
          colourConvertedToGrey: colourToGrey,
          masks,
          maskAreas: Object.fromEntries(maskAreas),
          warnings: warnings.map((p) => ({ ...p, text: formatProblem(p) })),
          problems: problems.map((p) => ({ ...p, text: formatProblem(p) })),
        };
        if (o.json) console.log(JSON.stringify(summary, null, 2));
        else {
          console.log(`${manifest.path}`);
          console.log(`  modalities: ${manifest.modalities.join(', ') || '(none)'}; ${manifest.cases.length} cases parsed`);
          for (const c of COHORTS) console.log(`  ${c.padEnd(12)} ${String(cohorts[c]!.cases).padStart(6)} cases, ${cohorts[c]!.positives} positive`);
          for (const [m, s] of Object.entries(sizes)) {
            console.log(`  ${m} images: ${Object.entries(s).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
            const f = frames[m] ?? {};
            console.log(`  ${m} frames: ${Object.entries(f).map(([k, n]) => `${k} frame${k === '1' ? '' : 's'} ×${n}`).join(', ')}`);
            if (colourToGrey[m]) console.log(`  ${m}: ${colourToGrey[m]} colour image${colourToGrey[m] === 1 ? '' : 's'} converted to grey (luminance)`);
          }
          for (const [col, m] of Object.entries(masks)) {
            const mm = m.minMm2 !== undefined ? `, ${m.minMm2.toFixed(1)}-${m.maxMm2!.toFixed(1)} mm²` : '';
            console.log(`  ${col}: ${m.masks} masks, area ${m.minPixels}-${m.maxPixels} px${mm}`);
          }
          for (const w of warnings) console.log(`  warning: ${formatProblem(w)}`);
        }
        if (problems.length > 0) {
          const lines = problems.map((p) => `  ${formatProblem(p)}`).join('\n');
          throw new CliError(`${manifest.path}: ${problems.length} problem${problems.length === 1 ? '' : 's'}${o.json ? '' : `:\n${lines}`}`, 1);
        }
        if (!o.json) console.log('  OK');
      },
    );
  data
    .command('decode')
    .description('write the stored pixel values (after decompression and colour conversion, before windowing) as a NumPy .npy array (frames, rows, columns, channels)')
    .argument('<file>', 'PNG or DICOM file')
    .requiredOption('--out <file.npy>', 'output .npy file')
    .option('--frame <n>', 'only this frame (0-based)', (v) => Number.parseInt(v, 10))
    .option('--rescale', 'float32 after the DICOM rescale slope/intercept')
    .action(async (file: string, o: { out: string; frame?: number; rescale?: boolean }) => {
      if (o.frame !== undefined && (!Number.isInteger(o.frame) || o.frame < 0)) throw new CliError('--frame: expected a non-negative integer', 2);
      const src = await openImageFile(file).catch((err: unknown) => {
        throw new CliError(err instanceof Error ? err.message : String(err), 2, { cause: err });
      });
      const d = await decodeFrames(src, o.frame).catch((err: unknown) => {
        throw new CliError(err instanceof Error ? err.message : String(err), 2, { cause: err });
      });
      let npy: Buffer;
      if (o.rescale) {
        const { slope, intercept } = src.rescale;
        const f = Float32Array.from(d.data, (v) => v * slope + intercept);
        npy = encodeNpy(f, 'float32', d.shape);
      } else npy = encodeNpy(d.data, d.type, d.shape);
      await writeFile(o.out, npy);
      const ts = src.transferSyntax ? `, ${src.transferSyntax.name}` : '';
      console.log(
        `${o.out}: shape (${d.shape.join(', ')}) ${o.rescale ? 'float32 (rescaled)' : d.type}; ${src.format}${ts}, ${src.photometric}${src.frames > 1 ? `, ${src.frames} frames in file` : ''}`,
      );
    });
}
