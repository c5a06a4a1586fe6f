// Table 1 over the phase exchange (issue 16 item 3): what the coordinator asks a site for and
// what the site answers, as JSON of numbers only under identifier keys (the site's privacy guard
// lets `table1.*` replies carry nothing else). A suppressed count (1..min_cell-1 at that site)
// travels as -1. Two steps:
//   table1.moments    n, sum, sum of squares per numeric variable over all the site's cases, so
//                     the coordinator can fix common histogram edges (pooled mean +- 3 SD);
//   table1.aggregates per cohort: n, and per variable the level counts (in the order the
//                     coordinator gave) + "other" + missing, or n, sum, sumsq, missing and the
//                     histogram on the given edges (shared/stats/table1.ts siteTable1).
import { z } from 'zod';
import { FlError } from '../errors/index.js';
import type { CategoricalAggregate, NumericAggregate, SiteTable1, Table1Variable, VariableAggregate } from './table1.js';

const ident = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be an identifier');
const level = z.string().regex(/^[A-Za-z0-9_.+-]{1,40}$/, 'levels are letters, digits, _ . + - (max 40)');
const num = z.number().finite();

export const table1VariableSchema = z.strictObject({
  name: ident,
  column: ident,
  kind: z.enum(['categorical', 'numeric']),
  levels: z.array(level).min(1).max(100).optional(),
  edges: z.array(num).min(2).max(201).optional(),
}).superRefine((v, ctx) => {
  if (v.kind === 'categorical' && !v.levels) ctx.addIssue({ code: 'custom', path: ['levels'], message: `categorical variable "${v.name}" needs its levels` });
  if (v.edges && v.edges.some((e, i) => i > 0 && !(e > v.edges![i - 1]!))) ctx.addIssue({ code: 'custom', path: ['edges'], message: 'edges must increase' });
});

/** The study population Table 1 describes: the endpoint chain of the study's first level (as a
 *  model's task carries it; the site validates it with shared/config/endpoint.ts parseEndpointChain).
 *  Absent: every case of the manifest (a study on the label column). */
const population = z.array(z.record(z.string(), z.unknown())).min(1).max(4).optional();
export const table1MomentsRequestSchema = z.strictObject({ columns: z.array(ident).min(1).max(500), population });
export const table1AggregatesRequestSchema = z.strictObject({ variables: z.array(table1VariableSchema).min(1).max(500), population });

const count = z.number().int().min(-1);
/** Reply of table1.moments: column -> [n, sum, sumsq, negatives]; all -1 when n is suppressed
 *  (negatives, the count of values below 0, is -1 alone when it is 1..min_cell-1). */
export const table1MomentsReplySchema = z.record(ident, z.tuple([count, num, num, count]));
const wireVariable = z.union([
  z.strictObject({ counts: z.array(count).min(1), missing: count }),
  z.strictObject({ n: count, sum: num, sumsq: num, missing: count, hist: z.array(count).min(1) }),
]);
/** Reply of table1.aggregates. */
export const table1AggregatesReplySchema = z.strictObject({
  min_cell: z.number().int().min(1),
  cohorts: z.record(ident, z.strictObject({ n: count, vars: z.record(ident, wireVariable) })),
});
export type Table1AggregatesReply = z.output<typeof table1AggregatesReplySchema>;

const enc = (x: number | null): number => (x === null ? -1 : x);
const dec = (x: number): number | null => (x === -1 ? null : x);

/** Site side: a SiteTable1 as numbers only (levels in the variable's order, then "other"). */
export function encodeSiteTable1(t: SiteTable1, variables: readonly Table1Variable[]): Table1AggregatesReply {
  const cohorts: Table1AggregatesReply['cohorts'] = {};
  for (const [cohort, c] of Object.entries(t.cohorts)) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(cohort)) continue; // manifest cohorts are identifiers (validated); anything else is not sent
    const vars: Table1AggregatesReply['cohorts'][string]['vars'] = {};
    for (const v of variables) {
      const a = c.variables[v.name]!;
      if (a.kind === 'categorical') vars[v.name] = { counts: [...(v.levels ?? []), 'other'].map((l) => { const c = a.counts[l]; return c === undefined ? 0 : enc(c); }), missing: enc(a.missing) };
      else vars[v.name] = { n: enc(a.n), sum: a.sum ?? 0, sumsq: a.sumsq ?? 0, missing: enc(a.missing), hist: a.histogram.map(enc) };
    }
    cohorts[cohort] = { n: enc(c.n), vars };
  }
  return { min_cell: t.min_cell, cohorts };
}

