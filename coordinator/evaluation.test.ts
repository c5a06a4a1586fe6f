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
async function submit(ev: EvaluationCollector, taskId: string, n: number, score = 0.5): Promise<{ err: GrpcStatus | null; consumed: number; message?: string }> {
  let consumed = 0;
  const rows = Array.from({ length: n }, (_, i): Prediction => ({ caseKey: key(i), cohort: 'validation', label: i % 2, scores: { m: score } }));
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
  let message: string | undefined;
  const err = await new Promise<GrpcStatus | null>((resolve) => ev.submit(call as never, (e, ack) => {
    message = ack?.message;
    resolve(e);
  }));
  return { err, consumed, ...(message !== undefined ? { message } : {}) };
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

  it('answer the same result sent again (its answer lost in a cut) as received, while the task is open and after it closed; a different one is refused', async () => {
    const sites = new SiteRegistry();
    const sent: string[] = [];
    const session = (site: string) => ({ site, backend: 'cpu', fingerprint: null, cohortCounts: { validation: 10 }, send: (m: { type: string; taskId?: string }) => sent.push(m.type === 'evaluate' ? m.taskId! : m.type), close: () => undefined });
    sites.connect(session('hosp-a'));
    sites.connect(session('hosp-b'));
    const ev = new EvaluationCollector('s', sites, insecureGatekeeper(), pino({ level: 'silent' }));
    let saved = 0;
    const result = ev.request({ sites: ['hosp-a'], models: [{ ref, threshold: 0.5 }], cohorts: ['validation'], heldOut: false, modelConfigs: {}, round: 1, deadlineMs: 60_000, onResult: async () => { saved++; } });
    const taskId = sent.find((t) => t.startsWith('eval-'))!;
    expect(await submit(ev, taskId, 10)).toMatchObject({ err: null, message: 'received 10 predictions' });
    expect((await result).results.get('hosp-a')!.predictions).toHaveLength(10);
    // After the task closed: the same digest is acknowledged, nothing is saved again.
    expect(await submit(ev, taskId, 10)).toMatchObject({ err: null, message: 'already received' });
    expect(saved).toBe(1);
    expect((await submit(ev, taskId, 10, 0.25)).err).toEqual({ code: grpc.status.FAILED_PRECONDITION, details: `site "hosp-a": no open evaluation task "${taskId}" for this site` });

    // While a task is still open (another site has not answered): the same, and ALREADY_EXISTS for another result.
    const open = ev.request({ sites: ['hosp-a', 'hosp-b'], models: [{ ref, threshold: 0.5 }], cohorts: ['validation'], heldOut: false, modelConfigs: {}, round: 1, deadlineMs: 60_000, onResult: async () => { saved++; } });
    const second = sent.filter((t) => t.startsWith('eval-')).at(-1)!;
    expect(second).not.toBe(taskId);
    expect((await submit(ev, second, 10)).err).toBeNull();
    expect(await submit(ev, second, 10)).toMatchObject({ err: null, message: 'already received' });
    expect((await submit(ev, second, 10, 0.25)).err?.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(saved).toBe(2);
    ev.stop(new Error('test over'));
    await expect(open).rejects.toThrow('test over');
  });

  it('ask a site that is away when the request starts once it reconnects within the grace period', async () => {
    const sites = new SiteRegistry();
    const sent: string[] = [];
    const session = (site: string) => ({ site, backend: 'cpu', fingerprint: null, cohortCounts: { validation: 10 }, send: (m: { type: string; taskId?: string }) => sent.push(`${site}:${m.type === 'evaluate' ? m.taskId! : m.type}`), close: () => undefined });
    const b = session('hosp-b');
    sites.connect(session('hosp-a'));
    sites.connect(b);
    sites.disconnect(b, 'socket dropped');
    // The site dropped a moment ago: still one of the sites to ask (not after the grace period).
    expect(sites.reachableSites(20_000)).toEqual(['hosp-a', 'hosp-b']);
    expect(sites.reachableSites(20_000, Date.now() + 25_000)).toEqual(['hosp-a']);
    expect(sites.connectedSites()).toEqual(['hosp-a']);
    const ev = new EvaluationCollector('s', sites, insecureGatekeeper(), pino({ level: 'silent' }), 20_000);
    const result = ev.request({ sites: sites.reachableSites(20_000), models: [{ ref, threshold: 0.5 }], cohorts: ['validation'], heldOut: false, modelConfigs: {}, round: 1, deadlineMs: 60_000 });
    const taskId = sent.find((t) => t.startsWith('hosp-a:eval-'))!.slice('hosp-a:'.length);
    expect(sent.some((t) => t.startsWith('hosp-b:'))).toBe(false);
    sites.connect(session('hosp-b'));
    expect(sent).toContain(`hosp-b:${taskId}`);
    const submitAs = async (site: string) => {
      const rows: Prediction[] = [{ caseKey: key(site === 'hosp-a' ? 1 : 2), cohort: 'validation', label: 1, scores: { m: 0.5 } }];
      const call = {
        getAuthContext: () => ({}),
        async *[Symbol.asyncIterator](): AsyncGenerator<ReceivedEvaluationReport> {
          yield { studyId: 's', siteId: site, taskId, predictions: rows, aggregateJson: '', digest: predictionsDigest(rows), aggregate: null };
        },
      };
      return new Promise<GrpcStatus | null>((resolve) => ev.submit(call as never, (e) => resolve(e)));
    };
    expect(await submitAs('hosp-a')).toBeNull();
    expect(await submitAs('hosp-b')).toBeNull();
    const got = await result;
    expect([...got.results.keys()].sort()).toEqual(['hosp-a', 'hosp-b']);
    expect(got.failures.size).toBe(0);
  });
});
