import { describe, expect, it } from 'vitest';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { recordProblem, RECORD_TYPES } from './records.js';
import { canonicalJson, isCanonicalJson } from '../util/canonical-json.js';
import { signUpdate, verifyUpdateSignature } from './update-signature.js';
import { sha } from '../../test/helpers/audit-testing.js';

const at = { seq: 0, time: '2026-01-01T00:00:00.000Z' };

describe('records', () => {
  it('accept the shapes the coordinator writes (round engine, study evaluation)', () => {
    const d = sha('x');
    const ok = [
      { type: 'round_started', round: 1, participants: ['a'], models: { ddfn: { version: 0, digest: d } }, deadline_unix_ms: 1 },
      { type: 'site_dropped', round: 1, site: 'a', reason: 'missed the round deadline (60 s)' },
      { type: 'update_accepted', round: 1, model: 'ddfn', site: 'a', update_id: 'u-12345678', num_examples: 3, digest: d, signature: null },
      { type: 'update_rejected', round: 1, model: 'ddfn', site: 'a', reason: 'stale' },
      { type: 'round_aggregated', round: 1, model: 'ddfn', strategy: 'fedavg', arrival_order: [{ site: 'a', update_id: 'u-12345678', digest: d, num_examples: 3 }], global_digest_before: d, aggregated_digest: d },
      { type: 'models_frozen', models: [{ model: 'ddfn', version: 3, digest: d, threshold: 0.4, threshold_rule: 'npv>=0.9', selection: 'last' }] },
      { type: 'evaluation_requested', cohorts: ['test'], models: [{ model: 'ddfn', digest: d }], sites: ['a'] },
      { type: 'evaluation_result', site: 'a', cohorts: ['test'], results_digest: d, cases: 10 },
    ];
    for (const r of ok) expect(recordProblem({ ...at, ...r })).toBeNull();
    expect(RECORD_TYPES).toContain('log_recovered');
  });

  it('name the field of a bad record', () => {
    expect(recordProblem({ ...at, type: 'report', digest: 'ABC' })).toMatch(/^digest: must be a SHA-256/);
    expect(recordProblem({ ...at, type: 'privacy_accounting', epsilon: -1, delta: 0 })).toMatch(/^epsilon/);
    expect(recordProblem({ ...at, time: '2026-01-01', type: 'report', digest: sha('r') })).toMatch(/^time/);
    expect(recordProblem({ ...at, type: 'nope' })).toMatch(/type/);
  });

  it('canonical JSON sorts keys and has one encoding', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1.5, y: -0 } })).toBe('{"a":[true,null,"x"],"b":1,"c":{"y":0,"z":1.5}}');
    expect(isCanonicalJson('{"a":1,"b":2}')).toBe(true);
    expect(isCanonicalJson('{"b":2,"a":1}')).toBe(false);
    expect(isCanonicalJson('{"a": 1}')).toBe(false);
    expect(() => canonicalJson({ a: Infinity })).toThrow(/\$\.a/);
    expect(() => canonicalJson({ a: new Date() })).toThrow(/plain objects/);
  });

  it('update signatures verify with Ed25519 and ECDSA site keys and bind every field', () => {
    for (const type of ['ed25519', 'ec'] as const) {
      const { privateKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
      const u = { study: 's', round: 2, model: 'ddfn', site: 'a', update_id: 'u-1', num_examples: 10, digest: sha('u') };
      const sig = signUpdate(privateKey, u);
      const pub = createPublicKey(privateKey);
      expect(verifyUpdateSignature(pub, u, sig)).toBe(true);
      expect(verifyUpdateSignature(pub, { ...u, num_examples: 11 }, sig)).toBe(false);
      expect(verifyUpdateSignature(pub, { ...u, round: 3 }, sig)).toBe(false);
    }
  });
});
