// Endpoints from manifest columns (issue 16 item 1). A study states its outcome instead of assuming
// a `label` column:
//   outcome:    { column: n_positive_nodes, positive_when: ">= 1" }
//   population: { column: n_positive_sln, between: [1, 2] }       (restricted population, optional)
//   levels:     [ { name: n0_vs_nplus, outcome: {...} },            (hierarchical endpoint: level k
//                 { name: low_vs_high, outcome: {...} } ]             is restricted to the positives
//                                                                      of level k - 1)
//   subgroups:  [ { name: ki67_high, column: ki67, when: ">= 14" } ]
// A condition is "OP VALUE" with OP one of >=, >, <=, <, ==, != (numbers), or == / != a word
// ("== positive"). A case whose outcome or population cell is empty or NA is not a case of that
// endpoint (counted as missing). The cohort rules apply at every level: each level needs both
// classes in its training and validation cohorts, or the study stops naming the level and cohort.
import { z } from 'zod';
import { FlError } from '../errors/index.js';

export type Op = '>=' | '>' | '<=' | '<' | '==' | '!=';

export interface Condition {
  readonly op: Op;
  /** A number, or a word compared as text (== and != only). */
  readonly value: number | string;
  /** As written, for reports ("ki67 >= 14"). */
  readonly text: string;
}

const CONDITION = /^\s*(>=|<=|==|!=|>|<)\s*(\S(?:.*\S)?)\s*$/;

/** Parses "OP VALUE"; returns a message instead when the text is not a condition. */
export function parseCondition(text: string): Condition | string {
  const m = CONDITION.exec(text);
  if (!m) return `"${text}" is not a condition: write OP VALUE with OP one of >=, >, <=, <, ==, != (e.g. ">= 1")`;
  const op = m[1] as Op;
  const raw = m[2]!;
  const n = Number(raw);
  if (raw !== '' && Number.isFinite(n)) return { op, value: n, text: `${op} ${raw}` };
  if (op !== '==' && op !== '!=') return `"${text}": ${op} needs a number, got "${raw}"`;
  return { op, value: raw, text: `${op} ${raw}` };
}

export const conditionSchema = z.union([z.string(), z.number()]).transform((v, ctx): Condition => {
  const c = parseCondition(typeof v === 'number' ? `== ${v}` : v);
  if (typeof c === 'string') {
    ctx.addIssue({ code: 'custom', message: c });
    return z.NEVER;
  }
  return c;
});

const column = z.string().trim().min(1, 'name a manifest column').regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a manifest column name (letters, digits, "_", ".", "-")');

export const outcomeSchema = z.strictObject({ column, positive_when: conditionSchema });

export const populationSchema = z.union([
  z.strictObject({ column, between: z.tuple([z.number(), z.number()]) }).refine((p) => p.between[0] <= p.between[1], { message: 'between: [low, high] with low <= high', path: ['between'] }),
  z.strictObject({ column, when: conditionSchema }),
]);

const levelName = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'lower-case letters, digits and "_" (max 40)');

export const levelSchema = z.strictObject({
  name: levelName,
  title: z.string().optional(),
  outcome: outcomeSchema,
  population: populationSchema.optional(),
});

export const subgroupSchema = z.strictObject({ name: levelName, column, when: conditionSchema });

/** The endpoint words of a study (spread into the study schema). */
export const endpointFields = {
  /** The outcome from a manifest column; default: the `label` column (label == 1). */
  outcome: outcomeSchema.optional(),
  /** A restricted population (e.g. 1-2 positive sentinel nodes). */
  population: populationSchema.optional(),
  /** A hierarchical endpoint: level k among the positives of level k - 1. */
  levels: z.array(levelSchema).min(2).max(4).optional(),
  /** Subgroups reported on the held-out cohorts, with interaction tests of complementary pairs. */
  subgroups: z.array(subgroupSchema).optional(),
};

interface RefineCtx { addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void }

/** `outcome` and `levels` exclude each other; names are unique. */
export function refineEndpointFields(e: { outcome?: unknown; population?: unknown; levels?: readonly { name: string }[] | undefined; subgroups?: readonly { name: string }[] | undefined }, ctx: RefineCtx): void {
  if (e.outcome && e.levels) ctx.addIssue({ code: 'custom', path: ['levels'], message: 'give either outcome (one endpoint) or levels (hierarchical), not both' });
  if (e.population && e.levels) ctx.addIssue({ code: 'custom', path: ['population'], message: 'with levels, give each level its own population' });
  const seen = new Set<string>();
  (e.levels ?? []).forEach((l, i) => {
    if (seen.has(l.name)) ctx.addIssue({ code: 'custom', path: ['levels', i, 'name'], message: `duplicate level name "${l.name}"` });
    seen.add(l.name);
  });
  const sub = new Set<string>();
  (e.subgroups ?? []).forEach((s, i) => {
    if (sub.has(s.name)) ctx.addIssue({ code: 'custom', path: ['subgroups', i, 'name'], message: `duplicate subgroup name "${s.name}"` });
    sub.add(s.name);
  });
}

