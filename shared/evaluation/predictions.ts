// Pseudonymised held-out predictions as they travel from a site and as they are stored.
import { createHash } from 'node:crypto';

export interface PredictionRecord {
  /** HMAC-SHA256 pseudonym of the site's case id. */
  readonly caseKey: string;
  readonly cohort: string;
  readonly label: number;
  /** model name -> predicted probability */
  readonly scores: Record<string, number>;
}

/** SHA-256 over canonical JSON lines (keys sorted, rows in the given order). */
export function predictionsDigest(rows: readonly PredictionRecord[]): string {
  const h = createHash('sha256');
  for (const r of rows) {
    const scores = Object.keys(r.scores).sort().map((k) => [k, r.scores[k]]);
    h.update(JSON.stringify([r.caseKey, r.cohort, r.label, scores]) + '\n');
  }
  return h.digest('hex');
}
