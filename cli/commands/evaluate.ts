// `fl evaluate`: clinical statistics from a predictions CSV (one row per case, a 0/1 label column
// and one probability column per model).
//   fl evaluate --predictions FILE.csv --label COL --score COL [--score COL ...] [--threshold T]
//     [--proportion-ci wilson|exact] [--cohort-col COL] [--subgroup-col COL]
//     [--bootstrap N] [--seed S] [--json] [--html FILE]
//     [--subgroup-flag COL ...] [--level-col COL]
// --subgroup-flag: a 1/0/empty column (predictions.csv of a study has one per declared subgroup):
// figures in the subgroup and its complement plus the AUC interaction test (DeLong, independent).
// --level-col: a hierarchical endpoint's level column: each level evaluated on its own rows with the
// score columns that have values there (comparisons between the level's models only).
// --threshold is one number for every model or per model: "ddfn=0.42,gsus=0.5".
// Exit codes: 0 ok, 2 usage or input errors (the message names the file line and column).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { parseCsv } from '../../shared/stats/csv.js';
import { evaluatePredictions, type CohortReport, type EvaluateOptions } from '../../shared/stats/evaluate.js';
import { cohortFigures, flagMembership, levelFigures, levelsFromColumn, type LevelFigures, type SubgroupAnalysisReport } from '../../shared/stats/study-figures.js';
import { DEFAULT_REPLICATES, DEFAULT_SEED } from '../../shared/stats/bootstrap.js';
import { ciText, renderHtmlReport, type HtmlComparison, type HtmlEstimate, type HtmlGroup, type HtmlReportInput } from '../../shared/report/html.js';

interface Options {
  predictions: string;
  label: string;
  score: string[];
  threshold?: string;
  proportionCi: string;
  cohortCol?: string;
  subgroupCol?: string;
  bootstrap: string;
  seed: string;
  json?: boolean;
  html?: string;
  title: string;
  subgroupFlag?: string[];
  levelCol?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter((s) => s.length > 0)];
}

/** "0.5" for every model, or "model=0.4,other=0.6" (models not named keep 0.5). */
export function parseThreshold(text: string, models: readonly string[]): number | Record<string, number> {
  const asNumber = (s: string, what: string): number => {
    const v = s.trim() === '' ? NaN : Number(s);
    if (!Number.isFinite(v)) throw new CliError(`--threshold: ${what} "${s}" is not a number`, 2);
    return v;
  };
  if (!text.includes('=')) return asNumber(text, 'value');
  const out: Record<string, number> = Object.fromEntries(models.map((m) => [m, 0.5]));
  for (const part of text.split(',')) {
    const [name, value] = part.split('=', 2).map((s) => s.trim());
    if (!name || value === undefined) throw new CliError(`--threshold: expected MODEL=VALUE, got "${part}"`, 2);
    if (!models.includes(name)) throw new CliError(`--threshold: "${name}" is not one of the --score columns (${models.join(', ')})`, 2);
    out[name] = asNumber(value, `value for ${name}`);
  }
  return out;
}

function intOption(text: string, flag: string, min: number): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new CliError(`${flag} must be an integer >= ${min}, got "${text}"`, 2);
  return v;
}

function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

function est(e: HtmlEstimate | undefined): string {
  if (!e || e.estimate === null) return `— (${e?.reason ?? 'undefined'})`;
  return e.ci ? `${fmt(e.estimate)} (${ciText(e.ci)})` : fmt(e.estimate);
}

function pText(p: number | null | undefined, reason?: string): string {
  if (p === null || p === undefined) return reason ? `— (${reason})` : '—';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('──');
  return [rule, line(head), rule, ...rows.map(line), rule].join('\n');
}

