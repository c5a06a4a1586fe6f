// The coordinator's tamper-evident study log (Certificate-Transparency style, RFC 6962/9162).
//
// Usage (coordinator):
//   const key = await loadSigningKey(path)            // or generateSigningKey() + saveSigningKey()
//   const log = await StudyLog.open(dir, { signingKey: key, studyId, nats: { url }, logger })
//   const r = await log.append({ type: 'update_accepted', round, model, site, ... })
//       // r = { seq, hash, entries: [{ seq, hash }], head }: fsync'ed (record, then signed head)
//       // before the promise resolves; acknowledge the action only after that.
//   await log.append([rec1, rec2])                    // one batch, one signed tree head
//   log.treeHead()                                     // latest SignedTreeHead (null when empty)
//   log.consistencyProof(oldSize)                      // for a site's co-signing step
//   await log.addCosignature(site, head, signature)    // verified, then stored in heads.jsonl
//   await log.close()
// StudyLog implements the round engine's StudyRecorder (append → { seq, hash }).
//
// Directory layout:
//   DIR/log.jsonl          records, canonical JSON, one per line (line i = seq i = Merkle leaf i)
//   DIR/heads.jsonl        signed tree heads ({kind:"sth"}) and site co-signatures ({kind:"cosignature"})
//   DIR/coordinator.pub    the coordinator's Ed25519 public key (SPKI PEM)
//   DIR/torn/              bytes of torn last lines found on reopen after a crash (never deleted)
//   DIR/.lock              pid of the process appending (one writer at a time)
//
// Records get `seq` and `time` from the log; the caller supplies `type` and the type's fields
// (see records.ts); a record that does not match its schema is refused with the field named.
// On reopen after a crash, a torn last line is quarantined to DIR/torn/, records after the last
// signed head are kept, and a `log_recovered` record states both before the new head is signed.
// The existing log must verify against the key, otherwise open() refuses to append to it.
import { createHash, type KeyObject } from 'node:crypto';
import { mkdir, open as openFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import { AppendOnlyFile } from './append-file.js';
import { canonicalJson } from '../util/canonical-json.js';
import { MerkleTree, leafHash } from './merkle.js';
import { parsePublicKey, publicKeyPem } from './keys.js';
import { recordProblem, type AuditRecord, type RecordInput } from './records.js';
import { checkCosignature, headOf, signTreeHead, type Cosignature, type SignedTreeHead, type TreeHead } from './tree-head.js';
import { verifyStudyLog } from './verifier.js';
import { AuditReplicator, type ReplicationStatus } from './nats-replicator.js';
import { assertStudyId } from '../events/subjects.js';
import type { ConsistencyProof, InclusionProof } from './proofs.js';
import { fsyncDir } from '../tensor/file.js';
import { FlError } from '../errors/index.js';

export const LOG_FILE = 'log.jsonl';
export const HEADS_FILE = 'heads.jsonl';
export const PUBKEY_FILE = 'coordinator.pub';
const LOCK_FILE = '.lock';

export interface StudyLogOptions {
  readonly signingKey: KeyObject;
  readonly studyId: string;
  /** Replicate to NATS JetStream (subject fl.<study>.audit); appends never wait for NATS. */
  readonly nats?: { readonly url: string; readonly maxRetryMs?: number };
  readonly logger?: Logger;
  /** Clock (unix ms), for tests. */
  readonly now?: () => number;
}

export interface AppendResult {
  /** Seq and leaf hash of the last record of the batch (a single record: that record). */
  readonly seq: number;
  readonly hash: string;
  readonly entries: readonly { seq: number; hash: string }[];
  /** The signed tree head covering the batch. */
  readonly head: SignedTreeHead;
}

export class AuditLogError extends FlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('audit.log', message, options);
  }
}

export class StudyLog {
  private readonly tree = new MerkleTree();
  private readonly recordLines: string[] = [];
  private readonly recordHashes: string[] = [];
  private readonly headLines: string[] = [];
  private readonly records: AuditRecord[] = [];
  private head: SignedTreeHead | null = null;
  private lastTime = '';
  private queue: Promise<unknown> = Promise.resolve();
  private broken: Error | null = null;
  private closed = false;
  private replicator: AuditReplicator | null = null;
  private readonly cosigned = new Set<string>();

  private constructor(
    readonly dir: string,
    private readonly opts: StudyLogOptions,
    private readonly logFile: AppendOnlyFile,
    private readonly headsFile: AppendOnlyFile,
  ) {}

