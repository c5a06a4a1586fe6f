import { createHash, generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { bytesOf, type TensorSet } from '../shared/tensor/tensor-set.js';
import { signJoin } from '../shared/audit/update-signature.js';
import { OutboundBlockedError, PrivacyGuard, pseudonymise } from './privacy-guard.js';

const logs: Array<{ msg: string; kind: string; reason: string }> = [];
const log = pino({ level: 'error' }, { write: (s: string) => void logs.push(JSON.parse(s)) });
const spec = [
  { name: 'dense/kernel', shape: [3, 2], dtype: 'float32' as const },
  { name: 'dense/bias', shape: [2], dtype: 'float32' as const },
];
const update = (): TensorSet => ({ infos: spec, data: Float32Array.from([0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.01, -0.02]) });
const SECRET = 'a'.repeat(64);

function guard(): PrivacyGuard {
  const g = new PrivacyGuard({ studyId: 'sln', siteId: 'site-a', log });
  g.setModelSpec('ddfn', spec);
  return g;
}

function header(digest: string, overrides: Record<string, unknown> = {}) {
  return {
    studyId: 'sln', siteId: 'site-a', model: 'ddfn', round: 3, modelVersion: 3, numExamples: 120, digest,
    tensors: spec, totalBytes: 32, updateId: 'u-1', metrics: { loss: 0.4 }, taskId: 't-3', signature: '', ...overrides,
  };
}

function blocked(fn: () => void, reason: RegExp): void {
  const before = logs.length;
  expect(fn).toThrow(OutboundBlockedError);
  expect(fn).toThrow(reason);
  expect(logs.length).toBeGreaterThan(before);
  expect(logs.at(-1)!.msg).toBe('privacy guard blocked an outbound message');
}

describe('pseudonymise', () => {
  it('is HMAC-SHA256 of the case id under the site secret', () => {
    const key = pseudonymise('patient-0042', SECRET);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).toBe(pseudonymise('patient-0042', SECRET));
    expect(key).not.toBe(pseudonymise('patient-0042', 'b'.repeat(64)));
    expect(key).not.toBe(createHash('sha256').update('patient-0042').digest('hex'));
    expect(() => pseudonymise('x', 'short')).toThrow(/at least 16/);
  });
});