function groupText(name: string, g: HtmlGroup): string {
  const out: string[] = [];
  out.push(`${name}: n = ${g.n}, positives = ${g.positives}${g.n ? ` (${((100 * g.positives) / g.n).toFixed(1)}%)` : ''}`);
  out.push(table(
    ['Model', 'n', 'Threshold', 'AUC (95% CI)', 'Sensitivity', 'Specificity', 'PPV', 'NPV', 'Accuracy'],
    Object.entries(g.models).map(([m, r]) => [m, String(r.n ?? g.n), fmt(r.threshold), est(r.auc), est(r.sensitivity), est(r.specificity), est(r.ppv), est(r.npv), est(r.accuracy)]),
  ));
  const cal = Object.entries(g.models).map(([m, r]) => [m, fmt(r.calibration?.intercept), fmt(r.calibration?.slope), fmt(r.calibration?.brier),
    [r.calibration?.reason, r.calibration?.note, r.decision_curve === null || (r.decision_curve_reason && !(r.decision_curve ?? []).length) ? r.decision_curve_reason : undefined].filter(Boolean).join('; ')]);
  out.push(table(['Model', 'Cal. intercept', 'Cal. slope', 'Brier', 'Note'], cal));
  const cs: readonly HtmlComparison[] = g.comparisons ?? [];
  if (cs.length) {
    out.push(table(
      ['Comparison', 'ΔAUC', 'Z', 'P (DeLong)', 'ΔNPV (95% CI)', 'P', 'ΔSpecificity (95% CI)', 'P'],
      cs.map((c) => {
        const npv = c.npv_difference ?? c.bootstrap?.npv_difference;
        const spec = c.specificity_difference ?? c.bootstrap?.specificity_difference;
        return [`${c.a} vs ${c.b}`, fmt(c.auc_difference), fmt(c.delong.z, 2), pText(c.delong.p, c.delong.reason), npv ? est(npv) : '—', pText(npv?.p, npv?.reason), spec ? est(spec) : '—', pText(spec?.p, spec?.reason)];
      }),
    ));
  }
  return out.join('\n');
}

