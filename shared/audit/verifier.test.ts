import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { writeExampleStudy, sha } from '../../test/helpers/audit-testing.js';
import { verifyStudyLog, type VerifyReport } from './verifier.js';
import { canonicalJson } from '../util/canonical-json.js';
import { generateSigningKey } from './keys.js';
import { MerkleTree, leafHash } from './merkle.js';
import { signTreeHead } from './tree-head.js';

let tmp: string;
let log: Buffer;
let heads: Buffer;
let pub: KeyObject;
let studyId: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'fl-audit-verify-'));
  const ex = await writeExampleStudy(join(tmp, 'audit'));
  await ex.log.close();
  log = await readFile(join(tmp, 'audit', 'log.jsonl'));
  heads = await readFile(join(tmp, 'audit', 'heads.jsonl'));
  pub = createPublicKey(ex.key);
  studyId = ex.studyId;
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

const lines = (b: Buffer) => b.toString('utf8').split('\n').slice(0, -1);
const join_ = (ls: string[]) => Buffer.from(ls.map((l) => `${l}\n`).join(''));
const check = (l: Buffer, h: Buffer = heads, key: KeyObject = pub): VerifyReport => verifyStudyLog({ log: l, heads: h, publicKey: key });
const seqOf = (line: string) => (JSON.parse(line) as { seq: number }).seq;

/** Rewrites records from `from` on with consecutive seqs (what a careful forger would do). */
function renumber(ls: string[]): string[] {
  return ls.map((l, i) => canonicalJson({ ...(JSON.parse(l) as object), seq: i }));
}