export const endpointFieldsSchema = z.strictObject(endpointFields).superRefine(refineEndpointFields);

export type Outcome = z.output<typeof outcomeSchema>;
export type Population = z.output<typeof populationSchema>;
export type Level = z.output<typeof levelSchema>;
export type Subgroup = z.output<typeof subgroupSchema>;
export type EndpointFields = z.output<typeof endpointFieldsSchema>;

/** An empty cell or NA (what R and pandas write) is missing. */
export function missingCell(v: string | undefined): boolean {
  const t = (v ?? '').trim();
  return t === '' || t === 'NA';
}

/** Whether a cell meets the condition; null when the cell is missing. Throws when a number is required and the cell is not one. */
export function meets(cell: string | undefined, c: Condition, where: string): boolean | null {
  if (missingCell(cell)) return null;
  const t = cell!.trim();
  if (typeof c.value === 'string') return c.op === '==' ? t === c.value : t !== c.value;
  const x = Number(t);
  if (!Number.isFinite(x)) throw new EndpointError(`${where}: "${t}" is not a number, but the condition "${c.text}" compares numbers`);
  switch (c.op) {
    case '>=': return x >= c.value;
    case '>': return x > c.value;
    case '<=': return x <= c.value;
    case '<': return x < c.value;
    case '==': return x === c.value;
    case '!=': return x !== c.value;
  }
}

export class EndpointError extends FlError {
  constructor(message: string) {
    super('endpoint.invalid', message);
  }
}

function inPopulation(cell: string | undefined, p: Population, where: string): boolean | null {
  if ('between' in p) {
    if (missingCell(cell)) return null;
    const x = Number(cell!.trim());
    if (!Number.isFinite(x)) throw new EndpointError(`${where}: "${cell!.trim()}" is not a number, but the population is ${p.column} between ${p.between[0]} and ${p.between[1]}`);
    return x >= p.between[0] && x <= p.between[1];
  }
  return meets(cell, p.when, where);
}

/** One endpoint (level) resolved on the rows of a manifest. */
export interface ResolvedLevel {
  readonly name: string;
  readonly title: string;
  /** Rows (indices into the input) that are cases of this level, with their labels. */
  readonly rows: number[];
  readonly labels: (0 | 1)[];
  /** Rows left out: outside the population (or negative at the previous level), or a missing cell. */
  readonly excluded: { readonly outside_population: number; readonly missing_population: number; readonly missing_outcome: number };
  /** Cases and positives per cohort. */
  readonly cohorts: Record<string, { n: number; positives: number }>;
}

export interface EndpointRow {
  readonly [column: string]: string | undefined;
}

function describeOutcome(o: Outcome): string {
  return `${o.column} ${o.positive_when.text}`;
}

/**
 * Resolves the study's endpoint(s) on manifest rows (header -> cell). `rowName(i)` names row i in
 * errors (e.g. "site-1/manifest.csv row 12"). Without outcome or levels, the `label` column is
 * the outcome (label == 1), as before.
 */
export function resolveEndpoints(rows: readonly EndpointRow[], e: Pick<EndpointFields, 'outcome' | 'population' | 'levels'>, cohortColumn = 'cohort', rowName: (i: number) => string = (i) => `row ${i + 2}`): ResolvedLevel[] {
  const levels: Level[] = e.levels ?? [{
    name: 'endpoint',
    outcome: e.outcome ?? { column: 'label', positive_when: { op: '==', value: 1, text: '== 1' } },
    ...(e.population ? { population: e.population } : {}),
  }];
  const columns = [...new Set(levels.flatMap((l) => [l.outcome.column, ...(l.population ? [l.population.column] : [])]))];
  if (rows.length > 0) {
    const missing = columns.filter((c) => !(c in rows[0]!));
    if (missing.length) throw new EndpointError(`the manifest has no column ${missing.map((c) => `"${c}"`).join(', ')}, which the study's endpoint uses; add it or change outcome/population in the study`);
  }
  const out: ResolvedLevel[] = [];
  let parent: Set<number> | null = null;
  for (const l of levels) {
    const idx: number[] = [];
    const labels: (0 | 1)[] = [];
    const excluded = { outside_population: 0, missing_population: 0, missing_outcome: 0 };
    const cohorts: Record<string, { n: number; positives: number }> = {};
    rows.forEach((r, i) => {
      if (parent && !parent.has(i)) { excluded.outside_population++; return; }
      if (l.population) {
        const inside = inPopulation(r[l.population.column], l.population, `${rowName(i)}, column ${l.population.column}`);
        if (inside === null) { excluded.missing_population++; return; }
        if (!inside) { excluded.outside_population++; return; }
      }
      const y = meets(r[l.outcome.column], l.outcome.positive_when, `${rowName(i)}, column ${l.outcome.column}`);
      if (y === null) { excluded.missing_outcome++; return; }
      idx.push(i);
      labels.push(y ? 1 : 0);
      const c = (r[cohortColumn] ?? '').trim();
      const k = (cohorts[c] ??= { n: 0, positives: 0 });
      k.n++;
      k.positives += y ? 1 : 0;
    });
    out.push({ name: l.name, title: l.title ?? describeOutcome(l.outcome), rows: idx, labels, excluded, cohorts });
    parent = new Set(idx.filter((_, k) => labels[k] === 1));
  }
  return out;
}