/** Coordinator side: a site's reply checked against the request and turned back into a SiteTable1. */
export function decodeSiteTable1(site: string, json: unknown, variables: readonly Table1Variable[]): SiteTable1 {
  const parsed = table1AggregatesReplySchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new FlError('table1.reply', `site ${site}: table1.aggregates reply, field "${i.path.join('.')}": ${i.message}`);
  }
  const cohorts: Record<string, { n: number | null; variables: Record<string, VariableAggregate> }> = {};
  for (const [cohort, c] of Object.entries(parsed.data.cohorts)) {
    const vars: Record<string, VariableAggregate> = {};
    for (const v of variables) {
      const w = c.vars[v.name];
      if (!w) throw new FlError('table1.reply', `site ${site}: cohort ${cohort} has no figures for variable "${v.name}"`);
      if (v.kind === 'categorical') {
        const names = [...(v.levels ?? []), 'other'];
        if (!('counts' in w) || w.counts.length !== names.length) throw new FlError('table1.reply', `site ${site}: cohort ${cohort}, variable "${v.name}": expected ${names.length} level counts`);
        const counts: Record<string, number | null> = {};
        names.forEach((l, k) => { if (l !== 'other' || w.counts[k] !== 0) counts[l] = dec(w.counts[k]!); });
        vars[v.name] = { kind: 'categorical', counts, missing: dec(w.missing) } satisfies CategoricalAggregate;
      } else {
        const edges = v.edges ?? [];
        if (!('hist' in w) || w.hist.length !== edges.length - 1) throw new FlError('table1.reply', `site ${site}: cohort ${cohort}, variable "${v.name}": expected ${edges.length - 1} histogram bins`);
        const n = dec(w.n);
        vars[v.name] = { kind: 'numeric', n, sum: n === null ? null : w.sum, sumsq: n === null ? null : w.sumsq, missing: dec(w.missing), edges, histogram: w.hist.map(dec) } satisfies NumericAggregate;
      }
    }
    cohorts[cohort] = { n: dec(c.n), variables: vars };
  }
  return { site, min_cell: parsed.data.min_cell, cohorts };
}

/** Site side: n, sum, sumsq of each numeric column over all rows; n in 1..min_cell-1 suppressed (-1). */
export function siteMoments(rows: readonly Readonly<Record<string, string | undefined>>[], columns: readonly string[], minCell: number): Record<string, [number, number, number, number]> {
  const out: Record<string, [number, number, number, number]> = {};
  for (const c of columns) {
    let n = 0, sum = 0, sumsq = 0, neg = 0;
    for (const r of rows) {
      const t = (r[c] ?? '').trim();
      if (t === '' || t === 'NA') continue;
      const y = Number(t);
      if (!Number.isFinite(y)) continue;
      n++; sum += y; sumsq += y * y;
      if (y < 0) neg++;
    }
    out[c] = n > 0 && n < minCell ? [-1, -1, -1, -1] : [n, sum, sumsq, neg > 0 && neg < minCell ? -1 : neg];
  }
  return out;
}

/**
 * Common histogram edges from the sites' moments: `bins` equal bins over the pooled mean +- 3 SD
 * (values beyond them fall in the end bins, see siteTable1), starting at 0 instead when no site
 * has a negative value (counts, sizes, percentages). Null when the sites have fewer than two
 * unsuppressed values.
 */
export function edgesFromMoments(replies: readonly Readonly<Record<string, readonly [number, number, number, number]>>[], column: string, bins = 16): number[] | null {
  let n = 0, sum = 0, sumsq = 0, anyNegative = false;
  for (const r of replies) {
    const m = r[column];
    if (!m || m[0] < 0) continue;
    n += m[0]; sum += m[1]; sumsq += m[2];
    if (m[3] !== 0) anyNegative = true;
  }
  if (n < 2) return null;
  const mean = sum / n;
  const sd = Math.sqrt(Math.max(0, (sumsq - n * mean * mean) / (n - 1)));
  const half = sd > 0 ? 3 * sd : Math.max(1, Math.abs(mean)) * 0.5;
  const lo = anyNegative ? mean - half : Math.max(0, mean - half);
  const width = (mean + half - lo) / bins;
  return Array.from({ length: bins + 1 }, (_, k) => lo + k * width);
}
