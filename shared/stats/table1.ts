// Table 1 (baseline characteristics) per cohort and site, from aggregates the sites return
// (issue 16 item 3). A site sends, per cohort and variable, counts per level (categorical) or
// n, sum, sum of squares and a histogram on edges the study fixes (numeric); any count between 1
// and min_cell - 1 is sent as null (suppressed). The coordinator pools them:
//   categorical: n (%) per level and missing; P across cohorts by Pearson's chi-squared test
//     (no continuity correction), or Fisher's exact test for a 2 x 2 table with an expected count < 5;
//   numeric: mean (SD) exactly from the sums; median [IQR] interpolated in the pooled histogram
//     (a federated approximation, stated as such in the table); P by Welch's t-test for two
//     cohorts, one-way ANOVA for more.
// A P-value that needs a suppressed count is null with the reason.
import { lgamma, pbeta } from './distributions.js';

export interface Table1Variable {
  readonly name: string;
  readonly column: string;
  readonly kind: 'categorical' | 'numeric';
  /** Categorical: the levels in report order (cells outside them count as "other"). */
  readonly levels?: readonly string[];
  /** Numeric: histogram edges, increasing (values below the first / above the last go to the end bins). */
  readonly edges?: readonly number[];
}

export interface CategoricalAggregate {
  readonly kind: 'categorical';
  readonly counts: Readonly<Record<string, number | null>>;
  readonly missing: number | null;
}

export interface NumericAggregate {
  readonly kind: 'numeric';
  readonly n: number | null;
  readonly sum: number | null;
  readonly sumsq: number | null;
  readonly missing: number | null;
  readonly edges: readonly number[];
  readonly histogram: readonly (number | null)[];
}

export type VariableAggregate = CategoricalAggregate | NumericAggregate;

export interface SiteTable1 {
  readonly site: string;
  readonly min_cell: number;
  readonly cohorts: Readonly<Record<string, { readonly n: number | null; readonly variables: Readonly<Record<string, VariableAggregate>> }>>;
}

function isMissing(v: string | undefined): boolean {
  const t = (v ?? '').trim();
  return t === '' || t === 'NA';
}

function suppress(c: number, minCell: number): number | null {
  return c > 0 && c < minCell ? null : c;
}

/** Site side: the aggregates of one site's rows (header -> cell), counts below min_cell suppressed. */
export function siteTable1(site: string, rows: readonly Readonly<Record<string, string | undefined>>[], variables: readonly Table1Variable[], minCell: number, cohortColumn = 'cohort'): SiteTable1 {
  const byCohort = new Map<string, Readonly<Record<string, string | undefined>>[]>();
  for (const r of rows) {
    const c = (r[cohortColumn] ?? '').trim();
    const list = byCohort.get(c);
    if (list) list.push(r); else byCohort.set(c, [r]);
  }
  const cohorts: Record<string, { n: number | null; variables: Record<string, VariableAggregate> }> = {};
  for (const [cohort, rs] of byCohort) {
    const vars: Record<string, VariableAggregate> = {};
    for (const v of variables) {
      if (v.kind === 'categorical') {
        const levels = v.levels ?? [...new Set(rs.map((r) => (r[v.column] ?? '').trim()).filter((x) => !isMissing(x)))].sort();
        const counts: Record<string, number> = Object.fromEntries(levels.map((l) => [l, 0]));
        let missing = 0, other = 0;
        for (const r of rs) {
          const x = r[v.column];
          if (isMissing(x)) missing++;
          else if (x!.trim() in counts) counts[x!.trim()]!++;
          else other++;
        }
        if (other) counts.other = other;
        vars[v.name] = { kind: 'categorical', counts: Object.fromEntries(Object.entries(counts).map(([k, c]) => [k, suppress(c, minCell)])), missing: suppress(missing, minCell) };
      } else {
        const edges = v.edges ?? [];
        if (edges.length < 2) throw new RangeError(`Table 1 variable ${v.name}: give at least two histogram edges`);
        const hist = new Array<number>(edges.length - 1).fill(0);
        let n = 0, sum = 0, sumsq = 0, missing = 0;
        for (const r of rs) {
          const x = r[v.column];
          if (isMissing(x)) { missing++; continue; }
          const y = Number(x!.trim());
          if (!Number.isFinite(y)) { missing++; continue; }
          n++; sum += y; sumsq += y * y;
          let k = 0;
          while (k < hist.length - 1 && y >= edges[k + 1]!) k++;
          hist[k]!++;
        }
        const small = n > 0 && n < minCell;
        vars[v.name] = {
          kind: 'numeric', n: small ? null : n, sum: small ? null : sum, sumsq: small ? null : sumsq,
          missing: suppress(missing, minCell), edges: [...edges], histogram: hist.map((c) => suppress(c, minCell)),
        };
      }
    }
    cohorts[cohort] = { n: suppress(rs.length, minCell), variables: vars };
  }
  return { site, min_cell: minCell, cohorts };
}

