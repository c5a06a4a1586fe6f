// The study report's statistics, computed from the pooled held-out predictions with the same
// code as `fl evaluate`, so that `fl evaluate --predictions predictions.csv --cohort-col cohort`
// with the report's thresholds reproduces every figure.
import { evaluatePredictions } from '../shared/stats/evaluate.js';
import { cohortFigures, levelFigures } from '../shared/stats/study-figures.js';

export interface StudyPredictionRow {
  readonly site: string;
  /** Report cohort: internal_test (pooled over sites) or prospective_<site>. */
  readonly cohort: string;
  /** The site's own cohort name (test, prospective). */
  readonly siteCohort: string;
  readonly caseKey: string;
  readonly label: 0 | 1;
  readonly scores: Record<string, number>;
  /** Declared subgroup name -> in it (absent: the site's manifest cell is missing). */
  readonly subgroups?: Readonly<Record<string, boolean>>;
  /** A hierarchical endpoint: the level whose models scored this row. */
  readonly level?: string;
}

/** Columns of predictions.csv beyond site, cohort, case_key, label and the models' scores. */
export interface PredictionColumns {
  /** One column per declared subgroup: 1 (in it), 0 (in its complement), empty (cell missing at the site). */
  readonly subgroups?: readonly string[];
  /** A `level` column (hierarchical endpoints): the level of the model(s) that scored the row. */
  readonly level?: boolean;
}

/**
 * predictions.csv: site, cohort, case_key, label, one column per model (17 significant digits), then
 * `level` (hierarchical endpoints) and one 1/0/empty column per declared subgroup.
 */
export function predictionsCsv(rows: readonly StudyPredictionRow[], models: readonly string[], extra: PredictionColumns = {}): string {
  const subgroups = extra.subgroups ?? [];
  const lines = [['site', 'cohort', 'case_key', 'label', ...models, ...(extra.level ? ['level'] : []), ...subgroups].join(',')];
  for (const r of rows) {
    lines.push([r.site, r.cohort, r.caseKey, String(r.label), ...models.map((m) => formatScore(r.scores[m])), ...(extra.level ? [r.level ?? ''] : []), ...subgroups.map((s) => flagText(r.subgroups?.[s]))].join(','));
  }
  return lines.join('\n') + '\n';
}

function formatScore(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '' : String(v);
}

function flagText(v: boolean | undefined): string {
  return v === undefined ? '' : v ? '1' : '0';
}

/** Parses a score column back exactly as written (shortest round-trip decimal). */
export function csvRecord(r: StudyPredictionRow, models: readonly string[]): Record<string, string> {
  return Object.fromEntries([['site', r.site], ['cohort', r.cohort], ['case_key', r.caseKey], ['label', String(r.label)], ...models.map((m) => [m, formatScore(r.scores[m])])]);
}

/** A level of a hierarchical endpoint as the report describes it. */
export interface StudyLevel {
  readonly name: string;
  readonly title: string;
  /** The level's endpoint as configured: outcome and population text. */
  readonly endpoint: { readonly outcome: string; readonly population: string };
  /** The level's models, in the study's order. */
  readonly models: readonly string[];
}

export function buildStudyStatistics(
  rows: readonly StudyPredictionRow[],
  models: readonly string[],
  thresholds: Record<string, number>,
  o: { bootstrap: number; seed: number; reference: string; subgroups?: readonly { name: string; definition: string }[]; levels?: readonly StudyLevel[] },
): Record<string, unknown> {
  const records = rows.map((r) => csvRecord(r, models));
  const common = { label: 'label', scores: [...models], threshold: thresholds, proportionCi: 'wilson' as const, bootstrap: { replicates: o.bootstrap, seed: o.seed } };
  // Per-site breakdown: each site's own test and prospective cohorts.
  const perSite = evaluatePredictions(rows.map((r, i) => ({ ...records[i]!, site_cohort: `${r.site}/${r.siteCohort}` })), { ...common, cohortCol: 'site_cohort', bootstrap: { replicates: 0, seed: o.seed } });
  // Cross-site table: each global model's AUC on each site's held-out data.
  const bySite = evaluatePredictions(records, { ...common, cohortCol: 'site', bootstrap: { replicates: 0, seed: o.seed } });
  const crossSite: Record<string, Record<string, unknown>> = {};
  for (const [site, c] of Object.entries(bySite.cohorts)) {
    crossSite[site] = Object.fromEntries(models.map((m) => [m, c.models[m]?.auc ?? null]));
  }
  // The paper's order (the pooled internal test cohort first, then the prospective cohorts), and the
  // subgroups declared by the study (issue 16 item 2): every held-out figure in the subgroup and in
  // its complement (cohorts.<cohort>.subgroups: "<name>" and "<name> (complement)"), and per model the
  // AUC interaction test between the two (DeLong, independent samples) in subgroup_analyses.
  const declared = (o.subgroups ?? []).map((s) => ({ name: s.name, definition: s.definition, membership: rows.map((r) => r.subgroups?.[s.name] ?? null) }));
  const main = cohortFigures(records, { ...common, cohortCol: 'cohort' }, declared);
  // A hierarchical endpoint: one section per level, on the level's rows with its models only
  // (their n and positives are the level's population; comparisons between every pair of its models).
  const levels = o.levels?.length ? levelFigures(records, { ...common, cohortCol: 'cohort' }, o.levels, rows.map((r) => r.level ?? null), declared).map((f, k) => {
    const l = o.levels![k]!;
    return {
      level: k + 1, name: l.name, title: l.title, endpoint: l.endpoint, models: [...l.models],
      thresholds: Object.fromEntries(l.models.map((m) => [m, thresholds[m]!])), reference_model: l.models[0] ?? null,
      cohorts: f.cohorts, ...(f.subgroup_analyses ? { subgroup_analyses: f.subgroup_analyses } : {}),
    };
  }) : undefined;
  return {
    cohorts: main.cohorts,
    ...(main.subgroup_analyses ? { subgroup_analyses: main.subgroup_analyses } : {}),
    ...(levels ? { levels } : {}),
    per_site: perSite.cohorts,
    cross_site_auc: crossSite,
    reference_model: o.reference,
    thresholds,
  };
}
