// Site manifest: one CSV row per case with cohort, label, one image path per modality (relative to
// the manifest), optional ROI boxes and clinical columns. Validation reports every problem at once,
// each naming the row (file line) and column.
import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { CsvSyntaxError, parseCsv } from './csv.js';
import { decodeImageFile, type DecodedImage } from './decode.js';

export const COHORTS = ['train', 'validation', 'test', 'prospective'] as const;
export type Cohort = (typeof COHORTS)[number];
export const CLINICAL_COLUMNS = ['age', 'tumor_size_mm', 'ki67', 'n_positive_nodes'] as const;
const REQUIRED = ['case_id', 'cohort', 'label'] as const;

export type Roi = readonly [x: number, y: number, w: number, h: number];

export interface ManifestImage {
  /** Absolute path. */
  readonly path: string;
  /** As written in the manifest. */
  readonly relPath: string;
  readonly roi?: Roi;
  /** Lesion mask (absolute path; non-zero = region, same size as the image), from `<modality>_mask`. */
  readonly mask?: string;
  /** Second delineation (another reader or session), from `<modality>_mask_2`. */
  readonly mask2?: string;
  /** Pixel spacing in mm (x, y), from `<modality>_spacing_mm` ("0.1" or "0.1 0.12"). */
  readonly spacingMm?: readonly [x: number, y: number];
}

/** Per-modality columns beside the image path (not modalities themselves). */
export const MODALITY_SUFFIXES = ['_roi', '_mask', '_mask_2', '_spacing_mm'] as const;

/** Area of one mask: pixels, and mm^2 when the spacing is known. */
export interface MaskArea {
  readonly pixels: number;
  readonly mm2?: number;
}

export interface ManifestCase {
  readonly caseId: string;
  readonly cohort: Cohort;
  readonly label: 0 | 1;
  /** File line of the row (header = 1). */
  readonly line: number;
  readonly images: Readonly<Record<string, ManifestImage>>;
  readonly clinical: Readonly<Partial<Record<(typeof CLINICAL_COLUMNS)[number], number>>>;
}

export interface ManifestProblem {
  /** File line (header = 1); 0 for problems of the file as a whole. */
  readonly line: number;
  readonly column?: string;
  readonly message: string;
}

export interface Manifest {
  readonly path: string;
  readonly modalities: readonly string[];
  readonly cases: readonly ManifestCase[];
}