// ---- distributions -------------------------------------------------------------------------

/** Upper tail of the chi-squared distribution, Q(df/2, x/2) (series / continued fraction). */
export function pchisqUpper(x: number, df: number): number {
  if (x <= 0) return 1;
  const a = df / 2, z = x / 2;
  const lpre = a * Math.log(z) - z - lgamma(a);
  if (z < a + 1) {
    let sum = 1 / a, term = 1 / a;
    for (let k = 1; k < 100000; k++) { term *= z / (a + k); sum += term; if (term < sum * 1e-17) break; }
    return Math.max(0, 1 - Math.exp(lpre) * sum);
  }
  const tiny = 1e-300;
  let b = z + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b; if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(lpre) * h;
}

/** Two-sided P of Student's t with df degrees of freedom. */
export function ptTwoSided(t: number, df: number): number {
  return pbeta(df / (df + t * t), df / 2, 0.5);
}

/** Upper tail of F(d1, d2). */
export function pfUpper(f: number, d1: number, d2: number): number {
  if (f <= 0) return 1;
  return pbeta(d2 / (d2 + d1 * f), d2 / 2, d1 / 2);
}

export interface TestResult {
  readonly test: string;
  readonly statistic: number | null;
  readonly p: number | null;
  readonly reason?: string;
}

/** Pearson's chi-squared test of independence (no continuity correction), R's chisq.test(correct = FALSE). */
export function chiSquaredTest(table: readonly (readonly number[])[]): TestResult {
  const rows = table.filter((r) => r.reduce((s, x) => s + x, 0) > 0);
  const cols = table[0]!.map((_, j) => j).filter((j) => rows.some((r) => r[j]! > 0));
  if (rows.length < 2 || cols.length < 2) return { test: 'chi-squared', statistic: null, p: null, reason: 'needs at least two non-empty rows and columns' };
  const rs = rows.map((r) => cols.reduce((s, j) => s + r[j]!, 0));
  const cs = cols.map((j) => rows.reduce((s, r) => s + r[j]!, 0));
  const n = rs.reduce((s, x) => s + x, 0);
  let x2 = 0;
  rows.forEach((r, i) => cols.forEach((j, k) => { const e = (rs[i]! * cs[k]!) / n; x2 += (r[j]! - e) ** 2 / e; }));
  const df = (rows.length - 1) * (cols.length - 1);
  return { test: 'chi-squared', statistic: x2, p: pchisqUpper(x2, df) };
}

/** Fisher's exact test of a 2 x 2 table, two-sided as R's fisher.test (sum of tables no more likely than the observed). */
export function fisherExact2x2(a: number, b: number, c: number, d: number): TestResult {
  const r1 = a + b, r2 = c + d, c1 = a + c, n = r1 + r2;
  const lchoose = (m: number, k: number) => lgamma(m + 1) - lgamma(k + 1) - lgamma(m - k + 1);
  const logp = (x: number) => lchoose(r1, x) + lchoose(r2, c1 - x) - lchoose(n, c1);
  const lo = Math.max(0, c1 - r2), hi = Math.min(r1, c1);
  const obs = logp(a);
  let p = 0;
  for (let x = lo; x <= hi; x++) { const lp = logp(x); if (lp <= obs + 1e-7 * Math.abs(obs) + 1e-12) p += Math.exp(lp); }
  return { test: "Fisher's exact", statistic: null, p: Math.min(1, p) };
}