/**
 * The cohort rules at every level. Rule "both" (pooled counts): the training and validation cohorts
 * of each level need positive and negative cases (a model cannot be trained, nor a threshold chosen,
 * otherwise). Rule "cases" (one site's counts, at the start of its study): each level needs cases in
 * each required cohort; a site may lack one class, which the other sites supply.
 */
export function checkLevelCohorts(levels: readonly ResolvedLevel[], needBoth: readonly string[] = ['train', 'validation'], where = 'the sites', rule: 'both' | 'cases' = 'both'): void {
  const problems: string[] = [];
  for (const l of levels) {
    for (const c of needBoth) {
      const k = l.cohorts[c] ?? { n: 0, positives: 0 };
      if (rule === 'cases' ? k.n === 0 : k.positives === 0 || k.positives === k.n) {
        problems.push(`level "${l.name}" (${l.title}), cohort ${c}: ${k.n} cases, ${k.positives} positive — ${rule === 'cases' ? 'needs cases' : 'needs positive and negative cases'}`);
      }
    }
  }
  if (problems.length) throw new EndpointError(`${where}: the endpoint cannot be trained and thresholded:\n  ${problems.join('\n  ')}\nAdd cases, or widen the population / change positive_when in the study.`);
}

/** Membership of each row in a declared subgroup: true, false, or null when the cell is missing. */
export function subgroupMembership(rows: readonly EndpointRow[], s: Subgroup, rowName: (i: number) => string = (i) => `row ${i + 2}`): (boolean | null)[] {
  return rows.map((r, i) => meets(r[s.column], s.when, `${rowName(i)}, column ${s.column} (subgroup ${s.name})`));
}

/** A level as it travels to the sites (conditions as text), re-validated there with `levelSchema`. */
export type WireLevel = {
  readonly name: string;
  readonly title?: string;
  readonly outcome: { readonly column: string; readonly positive_when: string };
  readonly population?: { readonly column: string; readonly between: readonly [number, number] } | { readonly column: string; readonly when: string };
};

function wireLevel(l: Level): WireLevel {
  const population = l.population ? ('between' in l.population ? { column: l.population.column, between: l.population.between } : { column: l.population.column, when: l.population.when.text }) : undefined;
  return { name: l.name, ...(l.title ? { title: l.title } : {}), outcome: { column: l.outcome.column, positive_when: l.outcome.positive_when.text }, ...(population ? { population } : {}) };
}

/** The levels of a study (one unnamed level "endpoint" for outcome/population), or null when the study uses the `label` column as before. */
export function studyLevels(e: Pick<EndpointFields, 'outcome' | 'population' | 'levels'>): Level[] | null {
  if (e.levels) return [...e.levels];
  if (!e.outcome && !e.population) return null;
  return [{ name: 'endpoint', outcome: e.outcome ?? { column: 'label', positive_when: { op: '==', value: 1, text: '== 1' } }, ...(e.population ? { population: e.population } : {}) }];
}

/**
 * The endpoint chain a model is trained and scored on: the study's levels down to the model's own
 * (`level:` in the model entry; default the first level). Null when the study has no endpoint words.
 */
export function endpointChain(e: Pick<EndpointFields, 'outcome' | 'population' | 'levels'>, model: { readonly name: string; readonly level?: string | undefined }): WireLevel[] | null {
  const levels = studyLevels(e);
  if (!levels) {
    if (model.level !== undefined) throw new EndpointError(`model "${model.name}": level "${model.level}" is given, but the study declares no levels`);
    return null;
  }
  const k = model.level === undefined ? 0 : levels.findIndex((l) => l.name === model.level);
  if (k < 0) throw new EndpointError(`model "${model.name}": level "${model.level}" is not one of the study's levels (${levels.map((l) => l.name).join(', ')})`);
  return levels.slice(0, k + 1).map(wireLevel);
}

/** Parses the endpoint chain a task carries (at the site); errors name the model and field. */
export function parseEndpointChain(raw: unknown, model: string): Level[] {
  const r = z.array(levelSchema).min(1).max(4).safeParse(raw);
  if (!r.success) {
    throw new EndpointError(`model "${model}": the task's endpoint is invalid: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
