// Memory bounds of evaluation submissions (issue 21): a site may not send more prediction rows
// than the cases it declared in the requested cohorts, and never more than MAX_ROWS, however many
// cases it claims; a stream is refused with RESOURCE_EXHAUSTED as soon as it goes over.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import * as grpc from '@grpc/grpc-js';
import type { GrpcStatus, ReceivedEvaluationReport, Prediction } from '../shared/protocol/index.js';
import { predictionsDigest } from '../shared/evaluation/predictions.js';
import { EvaluationCollector, MAX_ROWS } from './evaluation.js';
import { insecureGatekeeper } from './gatekeeper.js';
import { SiteRegistry } from './site-registry.js';

const ref = { studyId: 's', model: 'm', round: 1, version: 1, digest: 'a'.repeat(64) };
const key = (i: number) => i.toString(16).padStart(64, '0');

function setup(declared: Record<string, number>) {
  const sites = new SiteRegistry();
  const sent: string[] = [];
  sites.connect({ site: 'hosp-a', backend: 'cpu', fingerprint: null, cohortCounts: declared, send: (m) => sent.push(m.type === 'evaluate' ? m.taskId : m.type), close: () => undefined });
  const ev = new EvaluationCollector('s', sites, insecureGatekeeper(), pino({ level: 'silent' }));
  const result = ev.request({ sites: ['hosp-a'], models: [{ ref, threshold: 0.5 }], cohorts: ['validation'], heldOut: false, modelConfigs: {}, round: 1, deadlineMs: 60_000 });
  return { ev, taskId: () => sent.find((t) => t.startsWith('eval-'))!, result };
}

/** Streams `n` rows in batches of 1000 (generated lazily: the test holds no more than one batch). */
async function submit(ev: EvaluationCollector, taskId: string, n: number): Promise<{ err: GrpcStatus | null; consumed: number }> {
  let consumed = 0;
  const rows = Array.from({ length: n }, (_, i): Prediction => ({ caseKey: key(i), cohort: 'validation', label: i % 2, scores: { m: 0.5 } }));
  const digest = predictionsDigest(rows);
  const call = {
    getAuthContext: () => ({}),
    async *[Symbol.asyncIterator](): AsyncGenerator<ReceivedEvaluationReport> {
      for (let i = 0; i < n; i += 1000) {
        consumed = Math.min(n, i + 1000);
        yield { studyId: 's', siteId: 'hosp-a', taskId, predictions: rows.slice(i, i + 1000), aggregateJson: '', digest, aggregate: null };
      }
    },
  };
  const err = await new Promise<GrpcStatus | null>((resolve) => ev.submit(call as never, (e) => resolve(e)));
  return { err, consumed };
}

describe('evaluation submissions', () => {
  it('accept the declared number of rows', async () => {
    const { ev, taskId, result } = setup({ train: 50, validation: 2000 });
    expect((await submit(ev, taskId(), 2000)).err).toBeNull();
    expect((await result).results.get('hosp-a')!.predictions).toHaveLength(2000);
  });

  it('refuse more rows than declared, at the first row over', async () => {
    const { ev, taskId } = setup({ train: 50, validation: 1500 });
    const { err, consumed } = await submit(ev, taskId(), 5000);
    expect(err).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'site "hosp-a": more predictions than the 1500 case(s) it declared in cohorts validation' });
    expect(consumed).toBe(2000); // the stream was not read further
  });

  it('never keep more than MAX_ROWS, whatever the site declared', async () => {
    const { ev, taskId } = setup({ validation: 1e12 });
    const { err, consumed } = await submit(ev, taskId(), MAX_ROWS + 3000);
    expect(err).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, details: `site "hosp-a": more predictions than the limit of ${MAX_ROWS} rows per submission` });
    expect(consumed).toBe(MAX_ROWS + 1000);
  });
});
