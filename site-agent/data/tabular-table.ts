// The per-case table a tabular model reads at the site: declared clinical columns of the manifest
// and radiomics features of a modality's regions (from the lesion mask and from the second
// delineation `<modality>_mask_2`, for the ICC filter), extracted here and cached on disk. Only
// the `train` cohort is reachable through forTraining(); other cohorts need forEvaluation().
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FlError } from '../../shared/errors/index.js';
import type { Cohort, TabularData, TabularInputsRequest, TabularTable } from '../../shared/families/data.js';
import { DEFAULT_SETTINGS, featureNames } from '../../shared/radiomics/extract.js';
import { parseRegion, regionName } from '../../shared/radiomics/regions.js';
import { extractCase } from '../radiomics/extract-case.js';
import { CLINICAL_COLUMNS, type Manifest } from './manifest.js';
import { parseCsv } from './csv.js';

export const SECOND = '@mask_2';

export interface RadiomicsColumns { names: string[]; values: Map<string, Float64Array> }

async function radiomicsColumns(manifest: Manifest, spec: NonNullable<TabularInputsRequest['inputs']['radiomics']>, cacheDir: string, model: string): Promise<RadiomicsColumns> {
  const regions = spec.regions.map((r) => {
    try { return parseRegion(r); } catch (err) { throw new FlError('tabular.radiomics', `model "${model}": inputs.radiomics.regions: ${(err as Error).message}`); }
  });
  const all = featureNames(DEFAULT_SETTINGS.families);
  const wanted = spec.features ?? all;
  for (const f of wanted) if (!all.includes(f)) throw new FlError('tabular.radiomics', `model "${model}": inputs.radiomics.features: unknown feature "${f}" (fl radiomics features lists them)`);
  if (!manifest.modalities.includes(spec.modality)) throw new FlError('tabular.radiomics', `model "${model}": this site's manifest has no modality "${spec.modality}" (it has ${manifest.modalities.join(', ')})`);
  const key = createHash('sha256').update(JSON.stringify({
    v: 1, cases: manifest.cases.map((c) => [c.caseId, c.images[spec.modality]?.path, c.images[spec.modality]?.mask, c.images[spec.modality]?.mask2, c.images[spec.modality]?.spacingMm]),
    modality: spec.modality, regions: regions.map(regionName), settings: DEFAULT_SETTINGS,
  })).digest('hex').slice(0, 24);
  const file = join(cacheDir, `radiomics-${key}.json`);
  let cached: { names: string[]; rows: Record<string, (number | null)[]> } | null = null;
  try { cached = JSON.parse(await readFile(file, 'utf8')); } catch { cached = null; }
  if (!cached) {
    const names: string[] = [];
    for (const r of regions) for (const f of all) names.push(`${spec.modality}.${regionName(r)}.${f}`);
    const rows: Record<string, (number | null)[]> = {};
    for (const c of manifest.cases) {
      const img = c.images[spec.modality];
      if (!img?.mask) continue; // no delineation: the case's features are missing
      const base = { caseId: c.caseId, line: c.line, modality: spec.modality, image: img.path, ...(img.roi ? { roi: img.roi } : {}), ...(img.spacingMm ? { spacingMm: img.spacingMm } : {}), regions, settings: DEFAULT_SETTINGS };
      const first = await extractCase({ ...base, mask: img.mask });
      const second = img.mask2 ? await extractCase({ ...base, mask: img.mask2 }) : null;
      const v = (x: number) => (Number.isFinite(x) ? x : null);
      rows[c.caseId] = [...first.values.flatMap((a) => Array.from(a, v)), ...(second ? second.values.flatMap((a) => Array.from(a, v)) : names.map(() => null))];
    }
    cached = { names, rows };
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(cached));
  }
  const wantedCols = regions.flatMap((r) => wanted.map((f) => `${spec.modality}.${regionName(r)}.${f}`));
  const values = new Map<string, Float64Array>();
  for (const name of wantedCols) {
    const j = cached.names.indexOf(name);
    const a = new Float64Array(manifest.cases.length), b = new Float64Array(manifest.cases.length);
    manifest.cases.forEach((c, i) => {
      const row = cached!.rows[c.caseId];
      a[i] = row?.[j] ?? NaN;
      b[i] = row?.[j + cached!.names.length] ?? NaN;
    });
    values.set(name, a);
    values.set(name + SECOND, b);
  }
  return { names: wantedCols, values };
}

