// The site's answer to `table1.*` phase requests (issue 16 item 3, Table 1 of baseline
// characteristics): the coordinator names the variables (manifest columns, their kind, levels and
// histogram edges); the site reads its manifest and replies with aggregates per cohort only
// (shared/stats/table1.ts siteTable1, encoded by shared/stats/table1-wire.ts as JSON of numbers),
// every count between 1 and min_cell - 1 suppressed. Only the clinical columns and the columns the
// site lets tabular models read (site.yaml tabular_columns) may be described; any other column is
// refused with a message that names it. A request may name the study population (the endpoint chain
// of the study's first level: outcome, restricted population); then only the cases of that
// population, those the models are trained and evaluated on, are described.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { FlError } from '../shared/errors/index.js';
import type { PhaseRequest } from '../shared/protocol/index.js';
import { parseCsv } from '../shared/stats/csv.js';
import { siteTable1 } from '../shared/stats/table1.js';
import { parseEndpointChain, resolveEndpoints, type Level } from '../shared/config/endpoint.js';
import { encodeSiteTable1, siteMoments, table1AggregatesRequestSchema, table1MomentsRequestSchema } from '../shared/stats/table1-wire.js';
import { CLINICAL_COLUMNS } from './data/manifest.js';

export interface Table1HandlerOptions {
  readonly siteId: string;
  /** The site's manifest (CSV with a `cohort` column). */
  readonly manifest: string;
  /** Columns beyond the clinical ones the site shares aggregates of (site.yaml tabular_columns). */
  readonly tabularColumns: readonly string[];
  readonly minCell: number;
  readonly log: Logger;
}

function parsePayload<T>(req: PhaseRequest, schema: { safeParse(x: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }): T {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(req.payload).toString('utf8'));
  } catch {
    throw new FlError('table1.payload', `${req.phase}: the payload is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new FlError('table1.payload', `${req.phase}: field "${i.path.map(String).join('.')}": ${i.message}`);
  }
  return parsed.data;
}

/** The `table1` phase handler of a site agent. */
export function createTable1Handler(o: Table1HandlerOptions): (req: PhaseRequest) => Promise<Uint8Array> {
  const allowed = new Set<string>([...CLINICAL_COLUMNS, ...o.tabularColumns]);
  let rows: Promise<Record<string, string>[]> | null = null;
  const manifestRows = () => (rows ??= readFile(o.manifest, 'utf8').then((t) => parseCsv(t, o.manifest)).catch((err: unknown) => {
    rows = null;
    throw new FlError('table1.manifest', `site ${o.siteId}: cannot read the manifest ${o.manifest}: ${(err as Error).message}`, { cause: err });
  }));
  const check = (phase: string, columns: readonly string[]) => {
    const refused = columns.filter((c) => !allowed.has(c));
    if (refused.length) {
      throw new FlError('SITE_POLICY', `${phase}: site ${o.siteId} shares aggregates of its clinical columns and tabular_columns only; not of ${refused.map((c) => `"${c}"`).join(', ')} (add them to site.yaml tabular_columns to allow it)`, { user: true });
    }
  };
  const encode = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  // The rows of the study population: the cases of the chain's last level (a row with a missing
  // outcome or population cell is not a case of the study, as in training and evaluation).
  const populationRows = async (raw: readonly Record<string, unknown>[] | undefined): Promise<Record<string, string>[]> => {
    const all = await manifestRows();
    if (!raw) return all;
    const chain = parseEndpointChain(raw, 'table1').map((l) => ({
      ...l,
      outcome: { ...l.outcome, column: l.outcome.column.toLowerCase() },
      ...(l.population ? { population: { ...l.population, column: l.population.column.toLowerCase() } } : {}),
    })) as Level[];
    const lower = all.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.trim().toLowerCase(), v])));
    const levels = resolveEndpoints(lower, { levels: chain }, 'cohort', (i) => `${o.manifest} row ${i + 2}`);
    return levels[levels.length - 1]!.rows.map((i) => all[i]!);
  };
  return async (req) => {
    const started = Date.now();
    if (req.phase === 'table1.moments') {
      const p = parsePayload(req, table1MomentsRequestSchema);
      check(req.phase, p.columns);
      const out = siteMoments(await populationRows(p.population), p.columns, o.minCell);
      o.log.debug({ phase: req.phase, columns: p.columns.length, ms: Date.now() - started }, 'table 1 moments computed');
      return encode(out);
    }
    if (req.phase === 'table1.aggregates') {
      const p = parsePayload(req, table1AggregatesRequestSchema);
      check(req.phase, p.variables.map((v) => v.column));
      const t = siteTable1(o.siteId, await populationRows(p.population), p.variables, o.minCell);
      o.log.debug({ phase: req.phase, variables: p.variables.length, ms: Date.now() - started }, 'table 1 aggregates computed');
      return encode(encodeSiteTable1(t, p.variables));
    }
    throw new FlError('table1.phase', `unknown table1 phase "${req.phase}" (this site answers table1.moments and table1.aggregates)`);
  };
}