export function paperTable(report: HtmlReportInput): string {
  const parts: string[] = [];
  for (const [name, c] of Object.entries(report.cohorts)) {
    parts.push(groupText(name, c));
    for (const [g, s] of Object.entries(c.subgroups ?? {})) parts.push(groupText(`${name} / ${g}`, s));
  }
  return parts.join('\n\n') + '\n\nCIs: AUC DeLong; proportions at score >= threshold; P-values two-sided (DeLong; NPV/specificity: paired stratified bootstrap).';
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description('clinical statistics from a predictions CSV: AUC (DeLong), sensitivity/specificity/PPV/NPV/accuracy with 95% CIs, paired tests, calibration, decision curves')
    .requiredOption('--predictions <file>', 'predictions CSV with a header row')
    .requiredOption('--label <col>', 'label column (0 or 1)')
    .requiredOption('--score <col>', 'score column (probability of label 1); repeat or comma-separate for several models', collect)
    .option('--threshold <t>', 'positive when score >= t; one number or MODEL=T,MODEL=T (default 0.5)')
    .option('--proportion-ci <method>', 'wilson or exact (Clopper-Pearson)', 'wilson')
    .option('--cohort-col <col>', 'report each cohort separately (default: one cohort "all")')
    .option('--subgroup-col <col>', 'also report each subgroup within each cohort')
    .option('--bootstrap <n>', 'paired stratified bootstrap replicates for NPV/specificity differences (0: off)', String(DEFAULT_REPLICATES))
    .option('--seed <s>', 'bootstrap seed', String(DEFAULT_SEED))
    .option('--json', 'print the full report as JSON')
    .option('--html <file>', 'write a self-contained HTML report with SVG figures')
    .option('--title <text>', 'title of the HTML report', 'Diagnostic performance')
    .option('--subgroup-flag <col>', 'a 1/0 subgroup column (empty or NA: missing): figures in the subgroup and its complement and the AUC interaction test; repeat or comma-separate', collect)
    .option('--level-col <col>', 'a hierarchical endpoint\'s level column: each level on its own rows and models (as a study report\'s levels)')
    .action((o: Options) => {
      if (o.proportionCi !== 'wilson' && o.proportionCi !== 'exact') throw new CliError(`--proportion-ci must be wilson or exact, got "${o.proportionCi}"`, 2);
      const replicates = intOption(o.bootstrap, '--bootstrap', 0);
      const seed = intOption(o.seed, '--seed', 0);
      let text: string;
      try {
        text = readFileSync(o.predictions, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${o.predictions}: ${(err as Error).message}`, 2, { cause: err });
      }
      let rows: Record<string, string>[];
      try {
        rows = parseCsv(text, o.predictions);
      } catch (err) {
        throw new CliError((err as Error).message, 2, { cause: err });
      }
      if (rows.length === 0) throw new CliError(`${o.predictions}: empty file (no data rows)`, 2);
      let report: ReturnType<typeof evaluatePredictions> & { subgroup_analyses?: Record<string, SubgroupAnalysisReport>; levels?: LevelFigures[] };
      try {
        const opts: EvaluateOptions = {
          label: o.label,
          scores: o.score,
          ...(o.threshold !== undefined ? { threshold: parseThreshold(o.threshold, o.score) } : {}),
          proportionCi: o.proportionCi,
          ...(o.cohortCol ? { cohortCol: o.cohortCol } : {}),
          ...(o.subgroupCol ? { subgroupCol: o.subgroupCol } : {}),
          bootstrap: { replicates, seed },
          rowName: (i: number) => `line ${i + 2}`,
        };
        report = evaluatePredictions(rows, opts);
        if (o.subgroupFlag?.length || o.levelCol) report = { ...report, ...studyFigures(rows, opts, o.subgroupFlag ?? [], o.levelCol) };
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError(`${o.predictions}: ${(err as Error).message}`, 2, { cause: err });
      }
      const view: HtmlReportInput = report;
      if (o.html) {
        const html = renderHtmlReport(view, { title: o.title, subtitle: `${o.predictions}: label ${o.label}; models ${o.score.join(', ')}` });
        writeFileSync(o.html, html);
      }
      if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(paperTable(view) + studyText(report) + (o.html ? `\n\nHTML report: ${o.html}` : '') + '\n');
    });
}

/**
 * Subgroup flags and levels as a study report has them (shared/stats/study-figures.ts, the code the
 * coordinator runs): cohorts with "<name>" and "<name> (complement)" subgroups, subgroup_analyses,
 * and per level its own cohorts and interaction tests.
 */
export function studyFigures(rows: readonly Record<string, string>[], o: EvaluateOptions, flags: readonly string[], levelCol: string | undefined): { cohorts: Record<string, CohortReport>; subgroup_analyses?: Record<string, SubgroupAnalysisReport>; levels?: LevelFigures[] } {
  const cohortCol = o.cohortCol ?? '__cohort__';
  const table = o.cohortCol ? rows : rows.map((r) => ({ ...r, [cohortCol]: 'all' }));
  const declared = flags.map((c) => ({ name: c, definition: `${c} == 1`, membership: flagMembership(table, c, o.rowName) }));
  const main = cohortFigures(table, { ...o, cohortCol }, declared);
  if (!levelCol) return main;
  const { levels, levelOf } = levelsFromColumn(table, levelCol, o.scores);
  return { ...main, levels: levelFigures(table, { ...o, cohortCol }, levels, levelOf, declared) };
}

function studyText(r: { subgroup_analyses?: Record<string, SubgroupAnalysisReport>; levels?: LevelFigures[] }): string {
  const parts: string[] = [];
  const interactions = (title: string, sa: Record<string, SubgroupAnalysisReport> | undefined) => {
    const rows = Object.entries(sa ?? {}).flatMap(([name, a]) => Object.entries(a.interaction).flatMap(([c, byModel]) => Object.entries(byModel).map(([m, t]) =>
      [name, c, m, fmt(t.auc_in), fmt(t.auc_out), fmt(t.difference), t.ci ? `${fmt(t.ci[0])} to ${fmt(t.ci[1])}` : '—', pText(t.p, t.reason)])));
    if (rows.length) parts.push(`${title}\n${table(['Subgroup', 'Cohort', 'Model', 'AUC in', 'AUC out', 'ΔAUC', '95% CI', 'P (DeLong, independent)'], rows)}`);
  };
  interactions('Subgroup interaction tests', r.subgroup_analyses);
  for (const l of r.levels ?? []) {
    parts.push(`Level ${l.name} (models ${l.models.join(', ') || 'none'})\n${Object.keys(l.cohorts).length ? paperTable({ cohorts: l.cohorts }) : 'no rows'}`);
    interactions(`Level ${l.name}: subgroup interaction tests`, l.subgroup_analyses);
  }
  return parts.length ? `\n\n${parts.join('\n\n')}` : '';
}
