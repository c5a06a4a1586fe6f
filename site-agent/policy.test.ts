// Unit tests of the site's policy (site-agent/policy.ts): each refusal, and what passes. Freeze
// proofs come from a real StudyLog (the coordinator's log: records, signed tree heads, inclusion
// proofs), so a proof the coordinator really sends is accepted and every way of forging one is not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sitePolicySchema, POLICY_REFUSAL_PREFIX, type SitePolicy } from '../shared/config/site.js';
import { buildEvaluateTask, buildFreezeNotice, buildTrainTask, modelConfigsFor, type FreezeNotice } from '../shared/protocol/index.js';
import { StudyLog } from '../shared/audit/study-log.js';
import { generateSigningKey } from '../shared/audit/keys.js';
import { signTreeHead } from '../shared/audit/tree-head.js';
import { leafHash } from '../shared/audit/merkle.js';
import { PolicyRefusal, checkEvaluateTask, checkFreezeNotice, checkTrainTask } from './policy.js';

const policy = (p: unknown): SitePolicy => sitePolicySchema.parse(p);
const DEFAULTS = policy({});
const STRICT = policy({
  privacy: ['aggregate'], per_case_cohorts: [],
  training: { learning_rate: { min: 0.00001, max: 0.01 }, epochs: { min: 1, max: 5 }, batch_size: { min: 1, max: 64 }, models: ['ddfn'] },
  require_freeze_proof: true,
});

const configs = modelConfigsFor([
  { name: 'ddfn', architecture: 'ddfn', config: { inputSize: 32, widths: [4, 8, 8], seed: 1 } },
  { name: 'ddfn2', architecture: 'ddfn', config: { inputSize: 32, widths: [4, 8, 8], seed: 2 } },
  { name: 'res', architecture: 'resnet18', config: { inputSize: 32 } },
]);
const ref = (model: string, digest = 'ab'.repeat(32)) => ({ studyId: 'sln', model, round: 1, version: 1, digest });

const train = (t: { lr?: number; epochs?: number; batch?: number; models?: string[] } = {}) => buildTrainTask({
  taskId: 't1', studyId: 'sln', round: 1, deadlineUnixMs: 0, models: (t.models ?? ['ddfn']).map((m) => ref(m)),
  training: { epochs: t.epochs ?? 1, batchSize: t.batch ?? 8, learningRate: t.lr ?? 0.002, seed: 1 }, strategyParams: {}, modelConfigs: configs,
});
const evaluate = (privacy: 'predictions' | 'aggregate', cohorts: string[]) => buildEvaluateTask({
  taskId: 'e1', studyId: 'sln', round: 1, deadlineUnixMs: 0, models: [{ ref: ref('ddfn'), threshold: 0.5 }], cohorts,
  heldOut: false, privacy, modelConfigs: configs,
});

/** The refusal's message (fails the test when nothing was refused, or something else was thrown). */
function refusal(f: () => void): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyRefusal);
    const r = err as PolicyRefusal;
    expect(r.code).toBe('SITE_POLICY');
    expect(r.statusMessage.startsWith(POLICY_REFUSAL_PREFIX)).toBe(true);
    return r.message;
  }
  throw new Error('expected a policy refusal, nothing was refused');
}