type ColumnRequest = NonNullable<TabularInputsRequest['inputs']['columns']>[number];

const MISSING = new Set(['', 'na', 'nan', 'null', '.']);

/**
 * Reads typed manifest columns (any column of the manifest, header case-insensitive): numeric
 * values, binary 0/1, or categorical levels as `name=level` indicators (the first level is the
 * reference). Empty / NA cells are missing. Every bad cell is reported at once, by row and column.
 */
export async function manifestColumns(manifest: Manifest, specs: readonly ColumnRequest[], model: string, declared: readonly string[] = []): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  if (specs.length === 0) return out;
  const records = parseCsv(await readFile(manifest.path, 'utf8')).filter((r) => r.fields.some((f) => f.trim() !== ''));
  const header = records[0]!.fields.map((h) => h.trim().toLowerCase());
  const byLine = new Map(records.slice(1).map((r) => [r.line, r.fields]));
  const problems: string[] = [];
  for (const raw of specs) {
    const spec = typeof raw === 'string' ? { name: raw, type: 'numeric' as const, levels: [] as readonly string[] } : { levels: [] as readonly string[], ...raw };
    const allowed = (CLINICAL_COLUMNS as readonly string[]).includes(spec.name) || declared.some((d) => d.toLowerCase() === spec.name.toLowerCase());
    if (!allowed) {
      problems.push(`column ${spec.name}: this site has not declared it for tabular models (add it to tabular_columns in site.yaml; only sums over it leave the site)`);
      continue;
    }
    const j = header.indexOf(spec.name.toLowerCase());
    if (j < 0) {
      problems.push(`column ${spec.name}: not in the manifest (the model's inputs.columns name it)`);
      continue;
    }
    const terms = spec.type === 'categorical' ? spec.levels.slice(1).map((l) => `${spec.name}=${l}`) : [spec.name];
    const cols = terms.map(() => new Float64Array(manifest.cases.length));
    manifest.cases.forEach((c, i) => {
      const cell = (byLine.get(c.line)?.[j] ?? '').trim();
      if (MISSING.has(cell.toLowerCase())) { for (const col of cols) col[i] = NaN; return; }
      if (spec.type === 'categorical') {
        const k = spec.levels.indexOf(cell);
        if (k < 0) problems.push(`row ${c.line}, column ${spec.name}: "${cell.slice(0, 40)}" is not one of the levels ${spec.levels.join(', ')}`);
        cols.forEach((col, t) => { col[i] = k < 0 ? NaN : k === t + 1 ? 1 : 0; });
        return;
      }
      const v = Number(cell);
      if (!Number.isFinite(v)) problems.push(`row ${c.line}, column ${spec.name}: "${cell.slice(0, 40)}" is not a number`);
      else if (spec.type === 'binary' && v !== 0 && v !== 1) problems.push(`row ${c.line}, column ${spec.name}: ${cell} is not 0 or 1 (a binary column)`);
      cols[0]![i] = Number.isFinite(v) ? v : NaN;
    });
    terms.forEach((t, k) => out.set(t, cols[k]!));
  }
  if (problems.length > 0) {
    throw new FlError('tabular.column', `${manifest.path} (model "${model}"): ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.slice(0, 50).join('\n  ')}`);
  }
  return out;
}

/** Opens the table of a tabular model's inputs over every case of the manifest. */
export async function openTabularData(manifest: Manifest, req: TabularInputsRequest, cacheDir: string, declared: readonly string[] = []): Promise<TabularData> {
  const columns = await manifestColumns(manifest, req.inputs.columns ?? [], req.model, declared);
  if (req.inputs.radiomics) {
    const r = await radiomicsColumns(manifest, req.inputs.radiomics, cacheDir, req.model);
    for (const [k, v] of r.values) columns.set(k, v);
  }
  const part = (cohort: Cohort): TabularTable => {
    const idx: number[] = [];
    manifest.cases.forEach((c, i) => { if (c.cohort === cohort) idx.push(i); });
    const cols = new Map<string, Float64Array>();
    for (const [k, v] of columns) cols.set(k, Float64Array.from(idx, (i) => v[i]!));
    return { cohort, caseIds: idx.map((i) => manifest.cases[i]!.caseId), labels: Float64Array.from(idx, (i) => manifest.cases[i]!.label), columns: cols };
  };
  return {
    forTraining() {
      return part('train') as TabularTable & { cohort: 'train' };
    },
    forEvaluation(cohort) {
      return part(cohort);
    },
  };
}
