// report.json: what was trained, on which rounds, with which sites, and the per-round metrics.
import { createHash } from 'node:crypto';
/** SHA-256 of the canonical (key-sorted) JSON of a value. */
export function canonicalDigest(value) {
    const canon = (v) => Array.isArray(v) ? v.map(canon)
        : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]))
            : v;
    return createHash('sha256').update(JSON.stringify(canon(value))).digest('hex');
}
export function buildReport(a) {
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
//# sourceMappingURL=report.js.map