describe('training tasks', () => {
  it('pass within the bounds, and with the default policy whatever the settings', () => {
    expect(() => checkTrainTask(STRICT, train())).not.toThrow();
    expect(() => checkTrainTask(STRICT, train({ lr: 0.01, epochs: 5, batch: 64, models: ['ddfn', 'ddfn2'] }))).not.toThrow();
    expect(() => checkTrainTask(STRICT, train({ lr: 0.00001, epochs: 1, batch: 1 }))).not.toThrow();
    expect(() => checkTrainTask(DEFAULTS, train({ lr: 1, epochs: 50, batch: 4096, models: ['res'] }))).not.toThrow();
  });

  it('are refused outside each bound, naming the setting and the bound', () => {
    expect(refusal(() => checkTrainTask(STRICT, train({ lr: 1 })))).toBe('training task t1: learning rate 1 is outside policy.training.learning_rate [0.00001, 0.01]');
    expect(refusal(() => checkTrainTask(STRICT, train({ lr: 0.000001 })))).toMatch(/learning rate 0.000001 is outside/);
    expect(refusal(() => checkTrainTask(STRICT, train({ lr: Number.NaN })))).toMatch(/learning rate NaN is outside/);
    expect(refusal(() => checkTrainTask(STRICT, train({ epochs: 6 })))).toBe('training task t1: 6 epochs is outside policy.training.epochs [1, 5]');
    expect(refusal(() => checkTrainTask(STRICT, train({ batch: 4096 })))).toBe('training task t1: batch size 4096 is outside policy.training.batch_size [1, 64]');
    expect(refusal(() => checkTrainTask(STRICT, train({ batch: 0 })))).toMatch(/batch size 0 is outside/);
  });

  it('are refused for a model family the site does not train, even beside an allowed one', () => {
    expect(refusal(() => checkTrainTask(STRICT, train({ models: ['ddfn', 'res'] })))).toBe('training task t1: model "res" (resnet18) is not in policy.training.models [ddfn]');
    const byFamily = policy({ training: { models: ['resnet18'] } });
    expect(() => checkTrainTask(byFamily, train({ models: ['res'] }))).not.toThrow();
    expect(refusal(() => checkTrainTask(byFamily, train({ models: ['ddfn'] })))).toMatch(/model "ddfn" \(ddfn\) is not in policy.training.models \[resnet18\]/);
  });
});

describe('evaluation tasks', () => {
  it('an aggregate-only site refuses per-case rows of any cohort, and accepts aggregates', () => {
    expect(refusal(() => checkEvaluateTask(STRICT, evaluate('predictions', ['validation'])))).toBe('evaluation task e1: privacy mode "predictions" is not accepted (policy.privacy: aggregate)');
    expect(() => checkEvaluateTask(STRICT, evaluate('aggregate', ['train', 'validation']))).not.toThrow();
  });

  it('per-case scores only of the cohorts the site allows', () => {
    expect(() => checkEvaluateTask(DEFAULTS, evaluate('predictions', ['validation', 'test']))).not.toThrow();
    expect(refusal(() => checkEvaluateTask(DEFAULTS, evaluate('predictions', ['train', 'validation'])))).toBe(
      'evaluation task e1: per-case scores of cohort(s) train may not leave this site (policy.per_case_cohorts: validation, test, prospective)');
    const none = policy({ privacy: ['predictions', 'aggregate'], per_case_cohorts: [] });
    expect(refusal(() => checkEvaluateTask(none, evaluate('predictions', ['test'])))).toMatch(/cohort\(s\) test may not leave this site \(policy.per_case_cohorts: none\)/);
    // Aggregates of any cohort are not per-case rows.
    expect(() => checkEvaluateTask(none, evaluate('aggregate', ['train']))).not.toThrow();
  });
});

