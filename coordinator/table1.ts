// Table 1 of a federated study (issue 16 item 3): after the held-out evaluation the coordinator
// asks every connected site once for the aggregates of the study's baseline variables per cohort
// (site-agent/table1-handler.ts), pools them (shared/stats/table1.ts poolTable1) and returns the
// `table1` section of report.json: per cohort and per site, n (%) for categorical variables,
// mean (SD) exactly and median [IQR] from the pooled histogram (approximate, stated as such),
// missing counts, and P-values across cohorts. A numeric variable without edges in the config
// gets common edges from a first exchange of moments (pooled mean +- 3 SD, from 0 when no value is negative; 16 bins).
// A site that refuses or does not answer is named in `sites_missing`; Table 1 is then of the others.
// Table 1 describes the study population (the cases the models are trained and evaluated on): with
// an outcome or a restricted population, the requests carry the endpoint chain of the study's first
// level and the sites describe only its cases; a hierarchical study is described on level 1's
// population (everyone with the outcome recorded). `notes` says which.
import type { Logger } from 'pino';
import type { StudyConfig } from '../shared/config/study.js';
import { isSumsModel } from '../shared/config/study.js';
import { columnSpecSchema, columnTerms } from '../shared/tabular/config.js';
import { poolTable1, type Table1, type Table1Variable } from '../shared/stats/table1.js';
import { decodeSiteTable1, edgesFromMoments, table1MomentsReplySchema } from '../shared/stats/table1-wire.js';
import { endpointChain } from '../shared/config/endpoint.js';

/** The manifest's clinical columns (site-agent/data/manifest.ts CLINICAL_COLUMNS): numeric. */
const CLINICAL = ['age', 'tumor_size_mm', 'ki67', 'n_positive_nodes'] as const;

/** What Table 1 needs from a running coordinator (its CoordinatorHandle provides it). */
export interface Table1Host {
  readonly file: { readonly study: StudyConfig };
  readonly sites: { connectedSites(): string[] };
  readonly phases: { exchange(round: number, model: string, phase: string, requests: ReadonlyMap<string, Uint8Array>, deadlineMs: number): Promise<{ answers: Map<string, Uint8Array>; failures: { site: string; reason: string }[] }> };
}

export interface Table1Section {
  readonly table1: (Table1 & { variables: Table1Variable[]; sites_answered: string[]; sites_missing: Record<string, string> }) | { reason: string; sites_missing: Record<string, string> };
}

/** A declared variable before its histogram edges are known. */
type Pending = Omit<Table1Variable, 'edges'> & { edges?: readonly number[] };

/** The study's Table 1 variables: `table1.columns`, else the clinical columns and the tabular models' input columns. */
export function table1Variables(study: StudyConfig): Pending[] {
  const out = new Map<string, Pending>();
  const add = (name: string, type: 'numeric' | 'binary' | 'categorical', levels?: readonly string[], edges?: readonly number[]) => {
    if (out.has(name)) return;
    out.set(name, type === 'numeric'
      ? { name, column: name, kind: 'numeric', ...(edges ? { edges } : {}) }
      : { name, column: name, kind: 'categorical', levels: type === 'binary' ? ['0', '1'] : [...(levels ?? [])] });
  };
  if (study.table1) {
    for (const c of study.table1.columns) {
      if (typeof c === 'string') add(c, 'numeric');
      else add(c.name, c.type, c.levels, c.edges);
    }
    return [...out.values()];
  }
  for (const c of CLINICAL) add(c, 'numeric');
  for (const m of study.models) {
    if (!isSumsModel(m)) continue;
    const cols = (m.config as { inputs?: { columns?: unknown[] } }).inputs?.columns ?? [];
    for (const raw of cols) {
      const spec = columnSpecSchema.safeParse(raw);
      if (!spec.success) continue; // the family validated it at start; nothing to describe otherwise
      const t = columnTerms(spec.data);
      add(t.name, t.type, t.levels);
    }
  }
  return [...out.values()];
}