describe('PrivacyGuard', () => {
  it('lets through control messages, an approved update and pseudonymised predictions', () => {
    const g = guard();
    g.guardOutbound('hello', { studyId: 'sln', siteId: 'site-a', agentVersion: '0.1.0', backend: 'cpu', cohortCounts: { train: 120, heldout: 40 } });
    g.guardOutbound('heartbeat', { timeUnixMs: Date.now() });
    g.guardOutbound('status', { taskId: 't-3', state: 'running', message: 'epoch 2/5', progress: 0.4, metrics: { loss: 0.5 } });
    const u = update();
    const digest = g.approveUpdate('ddfn', u);
    g.guardOutbound('update-header', header(digest));
    const bytes = Buffer.from(bytesOf(u.data));
    for (const [off, len] of [[0, 20], [20, 12]] as const) {
      const data = bytes.subarray(off, off + len);
      g.guardOutbound('update-chunk', { update: digest, chunk: { offset: off, data, sha256: createHash('sha256').update(data).digest('hex') } });
    }
    g.guardOutbound('evaluation', {
      studyId: 'sln', siteId: 'site-a', taskId: 't-9', digest: '',
      predictions: [{ caseKey: pseudonymise('p1', SECRET), cohort: 'heldout', label: 1, scores: { ddfn: 0.93 } }],
      aggregateJson: JSON.stringify({ ddfn: { tp: [1, 2], fp: [0, 1] } }),
    });
    expect(g.blocked).toBe(0);
  });

  it('blocks updates that do not match the model spec or are not finite', () => {
    const g = guard();
    blocked(() => g.approveUpdate('ddfn', { infos: [spec[0]!, { ...spec[1]!, name: 'image' }], data: new Float32Array(8) }), /expected name "dense\/bias"/);
    blocked(() => g.approveUpdate('ddfn', { infos: spec, data: new Float32Array(9) }), /has 9 values/);
    const bad = update();
    bad.data[3] = NaN;
    blocked(() => g.approveUpdate('ddfn', bad), /value 3 is not finite/);
    blocked(() => g.approveUpdate('other', update()), /no tensor spec for model "other"/);
  });

  it('blocks bytes that are not part of an approved update', () => {
    const g = guard();
    const digest = g.approveUpdate('ddfn', update());
    const pixels = Buffer.from('CANARY-PIXELS-0123456789');
    const sha = createHash('sha256').update(pixels).digest('hex');
    blocked(() => g.guardOutbound('update-chunk', { update: digest, chunk: { offset: 0, data: pixels, sha256: sha } }), /not the approved update's bytes/);
    blocked(() => g.guardOutbound('update-chunk', { update: '0'.repeat(64), chunk: { offset: 0, data: pixels, sha256: sha } }), /not approved/);
    blocked(() => g.guardOutbound('update-header', header('f'.repeat(64))), /not name an approved update/);
    blocked(() => g.guardOutbound('update-header', header(digest, { totalBytes: 4096 })), /totalBytes 4096/);
  });

  it('blocks unknown fields, free text, raw case ids, foreign ids and non-numeric aggregates', () => {
    const g = guard();
    const hello = { studyId: 'sln', siteId: 'site-a', agentVersion: '0.1.0', backend: 'cpu', cohortCounts: {} };
    blocked(() => g.guardOutbound('hello', { ...hello, image: 'iVBORw0KGgo=' } as never), /Unrecognized key/i);
    blocked(() => g.guardOutbound('hello', { ...hello, siteId: 'site-b' }), /siteId "site-b" is not this site/);
    // The signed join declaration (what every site with a certificate sends) passes; anything else in its place does not.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    g.guardOutbound('hello', { ...hello, cohortCounts: { train: 120 }, joinSignature: signJoin(privateKey, { study: 'sln', site: 'site-a', train_cases: 120 }) });
    blocked(() => g.guardOutbound('hello', { ...hello, joinSignature: 'patient-0042 John Doe' }), /joinSignature.*must be a base64 signature/);
    blocked(() => g.guardOutbound('status', { taskId: 't', state: 'failed', message: 'x'.repeat(300), progress: 0, metrics: {} }), /limited to 256/);
    blocked(() => g.guardOutbound('status', { taskId: 't', state: 'failed', message: 'line1\nline2', progress: 0, metrics: {} }), /one line/);
    const manyMetrics = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`m${i}`, i]));
    blocked(() => g.guardOutbound('status', { taskId: 't', state: 'done', message: '', progress: 1, metrics: manyMetrics }), /at most 64 metrics/);
    const evaluation = (pred: Record<string, unknown>, aggregateJson = '') => ({
      studyId: 'sln', siteId: 'site-a', taskId: 't', digest: '', aggregateJson,
      predictions: [{ caseKey: pseudonymise('p1', SECRET), cohort: 'heldout', label: 1, scores: { ddfn: 0.5 }, ...pred }],
    });
    blocked(() => g.guardOutbound('evaluation', evaluation({ caseKey: 'MRN-12345' }) as never), /caseKey.*64 lowercase hex/);
    blocked(() => g.guardOutbound('evaluation', evaluation({ label: 2 }) as never), /label/);
    blocked(() => g.guardOutbound('evaluation', evaluation({ scores: { ddfn: 7 } })), /scores/);
    blocked(() => g.guardOutbound('evaluation', evaluation({}, JSON.stringify({ note: 'patient Jane Doe' }))), /string values are not allowed/);
    blocked(() => g.guardOutbound('nonsense' as never, {} as never), /unknown message kind/);
  });
});
