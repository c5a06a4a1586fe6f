// The study's endpoint at the site (issue 16 item 1): a model's cases and labels come from its
// endpoint chain (shared/config/endpoint.ts) instead of the `label` column. Cases outside the
// population (or negative at the previous level of a hierarchical endpoint), or with a missing
// cell, are dropped; every other case is relabelled. Applied to the manifest before any dataset
// or table is opened, so training, validation and held-out scoring all see the same cases.
import { readFile } from 'node:fs/promises';
import { parseCsv } from './csv.js';
import { checkLevelCohorts, resolveEndpoints, type EndpointRow, type Level, type ResolvedLevel } from '../../shared/config/endpoint.js';
import type { Manifest, ManifestCase } from './manifest.js';

/** The manifest's rows as header -> cell (headers lower-cased, as the manifest reader does), in case order. */
export async function manifestRows(manifest: Manifest): Promise<EndpointRow[]> {
  const records = parseCsv(await readFile(manifest.path, 'utf8')).filter((r) => r.fields.some((f) => f.trim() !== ''));
  const header = (records[0]?.fields ?? []).map((h) => h.trim().toLowerCase());
  const byLine = new Map(records.slice(1).map((r) => [r.line, r.fields]));
  return manifest.cases.map((c) => {
    const f = byLine.get(c.line) ?? [];
    return Object.fromEntries(header.map((h, j) => [h, f[j]]));
  });
}

export interface EndpointManifest {
  readonly manifest: Manifest;
  /** The model's own level (the last of the chain), resolved on this site's cases. */
  readonly level: ResolvedLevel;
}

/** Cohorts every level needs cases in at a site that has the cohort at all (a held-out-only site is not asked for training cases). */
export const REQUIRED_COHORTS = ['train', 'validation'] as const;

/**
 * The manifest restricted to the cases of the chain's last level, labelled by its outcome. With
 * `site`, the cohort rules are checked at every level of the chain first (checkLevelCohorts, rule
 * "cases"): a level without cases in a required cohort the site has stops with an EndpointError
 * that names the site, the level and the cohort.
 */
export async function applyEndpoint(manifest: Manifest, chain: readonly Level[], site?: string): Promise<EndpointManifest> {
  const rows = await manifestRows(manifest);
  const lower = chain.map((l) => ({
    ...l,
    outcome: { ...l.outcome, column: l.outcome.column.toLowerCase() },
    ...(l.population ? { population: { ...l.population, column: l.population.column.toLowerCase() } } : {}),
  })) as Level[];
  const withCohort = rows.map((r, i) => ({ ...r, cohort: manifest.cases[i]!.cohort }));
  const levels = resolveEndpoints(withCohort, { levels: lower }, 'cohort', (i) => `${manifest.path} line ${manifest.cases[i]!.line}`);
  if (site !== undefined) {
    const present = REQUIRED_COHORTS.filter((c) => manifest.cases.some((x) => x.cohort === c));
    checkLevelCohorts(levels.map((l, k) => ({ ...l, name: chain[k]!.name })), present, `site ${site} (${manifest.path})`, 'cases');
  }
  const level = levels[levels.length - 1]!;
  const cases: ManifestCase[] = level.rows.map((i, k) => ({ ...manifest.cases[i]!, label: level.labels[k]! }));
  return { manifest: { ...manifest, cases }, level: { ...level, name: chain[chain.length - 1]!.name } };
}

/** A stable key of an endpoint chain (cache keys of datasets and tables). */
export function endpointKey(chain: readonly Level[] | null): string {
  return chain ? JSON.stringify(chain.map((l) => [l.name, l.outcome.column, l.outcome.positive_when.text, l.population ?? null])) : 'label';
}