describe('verifier', () => {
  it('accepts the intact log with all signatures, co-signatures and rules', () => {
    const r = check(log);
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.records).toBe(lines(log).length);
    expect(r.signedSize).toBe(r.records);
    expect(r.cosignatures.map((c) => c.site).sort()).toEqual(['hospital-a', 'hospital-b', 'hospital-c']);
    expect(r.warnings).toEqual([]);
    expect(r.study).toBe(studyId);
  });

  it('catches a flipped byte in a digest (record stays valid JSON) and names the record', () => {
    const ls = lines(log);
    const i = ls.findIndex((l) => l.includes('"round_aggregated"'));
    const pos = ls[i]!.indexOf('"aggregated_digest":"') + '"aggregated_digest":"'.length;
    ls[i] = ls[i]!.slice(0, pos) + (ls[i]![pos] === 'a' ? 'b' : 'a') + ls[i]!.slice(pos + 1);
    const r = check(join_(ls));
    expect(r.ok).toBe(false);
    expect(r.failure!.seq).toBe(i);
    expect(r.failure!.message).toMatch(new RegExp(`record seq ${i} was altered`));
  });

  it('catches a flipped byte anywhere (every byte position of one record)', () => {
    const ls = lines(log);
    const i = 6; // an update_accepted record
    let caught = 0;
    const line = Buffer.from(ls[i]!);
    for (let p = 0; p < line.length; p++) {
      const b = Buffer.from(line);
      b[p] = b[p]! ^ 0x01;
      const copy = [...ls];
      copy[i] = b.toString('latin1');
      const r = check(Buffer.concat([join_(ls.slice(0, i)), b, Buffer.from('\n'), join_(ls.slice(i + 1))]));
      if (!r.ok && r.failure!.line === i + 1) caught++;
      void copy;
    }
    expect(caught).toBe(line.length);
  });

  it('catches a deleted record, with and without renumbering', () => {
    const ls = lines(log);
    const del = [...ls.slice(0, 4), ...ls.slice(5)];
    let r = check(join_(del));
    expect(r.failure).toMatchObject({ line: 5, seq: 5 });
    expect(r.failure!.message).toMatch(/expected seq 4, found seq 5/);
    r = check(join_(renumber(del)));
    expect(r.ok).toBe(false);
    expect(r.failure!.seq).toBe(4);
  });

  it('catches an inserted record, with and without renumbering', () => {
    const ls = lines(log);
    const extra = canonicalJson({ ...(JSON.parse(ls[8]!) as object), reason: 'forged', type: 'update_rejected', model: 'ddfn', site: 'hospital-a', round: 1 });
    const ins = [...ls.slice(0, 9), extra, ...ls.slice(9)];
    let r = check(join_(ins));
    expect(r.failure).toMatchObject({ line: 10 });
    r = check(join_(renumber(ins)));
    expect(r.ok).toBe(false);
    expect(r.failure!.seq).toBe(9);
  });

  it('catches reordered records, with and without renumbering', () => {
    const ls = lines(log);
    const re = [...ls];
    [re[5], re[6]] = [re[6]!, re[5]!];
    let r = check(join_(re));
    expect(r.failure).toMatchObject({ line: 6, seq: 6 });
    r = check(join_(renumber(re)));
    expect(r.ok).toBe(false);
    expect(r.failure!.seq).toBe(5);
  });

  it('catches a truncated log (whole records removed at the end)', () => {
    const ls = lines(log);
    const r = check(join_(ls.slice(0, -2)));
    expect(r.ok).toBe(false);
    expect(r.failure!.seq).toBe(ls.length - 2);
    expect(r.failure!.message).toMatch(/deleted or truncated/);
  });

  it('reports a torn last line without accepting it, and fails when a signed head covers it', () => {
    const ls = lines(log);
    const torn = Buffer.concat([join_(ls.slice(0, -1)), Buffer.from(ls[ls.length - 1]!.slice(0, 17))]);
    const r = check(torn);
    expect(r.tornTail).toEqual({ line: ls.length, bytes: 17 });
    expect(r.records).toBe(ls.length - 1);
    expect(r.ok).toBe(false); // the last head covers the record that is now torn
    const hl = lines(heads).filter((l) => (JSON.parse(l) as { tree_size: number }).tree_size < ls.length);
    const r2 = check(torn, join_(hl));
    expect(r2.ok).toBe(true);
    expect(r2.warnings.join('\n')).toMatch(/torn last line/);
  });

  it('catches a forged tree head signature and a head from another key', () => {
    const hl = lines(heads);
    const last = JSON.parse(hl[hl.length - 1]!) as { signature: string; tree_size: number };
    const sig = Buffer.from(last.signature, 'base64');
    sig[10] = sig[10]! ^ 0x80;
    let r = check(log, join_([...hl.slice(0, -1), canonicalJson({ ...last, signature: sig.toString('base64') })]));
    expect(r.failure).toMatchObject({ file: 'heads.jsonl', line: hl.length });
    expect(r.failure!.message).toMatch(/signature does not verify/);

    const other = generateSigningKey();
    const t = new MerkleTree();
    for (const l of lines(log)) t.append(leafHash(l));
    const foreign = signTreeHead(other, { study: studyId, tree_size: t.size, root_hash: t.root().toString('hex'), timestamp: Date.now() + 1000 });
    r = check(log, join_([...hl, canonicalJson(foreign)]));
    expect(r.failure).toMatchObject({ file: 'heads.jsonl', line: hl.length + 1 });
    expect(r.failure!.message).toMatch(/not the coordinator key/);
    // A log re-signed wholesale by another key does not verify against the coordinator's key.
    r = check(log, heads, createPublicKey(other));
    expect(r.ok).toBe(false);
  });

  it('catches a forged co-signature and a forged update signature', () => {
    const hl = lines(heads);
    const ci = hl.findIndex((l) => l.includes('"cosignature"'));
    const cos = JSON.parse(hl[ci]!) as { signature: string };
    const forged = [...hl];
    forged[ci] = canonicalJson({ ...cos, signature: Buffer.from(cos.signature, 'base64').reverse().toString('base64') });
    const r = check(log, join_(forged));
    expect(r.failure).toMatchObject({ file: 'heads.jsonl', line: ci + 1 });

    // A valid-looking record whose site signature is wrong, signed into a fresh log by the coordinator itself.
    const ls = lines(log);
    const ui = ls.findIndex((l) => l.includes('"update_accepted"'));
    const u = JSON.parse(ls[ui]!) as { signature: string };
    ls[ui] = canonicalJson({ ...u, num_examples: 9999 });
    const r2 = check(join_(ls), Buffer.alloc(0));
    expect(r2.failure).toMatchObject({ seq: ui });
    expect(r2.failure!.message).toMatch(/signature over update .* does not verify/);
  });

  it('enforces freeze-before-evaluate', () => {
    const ls = lines(log);
    const fi = ls.findIndex((l) => l.includes('"models_frozen"'));
    const ei = ls.findIndex((l) => l.includes('"evaluation_requested"'));
    const re = [...ls];
    [re[fi], re[ei]] = [re[ei]!, re[fi]!];
    const r = check(join_(renumber(re)), Buffer.alloc(0));
    expect(r.failure).toMatchObject({ seq: fi });
    expect(r.failure!.message).toMatch(/freeze-before-evaluate/);
    // An evaluation of a model digest other than the frozen one.
    const other = [...ls];
    other[ei] = canonicalJson({ ...(JSON.parse(ls[ei]!) as object), models: [{ model: 'ddfn', digest: sha('unfrozen') }] });
    const r2 = check(join_(other), Buffer.alloc(0));
    expect(r2.failure!.message).toMatch(/freeze-before-evaluate/);
    expect(r2.failure!.seq).toBe(ei);
  });

  it('rejects non-canonical encodings of the same record', () => {
    const ls = lines(log);
    ls[3] = JSON.stringify(JSON.parse(ls[3]!), null, 1).replace(/\n/g, '');
    const r = check(join_(ls));
    expect(r.failure).toMatchObject({ seq: 3 });
    expect(r.failure!.message).toMatch(/canonical/);
  });
});