/** Welch's two-sample t-test from n, sum and sum of squares (R's t.test(var.equal = FALSE)). */
export function welchFromSums(g1: { n: number; sum: number; sumsq: number }, g2: { n: number; sum: number; sumsq: number }): TestResult {
  if (g1.n < 2 || g2.n < 2) return { test: "Welch's t", statistic: null, p: null, reason: 'each cohort needs at least two values' };
  const m1 = g1.sum / g1.n, m2 = g2.sum / g2.n;
  const v1 = (g1.sumsq - g1.n * m1 * m1) / (g1.n - 1), v2 = (g2.sumsq - g2.n * m2 * m2) / (g2.n - 1);
  const se2 = v1 / g1.n + v2 / g2.n;
  if (!(se2 > 0)) return { test: "Welch's t", statistic: null, p: null, reason: 'no variance in either cohort' };
  const t = (m1 - m2) / Math.sqrt(se2);
  const df = se2 ** 2 / ((v1 / g1.n) ** 2 / (g1.n - 1) + (v2 / g2.n) ** 2 / (g2.n - 1));
  return { test: "Welch's t", statistic: t, p: ptTwoSided(t, df) };
}

/** One-way ANOVA F test from group sums (R's oneway.test(var.equal = TRUE)). */
export function anovaFromSums(groups: readonly { n: number; sum: number; sumsq: number }[]): TestResult {
  const g = groups.filter((x) => x.n > 0);
  const n = g.reduce((s, x) => s + x.n, 0);
  if (g.length < 2 || n - g.length < 1) return { test: 'ANOVA F', statistic: null, p: null, reason: 'needs two non-empty cohorts and more values than cohorts' };
  const grand = g.reduce((s, x) => s + x.sum, 0) / n;
  const ssb = g.reduce((s, x) => s + x.n * (x.sum / x.n - grand) ** 2, 0);
  const ssw = g.reduce((s, x) => s + (x.sumsq - (x.sum * x.sum) / x.n), 0);
  if (!(ssw > 0)) return { test: 'ANOVA F', statistic: null, p: null, reason: 'no variance within cohorts' };
  const d1 = g.length - 1, d2 = n - g.length;
  const f = (ssb / d1) / (ssw / d2);
  return { test: 'ANOVA F', statistic: f, p: pfUpper(f, d1, d2) };
}

/** Quantile q of a histogram by linear interpolation within the bin (bins with null counts left out). */
export function histogramQuantile(edges: readonly number[], counts: readonly (number | null)[], q: number): number | null {
  const c = counts.map((x) => x ?? 0);
  const n = c.reduce((s, x) => s + x, 0);
  if (n === 0) return null;
  const target = q * n;
  let cum = 0;
  for (let k = 0; k < c.length; k++) {
    if (c[k]! > 0 && cum + c[k]! >= target) return edges[k]! + ((target - cum) / c[k]!) * (edges[k + 1]! - edges[k]!);
    cum += c[k]!;
  }
  return edges[edges.length - 1]!;
}

// ---- pooling -------------------------------------------------------------------------------

export interface Table1Cell {
  /** "n (%)" for a level, "mean (SD)" or "median [IQR]" for a number; null when suppressed. */
  readonly text: string | null;
  readonly reason?: string;
}

export interface Table1Row {
  readonly variable: string;
  /** Level of a categorical variable, or "mean (SD)", "median [IQR]", "missing". */
  readonly statistic: string;
  /** Per cohort (and per "site / cohort" in by_site). */
  readonly cells: Readonly<Record<string, Table1Cell>>;
}

export interface Table1 {
  readonly cohorts: string[];
  readonly n: Readonly<Record<string, number | null>>;
  readonly rows: Table1Row[];
  /** P across cohorts per variable. */
  readonly tests: Readonly<Record<string, TestResult>>;
  /** The same table per site (no tests). */
  readonly by_site: Readonly<Record<string, { readonly n: Readonly<Record<string, number | null>>; readonly rows: Table1Row[] }>>;
  readonly notes: string[];
}

function add(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a + b;
}

