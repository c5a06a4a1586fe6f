// Pseudonymised held-out predictions as they travel from a site and as they are stored.
import { createHash } from 'node:crypto';

export interface PredictionRecord {
  /** HMAC-SHA256 pseudonym of the site's case id. */
  readonly caseKey: string;
  readonly cohort: string;
  readonly label: number;
  /** model name -> predicted probability */
  readonly scores: Record<string, number>;
  /** Declared subgroup name -> the case is in it (absent: its manifest cell is missing). */
  readonly subgroups?: Record<string, boolean>;
}

/** SHA-256 over canonical JSON lines (keys sorted, rows in the given order). */
export function predictionsDigest(rows: readonly PredictionRecord[]): string {
  const h = createHash('sha256');
  for (const r of rows) {
    const scores = Object.keys(r.scores).sort().map((k) => [k, r.scores[k]]);
    // Subgroup flags, when a row has any, are covered too (rows without them hash as before).
    const flags = Object.keys(r.subgroups ?? {}).sort().map((k) => [k, r.subgroups![k]]);
    h.update(JSON.stringify(flags.length ? [r.caseKey, r.cohort, r.label, scores, flags] : [r.caseKey, r.cohort, r.label, scores]) + '\n');
  }
  return h.digest('hex');
}
