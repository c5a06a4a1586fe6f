// Replicates a study log to NATS JetStream in the background, in order, exactly once per record.
//
// The replicator never blocks or fails an append: appends only wake it. It keeps a cursor per
// subject; after connecting (and after any error) it re-reads the cursor from the stream itself
// (the Fl-Seq header of the last record message, the count of head messages), checks that the
// stream's last record is identical to the local one, and publishes what is missing. While NATS
// is unreachable it retries with backoff; when NATS returns it catches the stream up.
import { natsServerOptions } from './nats-url.js';
import { connect, headers, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import type { Logger } from '../util/log.js';
import {
  NO_MESSAGE_FOUND, SEQ_HEADER, apiErrorCode, auditStreamName, auditSubject, ensureAuditStream, headMsgId, headsSubject,
} from './nats-stream.js';

export interface ReplicationSource {
  /** Record lines (canonical JSON, no newline), index = seq. */
  readonly recordLines: readonly string[];
  /** Leaf hashes (hex), index = seq. */
  readonly recordHashes: readonly string[];
  /** heads.jsonl lines. */
  readonly headLines: readonly string[];
}

export interface ReplicatorOptions {
  readonly url: string;
  readonly study: string;
  readonly source: ReplicationSource;
  readonly logger?: Logger;
  /** Per-request timeout (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Longest wait between retries while NATS is unreachable (default 2000 ms). */
  readonly maxRetryMs?: number;
}

export interface ReplicationStatus {
  readonly connected: boolean;
  /** Records known to be in the stream. */
  readonly records: number;
  readonly heads: number;
  readonly pendingRecords: number;
  readonly pendingHeads: number;
  readonly lastError: string | null;
  /** Set when the stream holds a different history: replication stops. */
  readonly diverged: string | null;
}

export class AuditReplicator {
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private recordCursor = 0;
  private headCursor = 0;
  private synced = false;
  private closed = false;
  private wake: (() => void) | null = null;
  private lastError: string | null = null;
  private diverged: string | null = null;
  private readonly loop: Promise<void>;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly opts: ReplicatorOptions) {
    this.loop = this.run();
  }

  /** Call after each append. */
  notify(): void {
    this.wake?.();
  }

  status(): ReplicationStatus {
    const src = this.opts.source;
    return {
      connected: this.nc !== null && !this.nc.isClosed() && this.synced,
      records: this.recordCursor, heads: this.headCursor,
      pendingRecords: src.recordLines.length - this.recordCursor, pendingHeads: src.headLines.length - this.headCursor,
      lastError: this.lastError, diverged: this.diverged,
    };
  }

  /** Resolves true once everything appended so far is in the stream, false on timeout. */
  async flush(timeoutMs: number): Promise<boolean> {
    const caughtUp = () => this.recordCursor >= this.opts.source.recordLines.length && this.headCursor >= this.opts.source.headLines.length && this.synced;
    const deadline = Date.now() + timeoutMs;
    while (!caughtUp()) {
      if (this.diverged || this.closed) return false;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(left, 200));
        function done() { clearTimeout(t); resolve(); }
        this.waiters.add(done);
      });
    }
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loop;
    const nc = this.nc;
    this.nc = null;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  private get timeout(): number {
    return this.opts.timeoutMs ?? 2000;
  }

  private async run(): Promise<void> {
    const log = this.opts.logger;
    let backoff = 100;
    while (!this.closed && !this.diverged) {
      try {
        await this.connectIfNeeded();
        if (!this.synced) await this.resync();
        await this.publishPending();
        if (this.lastError !== null) log?.info({ url: this.opts.url, records: this.recordCursor }, 'audit log replication to NATS resumed and caught up');
        this.lastError = null;
        backoff = 100;
        for (const w of this.waiters) w();
        this.waiters.clear();
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.closed || this.opts.source.recordLines.length > this.recordCursor || this.opts.source.headLines.length > this.headCursor) resolve();
        });
        this.wake = null;
      } catch (err) {
        const msg = (err as Error).message;
        if (this.lastError === null) log?.warn({ url: this.opts.url, err: msg }, 'audit log replication to NATS interrupted; appends continue, will catch up');
        this.lastError = msg;
        this.synced = false;
        if (this.nc?.isClosed()) this.nc = null;
        if (this.closed) break;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff);
          this.wake = () => { clearTimeout(t); resolve(); };
        });
        this.wake = null;
        backoff = Math.min(backoff * 2, this.opts.maxRetryMs ?? 2000);
      }
    }
    if (this.diverged) log?.error({ study: this.opts.study, reason: this.diverged }, 'audit stream on NATS diverges from the local log; replication stopped');
  }

  private async connectIfNeeded(): Promise<void> {
    if (this.nc && !this.nc.isClosed()) return;
    this.nc = await connect({
      ...natsServerOptions(this.opts.url), reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250,
      timeout: this.timeout, name: `fl-audit-${this.opts.study}`,
    });
    this.jsm = await this.nc.jetstreamManager({ timeout: this.timeout });
    this.js = this.nc.jetstream({ timeout: this.timeout });
    this.synced = false;
  }

  /** Re-reads both cursors from the stream and checks it holds our history. */
  private async resync(): Promise<void> {
    const jsm = this.jsm!;
    const study = this.opts.study;
    await ensureAuditStream(jsm, study);
    const stream = auditStreamName(study);
    const src = this.opts.source;
    let last;
    try {
      last = await jsm.streams.getMessage(stream, { last_by_subj: auditSubject(study) });
    } catch (err) {
      if (apiErrorCode(err) !== NO_MESSAGE_FOUND) throw err;
      last = null;
    }
    if (last) {
      const seq = Number(last.header?.get(SEQ_HEADER));
      const line = new TextDecoder().decode(last.data);
      if (!Number.isInteger(seq) || seq >= src.recordLines.length || src.recordLines[seq] !== line) {
        this.diverged = `stream ${stream} holds record ${last.header?.get(SEQ_HEADER)} that the local log ${seq >= src.recordLines.length ? 'does not have' : 'has differently'}`;
        throw new Error(this.diverged);
      }
      this.recordCursor = seq + 1;
    } else {
      this.recordCursor = 0;
    }
    const info = await jsm.streams.info(stream, { subjects_filter: headsSubject(study) });
    const heads = Number(info.state.subjects?.[headsSubject(study)] ?? 0);
    if (heads > src.headLines.length) {
      this.diverged = `stream ${stream} holds ${heads} head messages, the local log ${src.headLines.length}`;
      throw new Error(this.diverged);
    }
    this.headCursor = heads;
    this.synced = true;
  }

  private async publishPending(): Promise<void> {
    const js = this.js!;
    const src = this.opts.source;
    const study = this.opts.study;
    // Records before heads, so a follower never sees a head for records it lacks.
    while (this.recordCursor < src.recordLines.length && !this.closed) {
      const seq = this.recordCursor;
      const h = headers();
      h.set(SEQ_HEADER, String(seq));
      await js.publish(auditSubject(study), new TextEncoder().encode(src.recordLines[seq]!), { msgID: src.recordHashes[seq]!, headers: h, timeout: this.timeout });
      this.recordCursor = seq + 1;
    }
    while (this.headCursor < src.headLines.length && this.recordCursor >= src.recordLines.length && !this.closed) {
      const i = this.headCursor;
      const line = src.headLines[i]!;
      const h = headers();
      h.set(SEQ_HEADER, String(i));
      await js.publish(headsSubject(study), new TextEncoder().encode(line), { msgID: headMsgId(line), headers: h, timeout: this.timeout });
      this.headCursor = i + 1;
    }
  }
}