/** The population Table 1 describes: the endpoint chain of the study's first level (null: every case), and the note that says so. */
export function table1Population(study: StudyConfig): { chain: ReturnType<typeof endpointChain>; note: string | null } {
  const chain = endpointChain(study, { name: 'Table 1' });
  if (!chain) return { chain: null, note: null };
  const l = chain[0]!;
  const outcome = `${l.outcome.column} ${l.outcome.positive_when}`;
  const pop = l.population ? ('between' in l.population ? `${l.population.column} between ${l.population.between[0]} and ${l.population.between[1]}` : `${l.population.column} ${l.population.when}`) : null;
  if (study.levels?.length) {
    const next = study.levels[1]!;
    return { chain, note: `Table 1 describes level 1's population (${l.name}${l.title ? `: ${l.title}` : ''}): every case with ${l.outcome.column} recorded${pop ? ` and ${pop}` : ''}, on which level 1 (outcome ${outcome}) is trained and evaluated; level 2 (${next.name}) is among its positives and has no Table 1 of its own.` };
  }
  return { chain, note: pop
    ? `Table 1 describes the study population: ${pop}, with ${l.outcome.column} recorded (outcome ${outcome}); these are the cases the models are trained and evaluated on, not every case of the sites' manifests.`
    : `Table 1 describes the cases with ${l.outcome.column} recorded (outcome ${outcome}), on which the models are trained and evaluated.` };
}

const json = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
const parse = (b: Uint8Array): unknown => JSON.parse(Buffer.from(b).toString('utf8'));

/** Asks the connected sites once for Table 1 aggregates and pools them. */
export async function collectTable1(h: Table1Host, log: Logger): Promise<Table1Section> {
  const study = h.file.study;
  const sites = h.sites.connectedSites().sort();
  const deadlineMs = (study.evaluation?.deadline_s ?? 600) * 1000;
  const missing: Record<string, string> = {};
  let asked = sites;
  const pending = table1Variables(study);
  if (pending.length === 0) return { table1: { reason: 'no baseline variables: declare table1.columns in the study', sites_missing: {} } };
  const population = table1Population(study);
  const scope = population.chain ? { population: population.chain } : {};
  const needEdges = pending.filter((v) => v.kind === 'numeric' && !v.edges).map((v) => v.column);
  const edges = new Map<string, number[] | null>();
  if (needEdges.length > 0) {
    const r = await h.phases.exchange(0, 'table1', 'table1.moments', new Map(asked.map((s) => [s, json({ columns: needEdges, ...scope })])), deadlineMs);
    for (const f of r.failures) missing[f.site] = f.reason;
    const replies: Record<string, [number, number, number, number]>[] = [];
    for (const [site, b] of r.answers) {
      try {
        const p = table1MomentsReplySchema.safeParse(parse(b));
        if (!p.success) throw new Error(`field "${p.error.issues[0]!.path.join('.')}": ${p.error.issues[0]!.message}`);
        replies.push(p.data as Record<string, [number, number, number, number]>);
      } catch (err) {
        missing[site] = `table1.moments: unreadable reply (${(err as Error).message})`;
      }
    }
    asked = asked.filter((s) => !(s in missing));
    for (const c of needEdges) edges.set(c, edgesFromMoments(replies, c));
  }
  const variables: Table1Variable[] = [];
  const noValues: string[] = [];
  for (const v of pending) {
    if (v.kind === 'numeric' && !v.edges) {
      const e = edges.get(v.column);
      if (!e) { noValues.push(v.name); continue; }
      variables.push({ ...v, edges: e });
    } else variables.push(v as Table1Variable);
  }
  if (variables.length === 0 || asked.length === 0) {
    return { table1: { reason: asked.length === 0 ? 'no site answered the Table 1 request' : `no values to describe (${noValues.join(', ')})`, sites_missing: missing } };
  }
  const r = await h.phases.exchange(0, 'table1', 'table1.aggregates', new Map(asked.map((s) => [s, json({ variables, ...scope })])), deadlineMs);
  for (const f of r.failures) missing[f.site] = f.reason;
  const siteTables = [];
  for (const [site, b] of [...r.answers].sort(([a], [b2]) => a.localeCompare(b2))) {
    try {
      siteTables.push(decodeSiteTable1(site, parse(b), variables));
    } catch (err) {
      missing[site] = `table1.aggregates: ${(err as Error).message}`;
    }
  }
  for (const [site, reason] of Object.entries(missing)) log.warn({ site, reason }, 'Table 1: no aggregates from a site');
  if (siteTables.length === 0) return { table1: { reason: 'no site answered the Table 1 request', sites_missing: missing } };
  const order = [...study.cohorts.train, ...study.cohorts.validation, ...study.cohorts.held_out];
  const pooled = poolTable1(siteTables, variables, order);
  const notes = [...(population.note ? [population.note] : []), ...pooled.notes, ...(noValues.length ? [`Left out (no unsuppressed values at any site): ${noValues.join(', ')}.`] : [])];
  return { table1: { ...pooled, notes, variables, sites_answered: siteTables.map((t) => t.site), sites_missing: missing } };
}