function poolVariable(aggs: readonly VariableAggregate[]): VariableAggregate {
  const first = aggs[0]!;
  if (first.kind === 'categorical') {
    const counts: Record<string, number | null> = {};
    let missing: number | null = 0;
    for (const a of aggs as CategoricalAggregate[]) {
      for (const [k, c] of Object.entries(a.counts)) counts[k] = k in counts ? add(counts[k]!, c) : c;
      missing = add(missing, a.missing);
    }
    return { kind: 'categorical', counts, missing };
  }
  const nums = aggs as NumericAggregate[];
  return {
    kind: 'numeric', edges: first.edges,
    n: nums.reduce<number | null>((s, a) => add(s, a.n), 0), sum: nums.reduce<number | null>((s, a) => add(s, a.sum), 0),
    sumsq: nums.reduce<number | null>((s, a) => add(s, a.sumsq), 0), missing: nums.reduce<number | null>((s, a) => add(s, a.missing), 0),
    histogram: first.histogram.map((_, k) => nums.reduce<number | null>((s, a) => add(s, a.histogram[k] === undefined ? 0 : a.histogram[k]!), 0)),
  };
}

const SUPPRESSED = (minCell: number) => `suppressed: a site's count is below min_cell (${minCell})`;

function fmt(x: number, d: number): string {
  return x.toFixed(d);
}

function rowsFor(v: Table1Variable, perCohort: Readonly<Record<string, VariableAggregate | undefined>>, nByCohort: Readonly<Record<string, number | null>>, minCell: number): Table1Row[] {
  const cohorts = Object.keys(perCohort);
  const out: Table1Row[] = [];
  const cell = (text: string | null): Table1Cell => (text === null ? { text: null, reason: SUPPRESSED(minCell) } : { text });
  if (v.kind === 'categorical') {
    const levels = [...new Set(cohorts.flatMap((c) => Object.keys((perCohort[c] as CategoricalAggregate | undefined)?.counts ?? {})))];
    for (const l of levels) {
      out.push({ variable: v.name, statistic: l, cells: Object.fromEntries(cohorts.map((c) => {
        const a = perCohort[c] as CategoricalAggregate | undefined;
        const raw = a?.counts[l];
        const k = raw === undefined ? 0 : raw;
        const n = nByCohort[c] ?? null;
        const miss = a?.missing ?? null;
        if (k === null) return [c, cell(null)];
        const denom = n === null || miss === null ? null : n - miss;
        return [c, cell(denom ? `${k} (${fmt((100 * k) / denom, 1)}%)` : String(k))];
      })) });
    }
  } else {
    out.push({ variable: v.name, statistic: 'mean (SD)', cells: Object.fromEntries(cohorts.map((c) => {
      const a = perCohort[c] as NumericAggregate | undefined;
      if (!a || a.n === null || a.sum === null || a.sumsq === null) return [c, cell(null)];
      if (a.n < 2) return [c, { text: null, reason: 'fewer than two values' }];
      const m = a.sum / a.n;
      const sd = Math.sqrt(Math.max(0, (a.sumsq - a.n * m * m) / (a.n - 1)));
      return [c, cell(`${fmt(m, 1)} (${fmt(sd, 1)})`)];
    })) });
    out.push({ variable: v.name, statistic: 'median [IQR] (histogram)', cells: Object.fromEntries(cohorts.map((c) => {
      const a = perCohort[c] as NumericAggregate | undefined;
      const q = (p: number) => (a ? histogramQuantile(a.edges, a.histogram, p) : null);
      const med = q(0.5), q1 = q(0.25), q3 = q(0.75);
      if (med === null || q1 === null || q3 === null) return [c, a && a.histogram.some((h) => h === null) ? cell(null) : { text: null, reason: 'no values' }];
      const partial = a!.histogram.some((h) => h === null);
      return [c, { text: `${fmt(med, 1)} [${fmt(q1, 1)}–${fmt(q3, 1)}]${partial ? '*' : ''}` }];
    })) });
  }
  out.push({ variable: v.name, statistic: 'missing', cells: Object.fromEntries(cohorts.map((c) => {
    const a = perCohort[c];
    const m = a ? a.missing : 0;
    return [c, m === null ? cell(null) : { text: String(m) }];
  })) });
  return out;
}

