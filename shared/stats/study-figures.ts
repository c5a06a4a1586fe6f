// The held-out figures of a study as the report carries them, from a predictions table: per cohort
// every model's figures and the paired comparisons, the declared subgroups and their complements
// (cohorts.<c>.subgroups "<name>" and "<name> (complement)") with the AUC interaction test per model
// (subgroup_analyses), and for a hierarchical endpoint the same per level, on that level's rows and
// models only. The coordinator (coordinator/study-statistics.ts) and `fl evaluate` (from
// predictions.csv's subgroup and level columns) both call these functions, so `fl evaluate`
// reproduces the report's figures exactly.
import { evaluatePredictions, isMissingCell, type CohortReport, type EvaluateOptions, type PredictionRow } from './evaluate.js';
import { subgroupAnalyses, type IndependentAucTest } from './subgroups.js';
import { EvaluationInputError } from './evaluate.js';

export interface DeclaredSubgroup {
  readonly name: string;
  /** As written in the study ("ki67 >= 14"), or the column it was read from. */
  readonly definition: string;
  /** Per row: in the subgroup, in its complement, or missing (neither). */
  readonly membership: readonly (boolean | null)[];
}

export interface SubgroupAnalysisReport {
  readonly definition: string;
  readonly missing: number;
  readonly interaction: Record<string, Record<string, IndependentAucTest>>;
  readonly reason?: string;
}

export interface CohortFigures {
  readonly cohorts: Record<string, CohortReport>;
  /** Absent when no subgroup is declared. */
  readonly subgroup_analyses?: Record<string, SubgroupAnalysisReport>;
}

/** Cohort order of a study report: internal_test first, then the others by name. */
export function studyCohortOrder(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => (a === 'internal_test' ? -1 : b === 'internal_test' ? 1 : a.localeCompare(b)));
}

/**
 * Per cohort (o.cohortCol) every model's figures and comparisons, with each declared subgroup and
 * its complement merged into cohorts.<c>.subgroups and the interaction tests in subgroup_analyses.
 */
export function cohortFigures(rows: readonly PredictionRow[], o: EvaluateOptions & { readonly cohortCol: string }, declared: readonly DeclaredSubgroup[] = []): CohortFigures {
  const main = evaluatePredictions(rows, o);
  const order = studyCohortOrder(Object.keys(main.cohorts));
  const sub = subgroupAnalyses(rows, o, declared);
  const cohorts = Object.fromEntries(order.map((k) => {
    const c = main.cohorts[k]!;
    const groups = { ...c.subgroups };
    for (const s of declared) {
      const a = sub[s.name]!.cohorts[k];
      if (a) Object.assign(groups, { [s.name]: a.in, [`${s.name} (complement)`]: a.out });
    }
    return [k, { ...c, subgroups: groups }];
  }));
  if (!declared.length) return { cohorts };
  return {
    cohorts,
    subgroup_analyses: Object.fromEntries(declared.map((s) => {
      const a = sub[s.name]!;
      const per = Object.fromEntries(order.filter((k) => a.cohorts[k]).map((k) => [k, a.cohorts[k]!.interaction]));
      const absent = order.filter((k) => !a.cohorts[k]);
      return [s.name, {
        definition: a.definition, missing: a.missing, interaction: per,
        ...(absent.length ? { reason: `no interaction test in ${absent.join(', ')}: the subgroup or its complement has no cases there` } : {}),
      }];
    })),
  };
}

/** A subgroup column of predictions.csv: 1 (in), 0 (in the complement), empty or NA (missing). */
export function flagMembership(rows: readonly PredictionRow[], column: string, rowName: (i: number) => string = (i) => `data row ${i + 1}`): (boolean | null)[] {
  if (rows.length && !(column in rows[0]!)) throw new EvaluationInputError(`subgroup column "${column}" is missing (columns: ${Object.keys(rows[0]!).join(', ')})`, undefined, column);
  return rows.map((r, i) => {
    const v = r[column];
    if (isMissingCell(v)) return null;
    const t = v!.trim();
    if (t === '1') return true;
    if (t === '0') return false;
    throw new EvaluationInputError(`${rowName(i)}, column "${column}": subgroup flag ${JSON.stringify(v)} is not 1 or 0 (empty or NA: missing)`, i, column);
  });
}

export interface LevelSpec {
  readonly name: string;
  /** The level's models (score columns), in the study's order. */
  readonly models: readonly string[];
}

export interface LevelFigures extends CohortFigures {
  readonly name: string;
  readonly models: string[];
}

/**
 * A hierarchical endpoint's figures per level: the rows whose level (levelOf) is the level's name,
 * evaluated with the level's models only (comparisons between every pair of them), with the declared
 * subgroups on those rows. A level without rows gets empty cohorts.
 */
export function levelFigures(rows: readonly PredictionRow[], o: EvaluateOptions & { readonly cohortCol: string }, levels: readonly LevelSpec[], levelOf: readonly (string | null)[], declared: readonly DeclaredSubgroup[] = []): LevelFigures[] {
  if (levelOf.length !== rows.length) throw new RangeError(`${levelOf.length} levels for ${rows.length} rows`);
  return levels.map((l) => {
    const idx = rows.flatMap((_, i) => (levelOf[i] === l.name ? [i] : []));
    if (idx.length === 0 || l.models.length === 0) return { name: l.name, models: [...l.models], cohorts: {}, ...(declared.length ? { subgroup_analyses: {} } : {}) };
    const thr = o.threshold;
    const threshold = thr === undefined || typeof thr === 'number' ? thr : Object.fromEntries(l.models.map((m) => [m, thr[m]!]));
    const f = cohortFigures(idx.map((i) => rows[i]!), {
      ...o, scores: [...l.models], ...(threshold !== undefined ? { threshold } : {}),
      rowName: (k) => (o.rowName ?? ((i: number) => `data row ${i + 1}`))(idx[k]!),
    }, declared.map((s) => ({ ...s, membership: idx.map((i) => s.membership[i]!) })));
    return { name: l.name, models: [...l.models], ...f };
  });
}

/**
 * The level of each row from a level column (predictions.csv `level`), and each level's models: the
 * score columns with a value on at least one of its rows (a model scores the rows of its own level
 * only). Levels by their number of rows, most first (a hierarchy's level 1 first); ties in order of first appearance.
 */
export function levelsFromColumn(rows: readonly PredictionRow[], column: string, scores: readonly string[]): { levels: LevelSpec[]; levelOf: (string | null)[] } {
  if (rows.length && !(column in rows[0]!)) throw new EvaluationInputError(`level column "${column}" is missing (columns: ${Object.keys(rows[0]!).join(', ')})`, undefined, column);
  const levelOf = rows.map((r) => (isMissingCell(r[column]) ? null : r[column]!.trim()));
  // A deeper level is among the previous level's positives, so it has fewer rows: most rows first
  // (level 1 first), ties in order of first appearance.
  const count = new Map<string, number>();
  for (const l of levelOf) if (l !== null) count.set(l, (count.get(l) ?? 0) + 1);
  const names = [...count.keys()].sort((a, b) => count.get(b)! - count.get(a)!);
  const levels = names.map((name) => ({ name, models: scores.filter((s) => rows.some((r, i) => levelOf[i] === name && !isMissingCell(r[s]))) }));
  return { levels, levelOf };
}
