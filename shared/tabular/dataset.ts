// A site's table as the site holds it: numeric columns parsed once, complete-case selection per
// request, and cross-validation folds assigned within the site by a seeded hash of the case id,
// stratified by outcome.
import { FlError } from '../errors/index.js';
import type { Subset } from './protocol.js';

export interface SiteDataset {
  site: string;
  /** Case ids (the id column, or the 1-based row number when the table has none). */
  caseIds: string[];
  /** Column -> values (NaN = missing). */
  columns: Map<string, Float64Array>;
  rows: number;
}

const MISSING = new Set(['', 'NA', 'NaN', 'nan', 'null', 'NULL', '.']);

/**
 * Parses a site's rows (header -> cell). Cells that are empty / NA are missing; anything else must
 * be a finite number (binary variables as 0/1) - an error names the site, row and column otherwise.
 */
export function siteDatasetFromRows(site: string, rows: Record<string, string>[], idColumn = 'case_id'): SiteDataset {
  const header = rows.length > 0 ? Object.keys(rows[0]!) : [];
  const columns = new Map<string, Float64Array>();
  for (const h of header) {
    if (h === idColumn) continue;
    const col = new Float64Array(rows.length);
    let numeric = true;
    let firstBad = -1;
    for (let i = 0; i < rows.length; i++) {
      const cell = (rows[i]![h] ?? '').trim();
      if (MISSING.has(cell)) { col[i] = NaN; continue; }
      const v = Number(cell);
      if (!Number.isFinite(v)) { numeric = false; firstBad = i; break; }
      col[i] = v;
    }
    if (numeric) columns.set(h, col);
    else columns.set(h, nonNumeric(site, h, firstBad, rows[firstBad]![h]!));
  }
  const caseIds = rows.map((r, i) => (r[idColumn] ?? '').trim() || String(i + 1));
  return { site, caseIds, columns, rows: rows.length };
}

/** A column that is not numeric is kept as a marker; using it in a model is an error naming the cell. */
function nonNumeric(site: string, column: string, row: number, cell: string): Float64Array {
  const marker = new Float64Array(0) as Float64Array & { nonNumeric?: string };
  marker.nonNumeric = `site ${site}: column "${column}" row ${row + 1} is "${cell}", not a number (use 0/1 for binary variables; leave the cell empty for missing)`;
  return marker;
}

export function column(ds: SiteDataset, name: string): Float64Array {
  const col = ds.columns.get(name) as (Float64Array & { nonNumeric?: string }) | undefined;
  if (!col) throw new FlError('tabular.column', `site ${ds.site}: no column "${name}" (columns: ${[...ds.columns.keys()].join(', ')})`);
  if (col.nonNumeric) throw new FlError('tabular.column', col.nonNumeric);
  return col;
}

export interface Design {
  /** Row-major n x p values of the requested columns (complete cases only). */
  x: Float64Array[];
  y: Uint8Array;
  ids: string[];
  dropped: number;
}

const designCache = new WeakMap<SiteDataset, Map<string, Design>>();

/** Complete cases of `columns` and `outcome`; the outcome must be 0/1. Memoised per dataset. */
export function design(ds: SiteDataset, outcome: string, columns: readonly string[], completeOn: readonly string[] = []): Design {
  const key = JSON.stringify([outcome, columns, completeOn]);
  let cache = designCache.get(ds);
  if (!cache) { cache = new Map(); designCache.set(ds, cache); }
  const hit = cache.get(key);
  if (hit) return hit;
  const ycol = column(ds, outcome);
  const cols = columns.map((c) => column(ds, c));
  const extra = completeOn.filter((c) => !columns.includes(c)).map((c) => column(ds, c));
  const x: Float64Array[] = [];
  const y: number[] = [];
  const ids: string[] = [];
  let dropped = 0;
  for (let i = 0; i < ds.rows; i++) {
    const yi = ycol[i]!;
    let ok = !Number.isNaN(yi);
    const row = new Float64Array(cols.length);
    for (let j = 0; ok && j < cols.length; j++) {
      const v = cols[j]![i]!;
      if (Number.isNaN(v)) ok = false;
      row[j] = v;
    }
    for (let j = 0; ok && j < extra.length; j++) if (Number.isNaN(extra[j]![i]!)) ok = false;
    if (!ok) { dropped++; continue; }
    if (yi !== 0 && yi !== 1) throw new FlError('tabular.outcome', `site ${ds.site}: outcome "${outcome}" row ${i + 1} is ${yi}; it must be 0 or 1`);
    x.push(row); y.push(yi); ids.push(ds.caseIds[i]!);
  }
  const d: Design = { x, y: Uint8Array.from(y), ids, dropped };
  cache.set(key, d);
  return d;
}

/** 32-bit FNV-1a of a string, mixed with a seed (platform-independent). */
export function hash32(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b) >>> 0; h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35) >>> 0; h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Fold (0..K-1) of each complete case: within each outcome class, cases ordered by the seeded hash of
 * their id (ties by id) are dealt to folds in turn, so each fold gets ~1/K of each class at every site.
 */
export function assignFolds(d: Design, folds: number, seed: number): Int32Array {
  const out = new Int32Array(d.y.length);
  for (const cls of [0, 1]) {
    const idx: number[] = [];
    for (let i = 0; i < d.y.length; i++) if (d.y[i] === cls) idx.push(i);
    const keyed = idx.map((i) => ({ i, h: hash32(d.ids[i]!, seed), id: d.ids[i]! }));
    keyed.sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : a.id > b.id ? 1 : a.i - b.i));
    keyed.forEach((k, r) => { out[k.i] = r % folds; });
  }
  return out;
}

const foldCache = new WeakMap<Design, Map<string, Int32Array>>();

/** Row indices of the design in a subset. */
export function subsetRows(d: Design, s: Subset): number[] {
  if (s.kind === 'all') return Array.from({ length: d.y.length }, (_, i) => i);
  let cache = foldCache.get(d);
  if (!cache) { cache = new Map(); foldCache.set(d, cache); }
  const key = `${s.folds}:${s.seed}`;
  let f = cache.get(key);
  if (!f) { f = assignFolds(d, s.folds, s.seed); cache.set(key, f); }
  const rows: number[] = [];
  for (let i = 0; i < f.length; i++) if ((f[i] === s.fold) === (s.part === 'test')) rows.push(i);
  return rows;
}
