// Site manifest: one CSV row per case with cohort, label, one image path per modality (relative to
// the manifest), optional ROI boxes and clinical columns. Validation reports every problem at once,
// each naming the row (file line) and column.
import { readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { FlError } from '../../shared/errors/index.js';
import { CsvSyntaxError, parseCsv } from './csv.js';
import { decodeImageFile, openImage, type DecodedImage, type ImageSource } from './decode.js';
import { modalityImage, ModalityImageError, type ModalityImage } from './frames.js';
import { contentHash, type ImageCache, type ImageFacts } from './image-cache.js';
import { findLeaks, pixelHash, type HashedImage } from './leakage.js';
import { DEFAULT_SETTINGS, type ModalitySettings } from '../../shared/config/modality.js';

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

export class ManifestError extends FlError {
  constructor(readonly path: string, readonly problems: readonly ManifestProblem[]) {
    super('manifest.invalid', `${path}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
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
  /** Image columns to use; by default the known modality columns present (see KNOWN_MODALITIES) and any column with an `_roi` companion. */
  readonly modalities?: readonly string[];
  /** Decode every image (catches corrupt files, leakage) and check ROIs against image sizes. Default true. */
  readonly decodeImages?: boolean;
  /** Other columns the site declares (kept out of messages, never read); undeclared ones are ignored with a warning. */
  readonly extraColumns?: readonly string[];
  /** Per-modality colour and frame policy (default grey, no frame policy). */
  readonly modalitySettings?: Readonly<Record<string, ModalitySettings>>;
  /** Images must resolve (symlinks followed) inside this folder; default the manifest's folder. */
  readonly dataRoot?: string;
  /** Model input size, for the "much smaller than the model input" warning. */
  readonly inputSize?: number;
  /** Facts (and tensors) cache: a file whose content hash is known is not decoded again. */
  readonly cache?: ImageCache;
  /** Called once per valid image, one at a time; `image` is undefined when facts came from the cache. */
  readonly onImage?: (job: ImageJob, facts: ImageFacts, contentHash: string, image: ModalityImage | undefined) => void | Promise<void>;
  /** Called once per image whose facts were established, saying whether they came from the cache (no decoding). */
  readonly onFacts?: (fromCache: boolean) => void;
  /** Whether onImage needs the decoded image for this file (default: yes); false lets cached facts skip decoding. */
  readonly needsImage?: (job: ImageJob, contentHash: string) => boolean;
  /**
   * Decode and check the mask columns (default true). A site dataset for image models passes false:
   * it reads no mask, and the agent's start check has checked them.
   */
  readonly checkMasks?: boolean;
}

export interface ImageJob {
  readonly line: number;
  readonly caseId?: string;
  readonly cohort?: Cohort;
  readonly modality: string;
  readonly image: ManifestImage;
}

/** What `fl data check` learnt about one image (no pixels). */
export interface ImageSummary extends ImageFacts {
  readonly line: number;
  readonly caseId?: string;
  readonly modality: string;
  readonly convertedToGrey: boolean;
}

export interface ManifestCheck {
  readonly manifest: Manifest;
  readonly problems: ManifestProblem[];
  /** Not errors: undeclared columns ignored, blank images, small images, non-US modality, duplicates within a cohort. */
  readonly warnings: ManifestProblem[];
  /** One summary per decoded image (when decodeImages). */
  readonly images: ImageSummary[];
  /** Mask areas by case id and mask column (`<modality>_mask`, `<modality>_mask_2`), when decodeImages. */
  readonly maskAreas: Map<string, Record<string, MaskArea>>;
}

/** Columns read for image modalities when none are named. */
export const KNOWN_MODALITIES = ['gsus', 'ceus', 'bmus', 'cdus', 'pdus', 'swe', 'us'] as const;
/** Per-modality companion columns (this module reads _roi; others are read elsewhere). */
const COMPANION_SUFFIXES = ['_roi', '_mask', '_mask_2', '_spacing_mm'];

function decodeText(buf: Buffer): { text?: string; problem?: string } {
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
    return { problem: 'the manifest is saved as UTF-16 (Excel\'s "Unicode text"); save it as UTF-8 ("CSV UTF-8 (comma delimited)")' };
  }
  let zeros = 0;
  for (let i = 0; i < Math.min(buf.length, 512); i++) if (buf[i] === 0) zeros++;
  if (zeros > 8) return { problem: 'the manifest looks UTF-16 encoded (no byte-order mark); save it as UTF-8 ("CSV UTF-8 (comma delimited)")' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(buf) };
  } catch {
    return { problem: 'the manifest is not valid UTF-8 (probably Windows-1252/Latin-1, as older Excel saves it); save it as UTF-8 ("CSV UTF-8 (comma delimited)")' };
  }
}

function separatorProblem(headerLine: string): string | undefined {
  const counts = { ';': 0, '\t': 0, '|': 0 };
  for (const ch of headerLine) if (ch in counts) counts[ch as keyof typeof counts]++;
  if (headerLine.includes(',')) return undefined;
  if (counts[';'] > 0) return 'this file looks semicolon-separated (as Excel writes in some locales); save it as comma-separated (CSV UTF-8)';
  if (counts['\t'] > 0) return 'this file looks tab-separated; save it as comma-separated (CSV UTF-8)';
  if (counts['|'] > 0) return 'this file looks separated by "|"; save it as comma-separated (CSV UTF-8)';
  return undefined;
}

/** Resolves an image path inside `root` (symlinks followed); undefined when it escapes or is missing. */
async function resolveInside(root: string, baseDir: string, rel: string): Promise<{ abs?: string; outside?: boolean; missing?: boolean }> {
  const candidates = [rel.normalize('NFC'), rel.normalize('NFD')].filter((v, i, a) => a.indexOf(v) === i);
  let lexicalOutside = false;
  for (const c of candidates) {
    const abs = isAbsolute(c) ? resolve(c) : resolve(baseDir, c);
    const relToRoot = relative(root, abs);
    if (relToRoot.startsWith('..') || isAbsolute(relToRoot)) {
      lexicalOutside = true;
      continue;
    }
    let real: string;
    try {
      real = await realpath(abs);
    } catch {
      continue;
    }
    const r = relative(root, real);
    if (r.startsWith('..') || isAbsolute(r)) return { outside: true };
    return { abs: real };
  }
  return lexicalOutside ? { outside: true } : { missing: true };
}

/** Reads and validates a manifest; never throws for content problems (they are listed). */
export async function checkManifest(path: string, opts: LoadManifestOptions = {}): Promise<ManifestCheck> {
  const absPath = resolve(path);
  const problems: ManifestProblem[] = [];
  const warnings: ManifestProblem[] = [];
  const images: ImageSummary[] = [];
  const maskAreas = new Map<string, Record<string, MaskArea>>();
  const empty = (): ManifestCheck => ({ manifest: { path: absPath, modalities: opts.modalities ?? [], cases: [] }, problems, warnings, images, maskAreas });
  let buf: Buffer;
  try {
    buf = await readFile(absPath);
  } catch (err) {
    problems.push({ line: 0, message: `cannot read manifest: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
    return empty();
  }
  const decoded = decodeText(buf);
  if (decoded.problem !== undefined) {
    problems.push({ line: 0, message: decoded.problem });
    return empty();
  }
  const text = decoded.text!;
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const sep = separatorProblem(firstLine);
  if (sep) {
    problems.push({ line: 0, message: sep });
    return empty();
  }
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvSyntaxError) problems.push({ line: 0, message: err.message });
    else throw err;
    return empty();
  }
  // Excel leaves rows of empty fields (",,,,") after the data: skip them.
  records = records.filter((r) => r.fields.some((f) => f.trim() !== ''));
  if (records.length === 0) {
    problems.push({ line: 0, message: 'manifest is empty (expected a header row)' });
    return empty();
  }
  // Header names: case-insensitive, surrounding spaces ignored.
  const header = records[0]!.fields.map((h) => h.trim().toLowerCase());
  const col = new Map<string, number>();
  header.forEach((h, i) => {
    if (h === '') return;
    if (col.has(h)) problems.push({ line: 1, column: h, message: 'duplicate column' });
    else col.set(h, i);
  });
  const known = new Set<string>([...REQUIRED, ...CLINICAL_COLUMNS]);
  const declared = new Set((opts.extraColumns ?? []).map((c) => c.trim().toLowerCase()));
  const isCompanion = (h: string) => COMPANION_SUFFIXES.some((s) => h.endsWith(s));
  const modalities = (
    opts.modalities ??
    header.filter(
      (h) => h !== '' && !known.has(h) && !isCompanion(h) && !declared.has(h) && ((KNOWN_MODALITIES as readonly string[]).includes(h) || col.has(`${h}_roi`)),
    )
  ).map((m) => m.trim().toLowerCase());
  for (const h of header) {
    if (h === '' || known.has(h) || declared.has(h) || modalities.includes(h)) continue;
    if (isCompanion(h) && modalities.some((m) => h.startsWith(`${m}_`))) continue;
    warnings.push({ line: 1, column: h, message: 'column is not declared and is ignored (declare it as an extra column, or name it as a modality)' });
  }
  for (const c of [...REQUIRED, ...modalities]) {
    if (!col.has(c)) problems.push({ line: 1, column: c, message: `missing column "${c}"` });
  }
  if (modalities.length === 0) problems.push({ line: 1, message: `no image column (one path column per modality, e.g. ${KNOWN_MODALITIES.slice(0, 4).join(', ')})` });
  const missingRequired = [...REQUIRED, ...modalities].some((c) => !col.has(c));
  const baseDir = dirname(absPath);
  let root: string;
  try {
    root = await realpath(opts.dataRoot ? resolve(opts.dataRoot) : baseDir);
  } catch {
    problems.push({ line: 0, message: `data root ${opts.dataRoot} does not exist` });
    return empty();
  }
  const cases: ManifestCase[] = [];
  const seen = new Map<string, number>();
  const jobs: ImageJob[] = [];

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
    const cohort = parse('cohort', cohortSchema, get('cohort')?.trim().toLowerCase());
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
      if (rel !== undefined) {
        const nfc = rel.normalize('NFC');
        const abs = isAbsolute(nfc) ? resolve(nfc) : resolve(baseDir, nfc);
        const spacingText = get(`${m}_spacing_mm`);
        const spacingMm = spacingText !== undefined && spacingText.trim() !== '' ? parse(`${m}_spacing_mm`, spacingSchema, spacingText) : undefined;
        const maskPath = (c: string): string | undefined => {
          const v = get(c)?.trim().normalize('NFC');
          return v ? (isAbsolute(v) ? resolve(v) : resolve(baseDir, v)) : undefined;
        };
        const mask = maskPath(`${m}_mask`);
        const mask2 = maskPath(`${m}_mask_2`);
        imgs[m] = {
          path: abs, relPath: nfc,
          ...(roi ? { roi } : {}), ...(mask ? { mask } : {}), ...(mask2 ? { mask2 } : {}), ...(spacingMm ? { spacingMm } : {}),
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
    const valid = ok && caseId !== undefined && cohort !== undefined && label !== undefined;
    for (const m of modalities) {
      if (imgs[m]) jobs.push({ line, modality: m, image: imgs[m]!, ...(valid ? { caseId: caseId!, cohort: cohort! } : {}) });
    }
    if (!valid) continue;
    cases.push({ caseId, cohort, label: label === '1' ? 1 : 0, line, images: imgs, clinical });
  }

  // Images, strictly one at a time: containment, existence, decoding, policies, leakage hashes.
  const decode = opts.decodeImages ?? true;
  const hashed: HashedImage[] = [];
  for (const job of jobs) {
    const { line, modality, image } = job;
    const where = image.relPath;
    const r = await resolveInside(root, baseDir, image.relPath);
    if (r.outside) {
      problems.push({ line, column: modality, message: `image path ${image.relPath} leads outside the site folder ${root}; keep images under it (or configure the data root)` });
      continue;
    }
    if (!r.abs) {
      problems.push({ line, column: modality, message: `image not found: ${image.relPath}` });
      continue;
    }
    (image as { path: string }).path = r.abs;
    if (!decode) continue;
    const settings = opts.modalitySettings?.[modality] ?? DEFAULT_SETTINGS;
    try {
      const bytes = await readFile(r.abs);
      const hash = contentHash(bytes);
      let facts = opts.cache?.readFacts(hash);
      opts.onFacts?.(facts !== undefined);
      let mod: ModalityImage | undefined;
      let src: ImageSource | undefined;
      const wantImage = job.caseId !== undefined && opts.onImage !== undefined && (opts.needsImage?.(job, hash) ?? true);
      if (wantImage) src = openImage(bytes, { name: image.relPath });
      if (!facts) {
        src ??= openImage(bytes, { name: image.relPath });
        const f0 = await src.frame(0);
        let constant = true;
        for (let i = 1; i < f0.data.length && constant; i++) if (f0.data[i] !== f0.data[0]) constant = false;
        facts = {
          width: src.columns,
          height: src.rows,
          frames: src.frames,
          channels: src.channels,
          format: src.format,
          bitDepth: src.bitsStored,
          photometric: src.photometric,
          ...(src.transferSyntax ? { transferSyntax: src.transferSyntax.name } : {}),
          ...(src.modality ? { modality: src.modality } : {}),
          pixelHash: await pixelHash(src),
          constant,
        };
        opts.cache?.writeFacts(hash, facts);
      }
      // Policy checks from the facts alone (no decoding when they come from the cache).
      checkPolicy(facts, settings, where);
      const roi = image.roi;
      if (roi && (roi[0] + roi[2] > facts.width || roi[1] + roi[3] > facts.height)) {
        problems.push({ line, column: `${modality}_roi`, message: `ROI ${roi.join(' ')} extends beyond the ${facts.width}x${facts.height} image` });
      }
      sanityWarnings(facts, roi, opts.inputSize, modality).forEach((message) => warnings.push({ line, column: modality, message }));
      if (job.caseId !== undefined && opts.onImage) {
        if (src) mod = await modalityImage(src, settings, where, roi);
        await opts.onImage(job, facts, hash, mod);
      }
      for (const [column, maskFile] of [[`${modality}_mask`, image.mask], [`${modality}_mask_2`, image.mask2]] as const) {
        if (!maskFile || opts.checkMasks === false) continue;
        const area = await checkMask(root, baseDir, maskFile, facts, image.spacingMm, (message) => problems.push({ line, column, message }));
        if (area && job.caseId !== undefined) maskAreas.set(job.caseId, { ...maskAreas.get(job.caseId), [column]: area });
      }
      const convertedToGrey = settings.channels !== 'rgb' && facts.channels === 3;
      images.push({ ...facts, line, ...(job.caseId !== undefined ? { caseId: job.caseId } : {}), modality, convertedToGrey });
      hashed.push({ line, modality, pixelHash: facts.pixelHash, ...(job.caseId !== undefined ? { caseId: job.caseId } : {}), ...(job.cohort ? { cohort: job.cohort } : {}) });
    } catch (err) {
      const m = err instanceof Error ? err.message : String(err);
      // Decoder and policy messages start with the relative path already.
      if (err instanceof ModalityImageError) problems.push({ line, column: modality, message: m });
      else problems.push({ line, column: modality, message: m.startsWith(image.relPath) ? `cannot decode image ${m}` : `cannot decode image ${image.relPath}: ${m}` });
    }
  }
  const leaks = findLeaks(hashed);
  problems.push(...leaks.errors);
  warnings.push(...leaks.warnings);
  problems.sort((a, b) => a.line - b.line || (a.column ?? '').localeCompare(b.column ?? ''));
  warnings.sort((a, b) => a.line - b.line || (a.column ?? '').localeCompare(b.column ?? ''));
  return { manifest: { path: absPath, modalities, cases }, problems, warnings, images, maskAreas };
}

/**
 * A mask must stay inside the site folder, decode, have the image's size, be binary (0 and one
 * other value) and not be empty. Decoded one at a time, like the images.
 */
async function checkMask(
  root: string,
  baseDir: string,
  path: string,
  img: { readonly width: number; readonly height: number },
  spacing: readonly [number, number] | undefined,
  problem: (message: string) => void,
): Promise<MaskArea | undefined> {
  const r = await resolveInside(root, baseDir, path);
  if (r.outside) {
    problem(`mask path ${path} leads outside the site folder ${root}; keep masks under it (or configure the data root)`);
    return undefined;
  }
  if (!r.abs) {
    problem(`mask not found: ${path}`);
    return undefined;
  }
  let mask: DecodedImage;
  try {
    mask = await decodeImageFile(r.abs);
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

function checkPolicy(facts: ImageFacts, s: ModalitySettings, where: string): void {
  if (facts.frames > 1 && !s.frames) {
    throw new ModalityImageError(
      `${where}: multi-frame image (${facts.frames} frames) but no frame policy for this modality; set one in the study or site config (frames: fixed:N, peak, mean or sample:K) - the first frame is never taken silently`,
    );
  }
  if (s.frames?.kind === 'fixed' && s.frames.frame >= facts.frames) {
    throw new ModalityImageError(`${where}: frame policy fixed:${s.frames.frame} but the image has ${facts.frames} frame${facts.frames === 1 ? '' : 's'}`);
  }
  if (s.channels === 'rgb' && facts.channels === 1) {
    throw new ModalityImageError(`${where}: grey image (${facts.photometric}) given for a colour modality (channels: rgb); give the colour (Doppler) export, or declare the modality grey`);
  }
}

function sanityWarnings(f: ImageFacts, roi: Roi | undefined, inputSize: number | undefined, modality: string): string[] {
  const out: string[] = [];
  if (f.constant) out.push('the image is blank (one value throughout)');
  if (inputSize !== undefined) {
    const side = roi ? Math.max(roi[2], roi[3]) : Math.min(f.width, f.height);
    if (side * 2 <= inputSize) out.push(`the ${roi ? 'ROI' : 'image'} (${side} px) is much smaller than the model input (${inputSize} px); it will be upsampled more than 2x`);
  }
  if (f.format === 'dicom' && f.modality && f.modality !== 'US') {
    out.push(`DICOM Modality is ${f.modality}, not US (ultrasound), for image column ${modality}; check that the right series was exported`);
  }
  return out;
}

/** Like checkManifest, but throws a ManifestError listing every problem. */
export async function loadManifest(path: string, opts: LoadManifestOptions = {}): Promise<ManifestCheck> {
  const check = await checkManifest(path, opts);
  if (check.problems.length > 0) throw new ManifestError(check.manifest.path, check.problems);
  return check;
}
