// Subgroup analyses declared by a study (issue 16 item 2): every held-out figure per subgroup and
// its complement (AUC with DeLong CI, sensitivity, specificity, NPV, PPV, accuracy at the model's
// threshold), and per model an interaction test of the AUC between the complementary subgroups:
// DeLong on independent samples, z = (AUC_in - AUC_out) / sqrt(Var_in + Var_out), as pROC's
// roc.test(method = "delong", paired = FALSE). Cases whose subgroup cell is missing are in neither.
import { aucDelong } from './delong.js';
import { twoSidedP } from './distributions.js';
import { evaluatePredictions, isMissingCell, type EvaluateOptions, type GroupReport, type PredictionRow } from './evaluate.js';

export interface IndependentAucTest {
  readonly auc_in: number | null;
  readonly auc_out: number | null;
  /** AUC(in) - AUC(out). */
  readonly difference: number | null;
  readonly ci: readonly [number, number] | null;
  readonly z: number | null;
  readonly p: number | null;
  readonly method: 'DeLong, independent samples';
  readonly reason?: string;
}

/** Two-sided DeLong test of AUC equality between two independent samples. */
export function delongUnpaired(labelsA: ArrayLike<number>, scoresA: ArrayLike<number>, labelsB: ArrayLike<number>, scoresB: ArrayLike<number>): IndependentAucTest {
  const a = aucDelong(labelsA, scoresA), b = aucDelong(labelsB, scoresB);
  const base = { auc_in: a.estimate, auc_out: b.estimate, method: 'DeLong, independent samples' as const };
  if (a.variance === null || b.variance === null || a.estimate === null || b.estimate === null) {
    return { ...base, difference: a.estimate !== null && b.estimate !== null ? a.estimate - b.estimate : null, ci: null, z: null, p: null, reason: `interaction test undefined: ${a.variance === null ? `subgroup: ${a.reason}` : `complement: ${b.reason}`}` };
  }
  const d = a.estimate - b.estimate;
  const se = Math.sqrt(a.variance + b.variance);
  if (!(se > 0)) return { ...base, difference: d, ci: null, z: null, p: null, reason: 'interaction test undefined: both AUC variances are 0' };
  const z = d / se;
  return { ...base, difference: d, ci: [d - 1.959963984540054 * se, d + 1.959963984540054 * se], z, p: twoSidedP(z) };
}

export interface SubgroupDefinition {
  readonly name: string;
  /** As written in the study (e.g. "ki67 >= 14"). */
  readonly definition: string;
  /** Per row: in the subgroup, in its complement, or missing (neither). */
  readonly membership: readonly (boolean | null)[];
}

export interface SubgroupAnalysis {
  readonly definition: string;
  readonly missing: number;
  /** Per cohort. */
  readonly cohorts: Record<string, { readonly in: GroupReport; readonly out: GroupReport; readonly interaction: Record<string, IndependentAucTest> }>;
}

const IN = 'in', OUT = 'out';

/** Evaluates each declared subgroup and its complement per cohort, with the AUC interaction test per model. */
export function subgroupAnalyses(rows: readonly PredictionRow[], o: EvaluateOptions, subgroups: readonly SubgroupDefinition[]): Record<string, SubgroupAnalysis> {
  const out: Record<string, SubgroupAnalysis> = {};
  for (const s of subgroups) {
    if (s.membership.length !== rows.length) throw new RangeError(`subgroup ${s.name}: ${s.membership.length} memberships for ${rows.length} rows`);
    const col = '__subgroup__';
    const kept = rows.map((r, i) => ({ r, m: s.membership[i] })).filter((x) => x.m !== null);
    const tagged: PredictionRow[] = kept.map(({ r, m }) => ({ ...r, [col]: m ? IN : OUT }));
    const cohorts: SubgroupAnalysis['cohorts'] = {};
    if (tagged.length) {
      const rep = evaluatePredictions(tagged, { ...o, subgroupCol: col });
      const cohortOf = (r: PredictionRow) => (o.cohortCol ? r[o.cohortCol] ?? '' : 'all');
      for (const [cohort, c] of Object.entries(rep.cohorts)) {
        const inG = c.subgroups[IN], outG = c.subgroups[OUT];
        if (!inG || !outG) continue; // one side empty in this cohort: no comparison
        const interaction: Record<string, IndependentAucTest> = {};
        for (const m of o.scores) {
          const side = (tag: string) => {
            const rs = tagged.filter((r) => cohortOf(r) === cohort && r[col] === tag && !isMissingCell(r[m]) && !isMissingCell(r[o.label]));
            return { y: rs.map((r) => Number(r[o.label])), x: rs.map((r) => Number(r[m])) };
          };
          const a = side(IN), b = side(OUT);
          interaction[m] = delongUnpaired(a.y, a.x, b.y, b.x);
        }
        cohorts[cohort] = { in: inG, out: outG, interaction };
      }
    }
    out[s.name] = { definition: s.definition, missing: rows.length - kept.length, cohorts };
  }
  return out;
}