function testFor(v: Table1Variable, perCohort: Readonly<Record<string, VariableAggregate | undefined>>, minCell: number): TestResult {
  const aggs = Object.values(perCohort).filter((a): a is VariableAggregate => a !== undefined);
  if (aggs.length < 2) return { test: '-', statistic: null, p: null, reason: 'one cohort only' };
  if (v.kind === 'categorical') {
    const cats = aggs as CategoricalAggregate[];
    const levels = [...new Set(cats.flatMap((a) => Object.keys(a.counts)))];
    if (cats.some((a) => levels.some((l) => a.counts[l] === null))) return { test: 'chi-squared', statistic: null, p: null, reason: SUPPRESSED(minCell) };
    const table = cats.map((a) => levels.map((l) => a.counts[l] ?? 0)); // no null left here: checked above
    if (table.length === 2 && levels.length === 2) {
      const n = table.flat().reduce((s, x) => s + x, 0);
      const rs = table.map((r) => r[0]! + r[1]!), cs = [table[0]![0]! + table[1]![0]!, table[0]![1]! + table[1]![1]!];
      if (n > 0 && rs.some((r) => cs.some((c) => (r * c) / n < 5))) return fisherExact2x2(table[0]![0]!, table[0]![1]!, table[1]![0]!, table[1]![1]!);
    }
    return chiSquaredTest(table);
  }
  const nums = aggs as NumericAggregate[];
  if (nums.some((a) => a.n === null || a.sum === null || a.sumsq === null)) return { test: nums.length === 2 ? "Welch's t" : 'ANOVA F', statistic: null, p: null, reason: SUPPRESSED(minCell) };
  const g = nums.map((a) => ({ n: a.n!, sum: a.sum!, sumsq: a.sumsq! }));
  return g.length === 2 ? welchFromSums(g[0]!, g[1]!) : anovaFromSums(g);
}

/** Pools the sites' aggregates into Table 1 per cohort (with P-values across cohorts) and per site. */
export function poolTable1(sites: readonly SiteTable1[], variables: readonly Table1Variable[], cohortOrder?: readonly string[]): Table1 {
  const minCell = Math.max(1, ...sites.map((s) => s.min_cell));
  const seen = [...new Set(sites.flatMap((s) => Object.keys(s.cohorts)))];
  const cohorts = cohortOrder ? [...cohortOrder.filter((c) => seen.includes(c)), ...seen.filter((c) => !cohortOrder.includes(c))] : seen;
  const n: Record<string, number | null> = {};
  for (const c of cohorts) n[c] = sites.reduce<number | null>((s, x) => add(s, x.cohorts[c]?.n ?? 0), 0);
  const rows: Table1Row[] = [];
  const tests: Record<string, TestResult> = {};
  for (const v of variables) {
    const per: Record<string, VariableAggregate | undefined> = {};
    for (const c of cohorts) {
      const aggs = sites.map((s) => s.cohorts[c]?.variables[v.name]).filter((a): a is VariableAggregate => a !== undefined);
      per[c] = aggs.length ? poolVariable(aggs) : undefined;
    }
    rows.push(...rowsFor(v, per, n, minCell));
    tests[v.name] = testFor(v, per, minCell);
  }
  const bySite: Record<string, { n: Record<string, number | null>; rows: Table1Row[] }> = {};
  for (const s of sites) {
    const sn: Record<string, number | null> = Object.fromEntries(cohorts.filter((c) => s.cohorts[c]).map((c) => [c, s.cohorts[c]!.n]));
    bySite[s.site] = { n: sn, rows: variables.flatMap((v) => rowsFor(v, Object.fromEntries(Object.keys(sn).map((c) => [c, s.cohorts[c]!.variables[v.name]])), sn, s.min_cell)) };
  }
  return {
    cohorts, n, rows, tests, by_site: bySite,
    notes: [
      'Counts between 1 and min_cell - 1 at a site are suppressed by the site; a pooled figure that needs one is shown as suppressed.',
      'Mean (SD) exact from site sums; median [IQR] interpolated in the pooled histogram of each variable (federated approximation); * = some histogram bins suppressed.',
      "P across cohorts: Pearson's chi-squared (Fisher's exact for 2 x 2 tables with an expected count < 5); Welch's t-test (two cohorts) or one-way ANOVA.",
    ],
  };
}