  static async open(dir: string, opts: StudyLogOptions): Promise<StudyLog> {
    assertStudyId(opts.studyId);
    if (opts.signingKey.type !== 'private' || opts.signingKey.asymmetricKeyType !== 'ed25519') {
      throw new AuditLogError('the study log signing key must be an Ed25519 private key');
    }
    await mkdir(dir, { recursive: true });
    await takeLock(dir);
    try {
      const pem = publicKeyPem(opts.signingKey);
      const pubPath = join(dir, PUBKEY_FILE);
      let existingPem: string | null = null;
      try {
        existingPem = await readFile(pubPath, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (existingPem === null) {
        await writeFile(pubPath, pem, { mode: 0o644, flush: true });
        await fsyncDir(dir);
      } else if (parsePublicKey(existingPem, pubPath).export({ type: 'spki', format: 'der' }).toString('base64')
        !== parsePublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64')) {
        throw new AuditLogError(`${pubPath}: the signing key does not match the log's public key`);
      }
      const logOpen = await AppendOnlyFile.open(join(dir, LOG_FILE));
      const headsOpen = await AppendOnlyFile.open(join(dir, HEADS_FILE));
      const log = new StudyLog(dir, opts, logOpen.file, headsOpen.file);
      try {
        const report = verifyStudyLog({ log: logOpen.content, heads: headsOpen.content, publicKey: parsePublicKey(pem) });
        if (report.failure) {
          const f = report.failure;
          throw new AuditLogError(`${join(dir, f.file)} line ${f.line}${f.seq !== undefined ? ` (seq ${f.seq})` : ''}: ${f.message}; refusing to append to a log that does not verify`);
        }
        if (report.study !== null && report.study !== opts.studyId) {
          throw new AuditLogError(`${dir}: the log belongs to study "${report.study}", not "${opts.studyId}"`);
        }
        const text = logOpen.content.toString('utf8');
        for (const line of text.split('\n').slice(0, report.records)) log.recordLines.push(line);
        for (const [i, rec] of report.parsed.entries()) {
          log.records.push(rec);
          log.recordHashes.push(report.leafHashes[i]!);
          log.tree.append(report.tree.leaf(i));
          log.lastTime = rec.time;
        }
        for (const line of headsOpen.content.toString('utf8').split('\n').filter((l) => l.length > 0)) {
          log.headLines.push(line);
          const h = JSON.parse(line) as SignedTreeHead | Cosignature;
          if (h.kind === 'cosignature') log.cosigned.add(`${h.site}/${h.tree_size}/${h.root_hash}`);
        }
        log.head = report.latestHead;
        const unsigned = report.records - report.signedSize;
        if (logOpen.torn || headsOpen.torn) {
          opts.logger?.warn({ log: logOpen.torn, heads: headsOpen.torn }, 'study log: torn last line quarantined after a crash');
        }
        if (opts.nats) {
          log.replicator = new AuditReplicator({
            url: opts.nats.url, study: opts.studyId, logger: opts.logger,
            source: { recordLines: log.recordLines, recordHashes: log.recordHashes, headLines: log.headLines },
            ...(opts.nats.maxRetryMs !== undefined ? { maxRetryMs: opts.nats.maxRetryMs } : {}),
          });
        }
        if (logOpen.torn || unsigned > 0) {
          await log.append({
            type: 'log_recovered', torn_bytes: logOpen.torn?.bytes ?? 0,
            ...(logOpen.torn ? { torn_sha256: logOpen.torn.sha256, quarantined_to: logOpen.torn.quarantinedTo } : {}),
            unsigned_records: unsigned,
          });
        }
        return log;
      } catch (err) {
        await log.close();
        throw err;
      }
    } catch (err) {
      await releaseLock(dir);
      throw err;
    }
  }

  get studyId(): string {
    return this.opts.studyId;
  }

  /** Number of records. */
  get size(): number {
    return this.recordLines.length;
  }

  /** The latest signed tree head (null before the first append). */
  treeHead(): SignedTreeHead | null {
    return this.head;
  }

  /** The records so far (parsed), index = seq. */
  entries(): readonly AuditRecord[] {
    return this.records;
  }

  /**
   * Appends one record or a batch: fsync'ed, then a new tree head signed and fsync'ed.
   *
   * Group commit: appends that arrive while the log is writing are written together by the next
   * write (one write and fsync of the records, one signed head, one fsync of the heads), so the
   * cost per round does not grow with the number of sites whose updates arrive at once. Each
   * caller's records stay contiguous and in call order, each caller's promise still resolves only
   * once its records and a head covering them are durable, and a caller whose records are invalid
   * is refused alone.
   */
  append(input: RecordInput | readonly RecordInput[]): Promise<AppendResult> {
    const batch = Array.isArray(input) ? input : [input as RecordInput];
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ batch, resolve, reject });
      if (this.pending.length === 1) {
        const run = this.queue.then(() => this.writePending());
        this.queue = run.catch(() => undefined);
      }
    });
  }

  private readonly pending: { batch: readonly RecordInput[]; resolve: (r: AppendResult) => void; reject: (e: unknown) => void }[] = [];

  /** Writes every append waiting so far as one group (see append). */
  private async writePending(): Promise<void> {
    const group = this.pending.splice(0, this.pending.length);
    const now = this.opts.now ?? Date.now;
    let t = new Date(now()).toISOString();
    if (t < this.lastTime) t = this.lastTime; // the clock went back: keep time non-decreasing
    const lines: string[] = [];
    const recs: AuditRecord[] = [];
    const taken: { caller: (typeof group)[number]; from: number; to: number }[] = [];
    for (const caller of group) {
      try {
        const prepared = this.prepare(caller.batch, this.size + lines.length, t);
        taken.push({ caller, from: lines.length, to: lines.length + prepared.lines.length });
        lines.push(...prepared.lines);
        recs.push(...prepared.recs);
      } catch (err) {
        caller.reject(err);
      }
    }
    if (taken.length === 0) return;
    try {
      await this.writeRecords(lines, recs, t, now);
    } catch (err) {
      for (const x of taken) x.caller.reject(err);
      return;
    }
    const head = this.head!;
    for (const x of taken) {
      const entries = recs.slice(x.from, x.to).map((r) => ({ seq: r.seq, hash: this.recordHashes[r.seq]! }));
      const last = entries[entries.length - 1]!;
      x.caller.resolve({ seq: last.seq, hash: last.hash, entries, head });
    }
  }

  /** Checks a caller's records and gives them their seq (from `firstSeq`) and time. */
  private prepare(batch: readonly RecordInput[], firstSeq: number, t: string): { lines: string[]; recs: AuditRecord[] } {
    if (this.closed) throw new AuditLogError('study log is closed');
    if (this.broken) throw new AuditLogError(`study log is unusable after a write error: ${this.broken.message}`);
    if (batch.length === 0) throw new AuditLogError('append: empty batch');
    const lines: string[] = [];
    const recs: AuditRecord[] = [];
    for (const [i, r] of batch.entries()) {
      if (typeof r !== 'object' || r === null || typeof r.type !== 'string') throw new AuditLogError(`append: record ${i} has no type`);
      if ('seq' in r || 'time' in r) throw new AuditLogError(`append: record ${i} (${r.type}) sets seq/time, which the log assigns`);
      const rec = { ...r, seq: firstSeq + i, time: t };
      let line: string;
      try {
        line = canonicalJson(rec);
      } catch (err) {
        throw new AuditLogError(`append: record ${i} (${r.type}): ${(err as Error).message}`);
      }
      const parsed = JSON.parse(line) as unknown;
      const problem = recordProblem(parsed);
      if (problem) throw new AuditLogError(`append: record ${i} (${r.type}) is invalid: ${problem}`);
      lines.push(line);
      recs.push(parsed as AuditRecord);
    }
    return { lines, recs };
  }

  /** One write + fsync of the records, then one signed head written and fsync'ed. */
  private async writeRecords(lines: readonly string[], recs: readonly AuditRecord[], t: string, now: () => number): Promise<void> {
    try {
      await this.logFile.appendLines(lines);
    } catch (err) {
      this.broken = err as Error;
      throw err;
    }
    lines.forEach((line, i) => {
      const h = leafHash(line);
      this.tree.append(h);
      this.recordLines.push(line);
      this.recordHashes.push(h.toString('hex'));
      this.records.push(recs[i]!);
    });
    this.lastTime = t;
    const head = signTreeHead(this.opts.signingKey, {
      study: this.opts.studyId, tree_size: this.tree.size, root_hash: this.tree.root().toString('hex'),
      timestamp: Math.max(now(), Date.parse(t), this.head?.timestamp ?? 0),
    });
    await this.appendHeadLine(canonicalJson(head));
    this.head = head;
    this.replicator?.notify();
  }

  private async appendHeadLine(line: string): Promise<void> {
    try {
      await this.headsFile.appendLines([line]);
    } catch (err) {
      this.broken = err as Error;
      throw err;
    }
    this.headLines.push(line);
  }

  /** Inclusion proof of record `seq` in the tree of the first `treeSize` records (default: all). */
  inclusionProof(seq: number, treeSize = this.size): InclusionProof {
    return {
      leaf_index: seq, tree_size: treeSize, leaf_hash: this.tree.leaf(seq).toString('hex'),
      root_hash: this.tree.root(treeSize).toString('hex'),
      audit_path: this.tree.inclusionProof(seq, treeSize).map((h) => h.toString('hex')),
    };
  }

  /** The record line of `seq`, the latest signed tree head and the inclusion proof of the record in it. */
  proveRecord(seq: number): { record: string; head: SignedTreeHead; proof: InclusionProof } | null {
    const head = this.head;
    if (!head || seq >= head.tree_size) return null;
    return { record: this.recordLines[seq]!, head, proof: this.inclusionProof(seq, head.tree_size) };
  }

  /** Consistency proof from the tree of `fromSize` records to that of `toSize` (default: all). */
  consistencyProof(fromSize: number, toSize = this.size): ConsistencyProof {
    return {
      first_size: fromSize, second_size: toSize,
      first_root: this.tree.root(fromSize).toString('hex'), second_root: this.tree.root(toSize).toString('hex'),
      path: this.tree.consistencyProof(fromSize, toSize).map((h) => h.toString('hex')),
    };
  }

  /**
   * Stores a site's co-signature over a tree head of this log (as produced by `SiteCosigner`).
   * The site must have announced its public key in a site_joined record; the signature and the
   * head's root are checked before the co-signature is written (fsync'ed) to heads.jsonl.
   */
  addCosignature(site: string, head: TreeHead, signature: string): Promise<Cosignature> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new AuditLogError('study log is closed');
      const joined = [...this.records].reverse().find((r) => r.type === 'site_joined' && r.site === site);
      const keyB64 = joined?.type === 'site_joined' ? joined.public_key : undefined;
      if (!keyB64) throw new AuditLogError(`co-signature from site "${site}": no site_joined record with its public key`);
      const h = headOf(head);
      if (h.study !== this.opts.studyId) throw new AuditLogError(`co-signature from site "${site}" is for study "${h.study}"`);
      if (h.tree_size > this.size || h.tree_size < 1) throw new AuditLogError(`co-signature from site "${site}" covers ${h.tree_size} records; the log has ${this.size}`);
      if (this.tree.root(h.tree_size).toString('hex') !== h.root_hash) {
        throw new AuditLogError(`co-signature from site "${site}" is for a root this log never had at size ${h.tree_size}`);
      }
      const pub = parsePublicKey(keyB64, `public key of site "${site}"`);
      const cosig: Cosignature = { kind: 'cosignature', ...h, site, key_id: createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex'), signature };
      const problem = checkCosignature(pub, cosig);
      if (problem) throw new AuditLogError(problem);
      const key = `${site}/${h.tree_size}/${h.root_hash}`;
      if (this.cosigned.has(key)) return cosig;
      await this.appendHeadLine(canonicalJson(cosig));
      this.cosigned.add(key);
      this.replicator?.notify();
      return cosig;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** NATS replication state (null without NATS). */
  replication(): ReplicationStatus | null {
    return this.replicator?.status() ?? null;
  }

  /** Waits until the NATS stream has everything appended so far; false on timeout or without NATS. */
  async flushReplication(timeoutMs = 10_000): Promise<boolean> {
    return (await this.replicator?.flush(timeoutMs)) ?? false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    await this.replicator?.close();
    await this.logFile.close();
    await this.headsFile.close();
    await releaseLock(this.dir);
  }
}

async function takeLock(dir: string): Promise<void> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await openFile(path, 'wx', 0o644);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new AuditLogError(`${dir}: the study log is open in process ${pid} (${path})`);
      }
      if (pid === process.pid) throw new AuditLogError(`${dir}: the study log is already open in this process`);
      await rm(path, { force: true }); // stale lock of a crashed process
    }
  }
  throw new AuditLogError(`${dir}: cannot take the log lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function releaseLock(dir: string): Promise<void> {
  await rm(join(dir, LOCK_FILE), { force: true });
}
