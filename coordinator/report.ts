// report.json: what was trained, on which rounds, with which sites, and the per-round metrics.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../shared/util/canonical-json.js';
import type { CoordinatorFile } from '../shared/config/study.js';
import type { RoundResult } from './round-engine.js';
import type { ModelStore } from './model-store.js';
import type { SiteInfo } from './site-registry.js';

export interface StudyReport {
  readonly study: { id: string; title: string | null; config_digest: string };
  readonly state: 'completed' | 'failed';
  readonly reason: string | null;
  readonly started_at: string;
  readonly ended_at: string;
  readonly duration_s: number;
  readonly strategy: string;
  readonly sites: { site: string; backend: string; cohorts: Record<string, number> }[];
  readonly rounds: (Omit<RoundResult, 'started' | 'ended'> & { duration_s: number })[];
  readonly final_models: Record<string, { version: number; digest: string; checkpoint: string }>;
  readonly [key: string]: unknown;
}

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
  return {
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
  };
}
