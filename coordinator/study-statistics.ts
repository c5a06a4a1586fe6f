// The study report's statistics, computed from the pooled held-out predictions with the same
// code as `fl evaluate`, so that `fl evaluate --predictions predictions.csv --cohort-col cohort`
// with the report's thresholds reproduces every figure.
import { reportCohortOrder } from './report-cohorts.js';
import { evaluatePredictions } from '../shared/stats/evaluate.js';
import { subgroupAnalyses } from '../shared/stats/subgroups.js';

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
}

/** predictions.csv: site, cohort, case_key, label, one column per model (17 significant digits). */
export function predictionsCsv(rows: readonly StudyPredictionRow[], models: readonly string[]): string {
  const lines = [['site', 'cohort', 'case_key', 'label', ...models].join(',')];
  for (const r of rows) {
    lines.push([r.site, r.cohort, r.caseKey, String(r.label), ...models.map((m) => formatScore(r.scores[m]))].join(','));
  }
  return lines.join('\n') + '\n';
}

function formatScore(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '' : String(v);
}

/** Parses a score column back exactly as written (shortest round-trip decimal). */
export function csvRecord(r: StudyPredictionRow, models: readonly string[]): Record<string, string> {
  return Object.fromEntries([['site', r.site], ['cohort', r.cohort], ['case_key', r.caseKey], ['label', String(r.label)], ...models.map((m) => [m, formatScore(r.scores[m])])]);
}

export function buildStudyStatistics(
  rows: readonly StudyPredictionRow[],
  models: readonly string[],
  thresholds: Record<string, number>,
  o: { bootstrap: number; seed: number; reference: string; subgroups?: readonly { name: string; definition: string }[] },
): Record<string, unknown> {
  const records = rows.map((r) => csvRecord(r, models));
  const common = { label: 'label', scores: [...models], threshold: thresholds, proportionCi: 'wilson' as const, bootstrap: { replicates: o.bootstrap, seed: o.seed } };
  const main = evaluatePredictions(records, { ...common, cohortCol: 'cohort' });
  // Per-site breakdown: each site's own test and prospective cohorts.
  const perSite = evaluatePredictions(rows.map((r, i) => ({ ...records[i]!, site_cohort: `${r.site}/${r.siteCohort}` })), { ...common, cohortCol: 'site_cohort', bootstrap: { replicates: 0, seed: o.seed } });
  // Cross-site table: each global model's AUC on each site's held-out data.
  const bySite = evaluatePredictions(records, { ...common, cohortCol: 'site', bootstrap: { replicates: 0, seed: o.seed } });
  const crossSite: Record<string, Record<string, unknown>> = {};
  for (const [site, c] of Object.entries(bySite.cohorts)) {
    crossSite[site] = Object.fromEntries(models.map((m) => [m, c.models[m]?.auc ?? null]));
  }
  // The paper's order: the pooled internal test cohort first, then the prospective cohorts.
  const order = reportCohortOrder(Object.keys(main.cohorts));
  // Subgroups declared by the study (issue 16 item 2): every held-out figure in the subgroup and in
  // its complement (cohorts.<cohort>.subgroups: "<name>" and "<name> (complement)"), and per model the
  // AUC interaction test between the two (DeLong, independent samples) in subgroup_analyses.
  const declared = o.subgroups ?? [];
  const sub = subgroupAnalyses(records, { ...common, cohortCol: 'cohort' }, declared.map((s) => ({
    name: s.name, definition: s.definition, membership: rows.map((r) => r.subgroups?.[s.name] ?? null),
  })));
  const cohorts = Object.fromEntries(order.map((k) => {
    const c = main.cohorts[k]!;
    const groups = { ...c.subgroups };
    for (const s of declared) {
      const a = sub[s.name]!.cohorts[k];
      if (a) Object.assign(groups, { [s.name]: a.in, [`${s.name} (complement)`]: a.out });
    }
    return [k, { ...c, subgroups: groups }];
  }));
  return {
    cohorts,
    ...(declared.length ? {
      subgroup_analyses: Object.fromEntries(declared.map((s) => {
        const a = sub[s.name]!;
        const per = Object.fromEntries(order.filter((k) => a.cohorts[k]).map((k) => [k, a.cohorts[k]!.interaction]));
        const absent = order.filter((k) => !a.cohorts[k]);
        return [s.name, {
          definition: a.definition, missing: a.missing, interaction: per,
          ...(absent.length ? { reason: `no interaction test in ${absent.join(', ')}: the subgroup or its complement has no cases there` } : {}),
        }];
      })),
    } : {}),
    per_site: perSite.cohorts,
    cross_site_auc: crossSite,
    reference_model: o.reference,
    thresholds,
  };
}