export class ManifestError extends Error {
  override name = 'ManifestError';
  constructor(readonly path: string, readonly problems: readonly ManifestProblem[]) {
    super(`${path}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
  }
}

export function formatProblem(p: ManifestProblem): string {
  const where = p.line === 0 ? 'file' : `row ${p.line}`;
  return `${where}${p.column ? `, column ${p.column}` : ''}: ${p.message}`;
}

const caseIdSchema = z.string().trim().min(1, 'case_id is empty').regex(/^[A-Za-z0-9._-]+$/, 'case_id may contain only letters, digits, ".", "_" and "-"');
const cohortSchema = z.enum(COHORTS, { error: (iss) => `unknown cohort "${String(iss.input)}" (expected one of ${COHORTS.join(', ')})` });
const labelSchema = z.enum(['0', '1'], { error: (iss) => `label must be 0 or 1, got "${String(iss.input)}"` });
const roiSchema = z
  .string()
  .trim()
  .regex(/^\d+\s+\d+\s+\d+\s+\d+$/, 'ROI must be "x y w h" (four non-negative integers)')
  .transform((s) => s.split(/\s+/).map(Number) as unknown as Roi)
  .refine((r) => r[2] > 0 && r[3] > 0, 'ROI width and height must be positive');
const clinicalSchema = z.string().trim().regex(/^-?\d+(\.\d+)?$/, 'expected a number').transform(Number).pipe(z.number().min(0, 'must not be negative'));
const pathSchema = z.string().trim().min(1, 'image path is empty');
const spacingSchema = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?(\s+\d+(\.\d+)?)?$/, 'pixel spacing must be "s" or "sx sy" in mm (positive numbers)')
  .transform((t) => {
    const v = t.split(/\s+/).map(Number);
    return [v[0]!, v[1] ?? v[0]!] as const;
  })
  .refine((v) => v[0] > 0 && v[1] > 0, 'pixel spacing must be positive');

function firstMessage(err: z.ZodError): string {
  return err.issues[0]?.message ?? 'invalid';
}

export interface LoadManifestOptions {
  /** Image columns to use; by default every column that is not a known column or an ROI column. */
  readonly modalities?: readonly string[];
  /** Decode every image (catches corrupt files) and check ROIs against image sizes. Default true. */
  readonly decodeImages?: boolean;
}

export interface ManifestCheck {
  readonly manifest: Manifest;
  readonly problems: ManifestProblem[];
  /** Decoded images by case id and modality (when decodeImages). */
  readonly images: Map<string, Record<string, DecodedImage>>;
  /** Mask areas by case id and mask column (`<modality>_mask`, `<modality>_mask_2`), when decodeImages. */
  readonly maskAreas: Map<string, Record<string, MaskArea>>;
}

/** Reads and validates a manifest; never throws for content problems (they are listed). */
export async function checkManifest(path: string, opts: LoadManifestOptions = {}): Promise<ManifestCheck> {
  const absPath = resolve(path);
  const problems: ManifestProblem[] = [];
  const images = new Map<string, Record<string, DecodedImage>>();
  const maskAreas = new Map<string, Record<string, MaskArea>>();
  let text: string;
  try {
    text = await readFile(absPath, 'utf8');
  } catch (err) {
    problems.push({ line: 0, message: `cannot read manifest: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
    return { manifest: { path: absPath, modalities: opts.modalities ?? [], cases: [] }, problems, images, maskAreas };
  }
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError) problems.push({ line: 0, message: err.message });
    else throw err;
    return { manifest: { path: absPath, modalities: opts.modalities ?? [], cases: [] }, problems, images, maskAreas };
  }
  if (records.length === 0) {
    problems.push({ line: 0, message: 'manifest is empty (expected a header row)' });
    return { manifest: { path: absPath, modalities: opts.modalities ?? [], cases: [] }, problems, images, maskAreas };
  }
  const header = records[0]!.fields.map((h) => h.trim());
  const col = new Map<string, number>();
  header.forEach((h, i) => {
    if (col.has(h)) problems.push({ line: 1, column: h, message: 'duplicate column' });
    else col.set(h, i);
  });
  const known = new Set<string>([...REQUIRED, ...CLINICAL_COLUMNS]);
  const modalities = opts.modalities ?? header.filter((h) => h !== '' && !known.has(h) && !MODALITY_SUFFIXES.some((x) => h.endsWith(x)));
  for (const c of [...REQUIRED, ...modalities]) {
    if (!col.has(c)) problems.push({ line: 1, column: c, message: `missing column "${c}"` });
  }
  if (modalities.length === 0) problems.push({ line: 1, message: 'no image column (one path column per modality, e.g. gsus, ceus)' });
  const missingRequired = [...REQUIRED, ...modalities].some((c) => !col.has(c));
  const baseDir = dirname(absPath);
  const cases: ManifestCase[] = [];
  const seen = new Map<string, number>();
  const decodeJobs: { line: number; caseId: string | undefined; modality: string; image: ManifestImage }[] = [];
  const optionalPath = (m: string, c: string, get: (c: string) => string | undefined): string | undefined => {
    const v = get(c)?.trim();
    if (!v) return undefined;
    return isAbsolute(v) ? v : resolve(baseDir, v);
  };

  for (const rec of records.slice(1)) {
    const { line, fields } = rec;
    if (fields.length !== header.length) {
      problems.push({ line, message: `expected ${header.length} fields, found ${fields.length}` });
      continue;
    }
    if (missingRequired) continue;
    const get = (c: string): string | undefined => (col.has(c) ? fields[col.get(c)!] : undefined);
    let ok = true;
    const parse = <T>(c: string, schema: z.ZodType<T>, value: string | undefined): T | undefined => {
      const r = schema.safeParse(value ?? '');
      if (!r.success) {
        problems.push({ line, column: c, message: firstMessage(r.error) });
        ok = false;
        return undefined;
      }
      return r.data;
    };
    const caseId = parse('case_id', caseIdSchema, get('case_id'));
    const cohort = parse('cohort', cohortSchema, get('cohort')?.trim());
    const label = parse('label', labelSchema, get('label')?.trim());
    if (caseId !== undefined) {
      const prev = seen.get(caseId);
      if (prev !== undefined) {
        problems.push({ line, column: 'case_id', message: `duplicate case_id "${caseId}" (first on row ${prev})` });
        ok = false;
      } else seen.set(caseId, line);
    }
    const imgs: Record<string, ManifestImage> = {};
    for (const m of modalities) {
      const rel = parse(m, pathSchema, get(m));
      const roiText = get(`${m}_roi`);
      const roi = roiText !== undefined && roiText.trim() !== '' ? parse(`${m}_roi`, roiSchema, roiText) : undefined;
      const spacingText = get(`${m}_spacing_mm`);
      const spacingMm = spacingText !== undefined && spacingText.trim() !== '' ? parse(`${m}_spacing_mm`, spacingSchema, spacingText) : undefined;
      const mask = optionalPath(m, `${m}_mask`, get);
      const mask2 = optionalPath(m, `${m}_mask_2`, get);
      if (rel !== undefined) {
        const abs = isAbsolute(rel) ? rel : resolve(baseDir, rel);
        imgs[m] = {
          path: abs,
          relPath: rel,
          ...(roi ? { roi } : {}),
          ...(mask ? { mask } : {}),
          ...(mask2 ? { mask2 } : {}),
          ...(spacingMm ? { spacingMm } : {}),
        };
      }
    }
    const clinical: Partial<Record<(typeof CLINICAL_COLUMNS)[number], number>> = {};
    for (const c of CLINICAL_COLUMNS) {
      const v = get(c);
      if (v === undefined || v.trim() === '') continue;
      const parsed = parse(c, clinicalSchema, v);
      if (parsed !== undefined) clinical[c] = parsed;
    }
    // Images are checked on every row, valid or not, so that all problems surface at once.
    const valid = ok && caseId !== undefined && cohort !== undefined && label !== undefined;
    for (const m of modalities) if (imgs[m]) decodeJobs.push({ line, caseId: valid ? caseId : undefined, modality: m, image: imgs[m]! });
    if (!valid) continue;
    cases.push({ caseId, cohort, label: label === '1' ? 1 : 0, line, images: imgs, clinical });
  }

  // Images: existence (always) and decodability (by default), a few at a time.
  const decode = opts.decodeImages ?? true;
  const queue = [...decodeJobs];
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const { line, caseId, modality, image } = job;
      try {
        await access(image.path);
      } catch {
        problems.push({ line, column: modality, message: `image not found: ${image.relPath}` });
        continue;
      }
      if (!decode) continue;
      try {
        const img = await decodeImageFile(image.path);
        const roi = image.roi;
        if (roi && (roi[0] + roi[2] > img.width || roi[1] + roi[3] > img.height)) {
          problems.push({
            line,
            column: `${modality}_roi`,
            message: `ROI ${roi.join(' ')} extends beyond the ${img.width}x${img.height} image`,
          });
        }
        if (caseId !== undefined) {
          const rec = images.get(caseId) ?? {};
          rec[modality] = img;
          images.set(caseId, rec);
        }
        for (const [column, maskPath] of [[`${modality}_mask`, image.mask], [`${modality}_mask_2`, image.mask2]] as const) {
          if (!maskPath) continue;
          const area = await checkMask(maskPath, img, image.spacingMm, (message) => problems.push({ line, column, message }));
          if (area && caseId !== undefined) {
            const rec = maskAreas.get(caseId) ?? {};
            rec[column] = area;
            maskAreas.set(caseId, rec);
          }
        }
      } catch (err) {
        problems.push({ line, column: modality, message: `cannot decode image ${image.relPath}: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  problems.sort((a, b) => a.line - b.line || (a.column ?? '').localeCompare(b.column ?? ''));
  return { manifest: { path: absPath, modalities, cases }, problems, images, maskAreas };
}

/** A mask must decode, have the image's size, be binary (0 and one other value) and not be empty. */
async function checkMask(
  path: string,
  img: DecodedImage,
  spacing: readonly [number, number] | undefined,
  problem: (message: string) => void,
): Promise<MaskArea | undefined> {
  let mask: DecodedImage;
  try {
    await access(path);
  } catch {
    problem(`mask not found: ${path}`);
    return undefined;
  }
  try {
    mask = await decodeImageFile(path);
  } catch (err) {
    problem(`cannot decode mask ${path}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  if (mask.width !== img.width || mask.height !== img.height) {
    problem(`mask is ${mask.width}x${mask.height} but the image is ${img.width}x${img.height}; export the mask on the image's grid`);
    return undefined;
  }
  let pixels = 0;
  let other: number | undefined;
  let binary = true;
  for (const v of mask.data) {
    if (v === 0) continue;
    pixels++;
    if (other === undefined) other = v;
    else if (v !== other) binary = false;
  }
  if (!binary) {
    problem('mask is not binary (more than one non-zero value); save it with 0 outside and one value inside the region');
    return undefined;
  }
  if (pixels === 0) {
    problem('mask is empty (no non-zero pixel)');
    return undefined;
  }
  return spacing ? { pixels, mm2: pixels * spacing[0] * spacing[1] } : { pixels };
}

/** Like checkManifest, but throws a ManifestError listing every problem. */
export async function loadManifest(path: string, opts: LoadManifestOptions = {}): Promise<ManifestCheck> {
  const check = await checkManifest(path, opts);
  if (check.problems.length > 0) throw new ManifestError(check.manifest.path, check.problems);
  return check;
}