describe('freeze notices', () => {
  let dir: string;
  let key: KeyObject;
  let pinned: KeyObject;
  let log: StudyLog;
  let notice: FreezeNotice;
  const frozenDigest = 'cd'.repeat(32);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fl-policy-'));
    key = generateSigningKey();
    pinned = createPublicKey(key);
    log = await StudyLog.open(dir, { signingKey: key, studyId: 'sln' });
    await log.append({ type: 'study_config', study: 'sln', digest: 'ee'.repeat(32) });
    const rec = await log.append({ type: 'models_frozen', models: [{ model: 'ddfn', version: 1, digest: frozenDigest, threshold: 0.466 }] });
    await log.append({ type: 'report', digest: 'ff'.repeat(32) });
    const proof = log.proveRecord(rec.seq)!;
    notice = buildFreezeNotice({ studyId: 'sln', models: [{ ref: ref('ddfn', frozenDigest), threshold: 0.466 }], logSeq: rec.seq, recordHash: rec.hash, proofJson: JSON.stringify(proof) });
  });
  afterAll(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const withProof = (mutate: (p: { record: string; head: Record<string, unknown>; proof: Record<string, unknown> }) => void, n: Partial<FreezeNotice> = {}): FreezeNotice => {
    const p = JSON.parse(notice.proofJson!);
    mutate(p);
    return { ...notice, ...n, proofJson: JSON.stringify(p) };
  };

  it('a notice with the coordinator\'s real proof is accepted', () => {
    expect(() => checkFreezeNotice(STRICT, notice, 'sln', pinned)).not.toThrow();
  });

  it('a missing proof is refused (and accepted only when the policy does not ask for one)', () => {
    const bare = { ...notice, proofJson: '' };
    expect(refusal(() => checkFreezeNotice(STRICT, bare, 'sln', pinned))).toBe(`freeze notice (log seq ${notice.logSeq}): no signed tree head and inclusion proof (policy.require_freeze_proof)`);
    expect(() => checkFreezeNotice(policy({ require_freeze_proof: false }), bare, 'sln', pinned)).not.toThrow();
    expect(refusal(() => checkFreezeNotice(STRICT, notice, 'sln', null))).toMatch(/has not pinned the coordinator's study-log key yet/);
    expect(refusal(() => checkFreezeNotice(STRICT, { ...notice, proofJson: '{not json' }, 'sln', pinned))).toMatch(/not valid JSON of the form \{record, head, proof\}/);
  });

  it('a proof signed by another key than the pinned one is refused', () => {
    const other = generateSigningKey();
    const p = JSON.parse(notice.proofJson!);
    const forged = { ...notice, proofJson: JSON.stringify({ ...p, head: signTreeHead(other, p.head) }) };
    expect(refusal(() => checkFreezeNotice(STRICT, forged, 'sln', pinned))).toMatch(/tree head signed by key [0-9a-f]{16}…, not the coordinator key .* \(not signed by the coordinator key this site pinned\)/);
    // The same proof checked against a key this site never pinned.
    expect(refusal(() => checkFreezeNotice(STRICT, notice, 'sln', createPublicKey(other)))).toMatch(/not signed by the coordinator key this site pinned/);
  });

  it('a forged head, record, index or model is refused', () => {
    // The head's root changed (signature no longer verifies).
    expect(refusal(() => checkFreezeNotice(STRICT, withProof((p) => { p.head.root_hash = '00'.repeat(32); }), 'sln', pinned))).toMatch(/tree head signature does not verify/);
    // A head for another study.
    expect(refusal(() => checkFreezeNotice(STRICT, withProof((p) => { p.head.study = 'other'; }), 'sln', pinned))).toMatch(/the tree head is for study "other"/);
    // A made-up record (threshold moved from 0.466 to 0.05) with its own hash in the notice.
    const moved = JSON.parse(JSON.parse(notice.proofJson!).record);
    moved.models[0].threshold = 0.05;
    const movedLine = JSON.stringify(moved);
    expect(refusal(() => checkFreezeNotice(STRICT, withProof((p) => { p.record = movedLine; }, { recordHash: leafHash(movedLine).toString('hex') }), 'sln', pinned)))
      .toMatch(/the inclusion proof does not verify: the record is not in the signed log/);
    // The real record, but the notice names another hash.
    expect(refusal(() => checkFreezeNotice(STRICT, { ...notice, recordHash: '11'.repeat(32) }, 'sln', pinned))).toMatch(/does not hash to the notice's record_hash/);
    // The proof is for another leaf than the notice's seq (log seq 999999 made up).
    expect(refusal(() => checkFreezeNotice(STRICT, { ...notice, logSeq: 999_999 }, 'sln', pinned))).toMatch(/the proof is for record 1, the notice names 999999/);
    // The proof's tree is not the signed head's.
    expect(refusal(() => checkFreezeNotice(STRICT, withProof((p) => { p.proof.tree_size = 2; }), 'sln', pinned))).toMatch(/the inclusion proof is not for the signed tree head/);
    // A model or threshold not in the proven record.
    expect(refusal(() => checkFreezeNotice(STRICT, { ...notice, models: [{ ref: ref('ddfn', 'ef'.repeat(32)), threshold: 0.466 }] }, 'sln', pinned)))
      .toMatch(/model "ddfn" digest efefefefefef… is not in the proven models_frozen record/);
    expect(refusal(() => checkFreezeNotice(STRICT, { ...notice, models: [{ ref: ref('ddfn', frozenDigest), threshold: 0.05 }] }, 'sln', pinned)))
      .toMatch(/threshold 0.05 of "ddfn" differs from the logged 0.466/);
  });

  it('a proof of a record that is in the log but is not models_frozen is refused', async () => {
    const other = log.proveRecord(0)!; // study_config
    const n = { ...notice, logSeq: 0, recordHash: other.proof.leaf_hash, proofJson: JSON.stringify(other) };
    expect(refusal(() => checkFreezeNotice(STRICT, n, 'sln', pinned))).toMatch(/the proven record is not a models_frozen record/);
  });
});
