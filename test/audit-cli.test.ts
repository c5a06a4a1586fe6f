// `fl audit` as an auditor runs it: verify (intact and tampered), show, prove, and replay of a
// FedAvg round from real tensor files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeExampleStudy, sha } from './helpers/audit-testing.js';
import { StudyLog } from '../shared/audit/study-log.js';
import { generateSigningKey } from '../shared/audit/keys.js';
import { checkInclusionProof, type InclusionProof } from '../shared/audit/proofs.js';
import { writeTensorSetFile } from '../shared/tensor/file.js';
import type { TensorInfo } from '../shared/tensor/tensor-set.js';
import { applyWeightedSum } from '../shared/aggregate/weighted-sum.js';
import { memoryUpdateReader } from '../shared/aggregate/reader.js';
import { flRun } from './helpers/processes.js';

let tmp: string;
let dir: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fl-audit-cli-'));
  dir = join(tmp, 'audit');
  const { log } = await writeExampleStudy(dir);
  await log.close();
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

describe('fl audit', () => {
  it('verify: exit 0 when intact; exit 1 naming the first bad record when a byte is flipped', async () => {
    const ok = await flRun(['audit', 'verify', dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/intact — 17 records/);
    const bad = join(tmp, 'tampered');
    await cp(dir, bad, { recursive: true });
    const text = await readFile(join(bad, 'log.jsonl'), 'utf8');
    const lines = text.split('\n');
    lines[6] = lines[6]!.replace('"num_examples":101', '"num_examples":901');
    await writeFile(join(bad, 'log.jsonl'), lines.join('\n'));
    const r = await flRun(['audit', 'verify', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/log\.jsonl line 7 \(record seq 6\)/);
    // A public key given out of band overrides a swapped coordinator.pub.
    const other = join(tmp, 'other.pub');
    const { publicKeyPem } = await import('../shared/audit/keys.js');
    await writeFile(other, publicKeyPem(generateSigningKey()));
    const r2 = await flRun(['audit', 'verify', dir, '--pubkey', other]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/heads\.jsonl line 1.*not the coordinator key/);
  });

  it('show prints the timeline; prove prints a checkable inclusion proof', async () => {
    const s = await flRun(['audit', 'show', dir]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/round 1 ddfn: fedavg over hospital-a → hospital-b → hospital-c/);
    expect(s.stdout).toMatch(/co-signed by hospital-a/);
    const p = await flRun(['audit', 'prove', dir, '--record', '5']);
    expect(p.code).toBe(0);
    const out = JSON.parse(p.stdout) as { record: { seq: number }; proof: InclusionProof; signed_tree_head: { root_hash: string } };
    expect(out.record.seq).toBe(5);
    const line = (await readFile(join(dir, 'log.jsonl'), 'utf8')).split('\n')[5]!;
    expect(checkInclusionProof(out.proof, line)).toBe(true);
    expect(out.signed_tree_head.root_hash).toBe(out.proof.root_hash);
    expect((await flRun(['audit', 'prove', dir, '--record', '99'])).code).toBe(2);
  });

  it('replay recomputes FedAvg from stored updates in arrival order and catches a wrong aggregate', async () => {
    const data = join(tmp, 'data');
    const infos: TensorInfo[] = [{ name: 'w', shape: [3, 5], dtype: 'float32' }, { name: 'b', shape: [7], dtype: 'float32' }];
    const n = 22;
    const rnd = (seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.01);
    const base = rnd(1);
    const g0 = await writeTensorSetFile(join(data, 'checkpoints', 'ddfn', 'round-0.flt'), { infos, data: base });
    const ups = [{ site: 'a', n: 120 }, { site: 'b', n: 37 }, { site: 'c', n: 301 }].map((u, i) => ({ ...u, id: `upd-${u.site}-0001`, delta: rnd(10 + i) }));
    const arrival: { site: string; update_id: string; digest: string; num_examples: number }[] = [];
    for (const u of ups) {
      const digest = await writeTensorSetFile(join(data, 'updates', 'ddfn', 'round-1', `${u.id}.flt`), { infos, data: u.delta });
      arrival.push({ site: u.site, update_id: u.id, digest, num_examples: u.n });
    }
    const next = await applyWeightedSum(base, ups.map((u) => memoryUpdateReader(u.delta, { id: u.id, site: u.site, numExamples: u.n })), ups.map((u) => u.n), 1 / ups.reduce((s, u) => s + u.n, 0));
    const g1 = await writeTensorSetFile(join(data, 'checkpoints', 'ddfn', 'round-1.flt'), { infos, data: next });
    const mkLog = async (name: string, aggregated: string) => {
      const d = join(tmp, name);
      const log = await StudyLog.open(d, { signingKey: generateSigningKey(), studyId: 'replay' });
      await log.append({ type: 'round_started', round: 1, participants: ['a', 'b', 'c'], models: { ddfn: { version: 0, digest: g0 } } });
      for (const a of arrival) await log.append({ type: 'update_accepted', round: 1, model: 'ddfn', ...a, signature: null });
      await log.append({ type: 'round_aggregated', round: 1, model: 'ddfn', strategy: 'fedavg', arrival_order: arrival, global_digest_before: g0, aggregated_digest: aggregated });
      await log.close();
      return d;
    };
    const good = await mkLog('replay-good', g1);
    const r = await flRun(['audit', 'replay', good, '--updates', join(data, 'updates'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, rounds: [{ round: 1, model: 'ddfn', status: 'ok', recomputed: g1 }] });
    const wrong = await mkLog('replay-wrong', sha('not the aggregate'));
    const w = await flRun(['audit', 'replay', wrong, '--updates', join(data, 'updates')]);
    expect(w.code).toBe(4);
    expect(w.stdout).toMatch(/MISMATCH/);
    // A stored update swapped after the fact is caught by its digest.
    await writeTensorSetFile(join(data, 'updates', 'ddfn', 'round-1', 'upd-b-0001.flt'), { infos, data: rnd(99) });
    const s = await flRun(['audit', 'replay', good, '--updates', join(data, 'updates')]);
    expect(s.code).toBe(4);
    expect(s.stdout).toMatch(/upd-b-0001\.flt: digest .* the log says/);
  });
});
