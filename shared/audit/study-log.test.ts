import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFile, mkdtemp, readFile, readdir, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { StudyLog, AuditLogError } from './study-log.js';
import { generateSigningKey, loadSigningKey, saveSigningKey } from './keys.js';
import { sha, writeExampleStudy } from '../../test/helpers/audit-testing.js';
import { verifyLogDir } from './verify-dir.js';
import { checkInclusionProof, checkConsistencyProof } from './proofs.js';
import { SiteCosigner, CosignRefused } from './cosigner.js';
import { signTreeHead } from './tree-head.js';
import { MerkleTree, leafHash } from './merkle.js';

let tmp: string;
beforeEach(async () => { tmp = await mkdtemp(join(tmpdir(), 'fl-audit-log-')); });
afterEach(async () => rm(tmp, { recursive: true, force: true }));

describe('StudyLog', () => {
  it('appends durably, signs a head per batch, reopens and continues', async () => {
    const key = generateSigningKey();
    await saveSigningKey(join(tmp, 'key.pem'), key);
    const loaded = await loadSigningKey(join(tmp, 'key.pem'));
    const dir = join(tmp, 'audit');
    let log = await StudyLog.open(dir, { signingKey: loaded, studyId: 's1' });
    const r1 = await log.append({ type: 'study_config', study: 's1', digest: sha('c') });
    expect(r1).toMatchObject({ seq: 0, entries: [{ seq: 0 }] });
    expect(r1.head.tree_size).toBe(1);
    const r2 = await log.append([
      { type: 'site_joined', site: 'a', cert_fingerprint: sha('a') },
      { type: 'site_joined', site: 'b', cert_fingerprint: sha('b') },
    ]);
    expect(r2.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(r2.head.tree_size).toBe(3);
    await expect(StudyLog.open(dir, { signingKey: key, studyId: 's1' })).rejects.toThrow(/already open/);
    await log.close();
    log = await StudyLog.open(dir, { signingKey: key, studyId: 's1' });
    expect(log.size).toBe(3);
    expect(log.treeHead()!.root_hash).toBe(r2.head.root_hash);
    await log.append({ type: 'report', digest: sha('r') });
    const proof = log.inclusionProof(1);
    expect(checkInclusionProof(proof, (await readFile(join(dir, 'log.jsonl'), 'utf8')).split('\n')[1]!)).toBe(true);
    expect(checkInclusionProof(proof, (await readFile(join(dir, 'log.jsonl'), 'utf8')).split('\n')[2]!)).toBe(false);
    expect(checkConsistencyProof(log.consistencyProof(1))).toBe(true);
    await log.close();
    const v = await verifyLogDir(dir);
    expect(v.ok).toBe(true);
    expect(v.file.records).toBe(4);
    expect(v.file.heads).toBe(3);
    // Another key, another study: refused.
    await expect(StudyLog.open(dir, { signingKey: generateSigningKey(), studyId: 's1' })).rejects.toThrow(/does not match/);
    await expect(StudyLog.open(dir, { signingKey: key, studyId: 's2' })).rejects.toThrow(/belongs to study "s1"/);
  });

  it('group commit: appends arriving together share one write and one head, each caller keeps its records in order, an invalid one is refused alone', async () => {
    const dir = join(tmp, 'g');
    const log = await StudyLog.open(dir, { signingKey: generateSigningKey(), studyId: 's1' });
    await log.append({ type: 'study_config', study: 's1', digest: sha('c') });
    const headsBefore = (await readFile(join(dir, 'heads.jsonl'), 'utf8')).split('\n').filter(Boolean).length;
    // Issued in one tick: all four go in one group.
    const calls = [
      log.append({ type: 'site_joined', site: 'a', cert_fingerprint: sha('a') }),
      log.append([{ type: 'site_joined', site: 'b', cert_fingerprint: sha('b') }, { type: 'site_joined', site: 'c', cert_fingerprint: sha('c') }]),
      log.append({ type: 'report', digest: 'not-a-digest' }),
      log.append({ type: 'site_joined', site: 'd', cert_fingerprint: sha('d') }),
    ];
    const settled = await Promise.allSettled(calls);
    expect(settled[2]!.status).toBe('rejected');
    expect(String((settled[2] as PromiseRejectedResult).reason)).toMatch(/digest/);
    const ok = settled.filter((x): x is PromiseFulfilledResult<Awaited<(typeof calls)[0]>> => x.status === 'fulfilled').map((x) => x.value);
    expect(ok.map((r) => r.entries.map((e) => e.seq))).toEqual([[1], [2, 3], [4]]);
    // Every caller's head covers its records; the callers of one group share it.
    for (const r of ok) expect(r.head.tree_size).toBeGreaterThan(r.seq);
    expect(ok[0]!.head).toEqual(ok[2]!.head);
    expect(ok[0]!.head.tree_size).toBe(5);
    const lines = (await readFile(join(dir, 'log.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { seq: number; site?: string });
    expect(lines.map((l) => l.site ?? '-')).toEqual(['-', 'a', 'b', 'c', 'd']);
    expect(lines.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4]);
    for (const r of ok) for (const e of r.entries) expect(e.hash).toBe(log.inclusionProof(e.seq).leaf_hash);
    const headsAfter = (await readFile(join(dir, 'heads.jsonl'), 'utf8')).split('\n').filter(Boolean).length;
    expect(headsAfter - headsBefore).toBe(1); // one head for the group
    // An append issued while a group is being written waits for it and goes in the next group.
    const first = log.append({ type: 'report', digest: sha('r1') });
    await new Promise((r) => setImmediate(r)); // the first group is now writing
    const second = [log.append({ type: 'report', digest: sha('r2') }), log.append({ type: 'report', digest: sha('r3') })];
    const [a, b, c] = await Promise.all([first, ...second]);
    expect([a!.seq, b!.seq, c!.seq]).toEqual([5, 6, 7]);
    expect(a!.head.tree_size).toBe(6);
    expect(b!.head).toEqual(c!.head);
    expect(b!.head.tree_size).toBe(8);
    await log.close();
    expect((await verifyLogDir(dir)).ok).toBe(true);
  });

  it('refuses invalid records naming the field, and records that set seq/time', async () => {
    const log = await StudyLog.open(join(tmp, 'a'), { signingKey: generateSigningKey(), studyId: 's1' });
    await expect(log.append({ type: 'update_rejected', round: 1, model: 'm', site: 'a' })).rejects.toThrow(/reason/);
    await expect(log.append({ type: 'report', digest: 'xyz' })).rejects.toThrow(/digest: must be a SHA-256/);
    await expect(log.append({ type: 'no_such_type' })).rejects.toThrow(AuditLogError);
    await expect(log.append({ type: 'report', digest: sha('r'), seq: 5 })).rejects.toThrow(/assigns/);
    await expect(log.append({ type: 'privacy_accounting', epsilon: Number.NaN, delta: 0 })).rejects.toThrow(/NaN/);
    expect(log.size).toBe(0);
    await log.append({ type: 'report', digest: sha('r'), extra: { any: ['detail'] } });
    expect(log.size).toBe(1);
    await log.close();
  });

  it('quarantines a torn last line on reopen and records the recovery', async () => {
    const key = generateSigningKey();
    const dir = join(tmp, 'audit');
    const log = await StudyLog.open(dir, { signingKey: key, studyId: 's1' });
    await log.append({ type: 'study_config', digest: sha('c') });
    await log.append({ type: 'report', digest: sha('r') });
    await log.close();
    // A crash mid-append: half a record, no head for it.
    await appendFile(join(dir, 'log.jsonl'), '{"digest":"ab');
    let v = await verifyLogDir(dir);
    expect(v.ok).toBe(true);
    expect(v.file.tornTail).toEqual({ line: 3, bytes: 13 });
    const again = await StudyLog.open(dir, { signingKey: key, studyId: 's1' });
    const rec = again.entries()[2]!;
    expect(rec).toMatchObject({ type: 'log_recovered', torn_bytes: 13, unsigned_records: 0 });
    const q = await readdir(join(dir, 'torn'));
    expect(q).toHaveLength(1);
    expect(await readFile(join(dir, 'torn', q[0]!), 'utf8')).toBe('{"digest":"ab');
    await again.close();
    v = await verifyLogDir(dir);
    expect(v.ok).toBe(true);
    expect(v.file.tornTail).toBeNull();
    expect(v.file.warnings.join('\n')).toMatch(/recovered from a crash/);
  });

  it('signs records left without a head by a crash, and refuses to reopen a tampered log', async () => {
    const key = generateSigningKey();
    const dir = join(tmp, 'audit');
    const log = await StudyLog.open(dir, { signingKey: key, studyId: 's1' });
    await log.append({ type: 'study_config', digest: sha('c') });
    await log.append({ type: 'report', digest: sha('r') });
    await log.close();
    const heads = await readFile(join(dir, 'heads.jsonl'), 'utf8');
    await truncate(join(dir, 'heads.jsonl'), heads.indexOf('\n') + 1); // crash before the 2nd head
    expect((await verifyLogDir(dir)).file.warnings.join()).toMatch(/records 1..1 are not covered/);
    const again = await StudyLog.open(dir, { signingKey: key, studyId: 's1' });
    expect(again.entries()[2]).toMatchObject({ type: 'log_recovered', unsigned_records: 1, torn_bytes: 0 });
    await again.close();
    expect((await verifyLogDir(dir)).file.warnings.filter((w) => /not covered/.test(w))).toEqual([]);
    const text = await readFile(join(dir, 'log.jsonl'), 'utf8');
    await truncate(join(dir, 'log.jsonl'), text.indexOf('\n') + 1);
    await expect(StudyLog.open(dir, { signingKey: key, studyId: 's1' })).rejects.toThrow(/refusing to append/);
  });
});

describe('co-signing', () => {
  it('sites co-sign consistent heads and refuse a rewritten history or a foreign head', async () => {
    const ex = await writeExampleStudy(join(tmp, 'audit'), { cosignStateDir: join(tmp, 'cosign') });
    const { log, key, sites, studyId } = ex;
    const site = sites[0]!;
    const cos = await SiteCosigner.open(join(tmp, 'cosign', `${site.site}.json`), { site: site.site, study: studyId, siteKey: site.key, coordinatorKey: createPublicKey(key) });
    const last = cos.lastSigned()!;
    expect(last.tree_size).toBeGreaterThan(0);
    const head = log.treeHead()!;
    const { signature } = await cos.cosign(head, log.consistencyProof(last.tree_size, head.tree_size));
    await log.addCosignature(site.site, head, signature);
    await expect(log.addCosignature(sites[1]!.site, head, signature)).rejects.toThrow(/does not verify/);

    // A coordinator showing this site a different history (record 3 replaced) is caught.
    const forked = new MerkleTree();
    for (const [i, r] of log.entries().entries()) forked.append(leafHash(i === 3 ? 'forged' : JSON.stringify(r)));
    forked.append(leafHash('next'));
    const forkHead = signTreeHead(key, { study: studyId, tree_size: forked.size, root_hash: forked.root().toString('hex'), timestamp: Date.now() });
    const p = forked.consistencyProof(head.tree_size);
    await expect(cos.cosign(forkHead, {
      first_size: head.tree_size, second_size: forked.size, first_root: head.root_hash, second_root: forkHead.root_hash, path: p.map((h) => h.toString('hex')),
    })).rejects.toThrow(CosignRefused);
    await expect(cos.cosign({ ...head, tree_size: head.tree_size - 1 }, null)).rejects.toThrow(/signature|fewer/);
    const foreign = signTreeHead(generateSigningKey(), { ...head });
    await expect(cos.cosign(foreign, null)).rejects.toThrow(/not the coordinator key/);
    await log.close();
    const v = await verifyLogDir(join(tmp, 'audit'));
    expect(v.ok).toBe(true);
    expect(v.file.cosignatures.length).toBe(4);
  });
});
