// report.json: what was trained, on which rounds, with which sites, and the per-round metrics.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../shared/util/canonical-json.js';
import type { CoordinatorFile } from '../shared/config/study.js';
import type { RoundResult } from './round-engine.js';
import type { ModelStore } from './model-store.js';
import type { SiteInfo } from './site-registry.js';
import { parseStudyReport, type StudyReport } from '../shared/report/schema.js';

export type { StudyReport };

/** SHA-256 of the canonical JSON (shared/util/canonical-json.ts: sorted keys, RFC 8785 numbers) of a value. */
export function canonicalDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

export function buildReport(a: {
  file: CoordinatorFile;
  outcome: { state: 'completed' | 'failed'; reason?: string; rounds: RoundResult[] };
  store: ModelStore;
  sites: SiteInfo[];
  startedAt: number;
  endedAt: number;
  extra: Record<string, unknown>;
}): StudyReport {
  const { study } = a.file;
  // Checked against the report.json contract (shared/report/schema.ts): a report that does not fit
  // it is a bug, found here rather than by the dashboard or an auditor's script.
  return parseStudyReport({
    study: { id: study.id, title: study.title ?? null, config_digest: canonicalDigest(study) },
    state: a.outcome.state,
    reason: a.outcome.reason ?? null,
    started_at: new Date(a.startedAt).toISOString(),
    ended_at: new Date(a.endedAt).toISOString(),
    duration_s: (a.endedAt - a.startedAt) / 1000,
    strategy: study.strategy.name,
    sites: a.sites.map((s) => ({ site: s.site, backend: s.backend, cohorts: s.cohortCounts })),
    rounds: a.outcome.rounds.map(({ started, ended, ...r }) => ({ ...r, duration_s: (ended - started) / 1000 })),
    final_models: Object.fromEntries(study.models.map((m) => {
      const g = a.store.get(m.name);
      return [m.name, { version: g.version, digest: g.digest, checkpoint: a.store.checkpointPath(m.name, g.version) }];
    })),
    ...a.extra,
  }, 'report.json (as built)');
}
