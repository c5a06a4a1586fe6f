// Replicates a study log to NATS JetStream in the background, in order, exactly once per record.
//
// The replicator never blocks or fails an append: appends only wake it. It keeps a cursor per
// subject; after connecting (and after any error) it re-reads the cursor from the stream itself
// (the Fl-Seq header of the last record message, the count of head messages), checks that the
// stream's last record is identical to the local one, and publishes what is missing, one message
// at a time, through the shared JetStream publisher (shared/events/jetstream-publisher.ts), which
// connects, retries with backoff while NATS is unreachable and catches the stream up when it returns.
import type { JetStreamManager } from 'nats';
import type { Logger } from '../util/log.js';
import {
  JetStreamPublisher, NO_MESSAGE_FOUND, PublishingStopped, apiErrorCode, type OutgoingMessage, type Outbox,
} from '../events/jetstream-publisher.js';
import { auditStreamName, auditSubject, headsSubject } from '../events/subjects.js';
import { SEQ_HEADER, ensureAuditStream, headMsgId } from './nats-stream.js';

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

/**
 * The log as an outbox: records from the record cursor, then (once every record is in the stream,
 * so a follower never sees a head for records it lacks) heads from the head cursor.
 */
class LogOutbox implements Outbox {
  recordCursor = 0;
  headCursor = 0;
  private readonly encoder = new TextEncoder();
  private readonly recordSubject: string;
  private readonly headSubject: string;
  constructor(private readonly src: ReplicationSource, study: string) {
    this.recordSubject = auditSubject(study);
    this.headSubject = headsSubject(study);
  }
  get pendingRecords(): number {
    return this.src.recordLines.length - this.recordCursor;
  }
  get pendingHeads(): number {
    return this.src.headLines.length - this.headCursor;
  }
  get length(): number {
    return this.pendingRecords + this.pendingHeads;
  }
  peek(n: number): readonly OutgoingMessage[] {
    const out: OutgoingMessage[] = [];
    for (let seq = this.recordCursor; seq < this.src.recordLines.length && out.length < n; seq++) {
      out.push({ subject: this.recordSubject, data: this.encoder.encode(this.src.recordLines[seq]!), msgID: this.src.recordHashes[seq]!, headers: { [SEQ_HEADER]: String(seq) } });
    }
    if (out.length === this.pendingRecords) {
      for (let i = this.headCursor; i < this.src.headLines.length && out.length < n; i++) {
        const line = this.src.headLines[i]!;
        out.push({ subject: this.headSubject, data: this.encoder.encode(line), msgID: headMsgId(line), headers: { [SEQ_HEADER]: String(i) } });
      }
    }
    return out;
  }
  acknowledge(msg: OutgoingMessage): void {
    const at = msg.headers?.[SEQ_HEADER];
    if (msg.subject === this.recordSubject && at === String(this.recordCursor)) this.recordCursor++;
    else if (msg.subject === this.headSubject && at === String(this.headCursor)) this.headCursor++;
  }
}

export class AuditReplicator {
  private readonly outbox: LogOutbox;
  private readonly publisher: JetStreamPublisher;
  private diverged: string | null = null;

  constructor(private readonly opts: ReplicatorOptions) {
    const log = opts.logger;
    this.outbox = new LogOutbox(opts.source, opts.study);
    this.publisher = new JetStreamPublisher({
      url: opts.url, name: `fl-audit-${opts.study}`, stream: auditStreamName(opts.study), outbox: this.outbox,
      // One at a time: the cursor read back from the stream is its last record, so a gap must never exist.
      window: 1, flushAwaitsStream: true,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.maxRetryMs !== undefined ? { maxRetryMs: opts.maxRetryMs } : {}),
      prepare: (jsm) => this.resync(jsm),
      onInterrupted: (err) => log?.warn({ url: this.publisher.server, err }, 'audit log replication to NATS interrupted; appends continue, will catch up'),
      onPublished: (resumed) => {
        if (resumed) log?.info({ url: this.publisher.server, records: this.outbox.recordCursor }, 'audit log replication to NATS resumed and caught up');
      },
    });
  }

  /** Call after each append. */
  notify(): void {
    this.publisher.notify();
  }

  status(): ReplicationStatus {
    const s = this.publisher.status();
    return {
      connected: s.connected,
      records: this.outbox.recordCursor, heads: this.outbox.headCursor,
      pendingRecords: this.outbox.pendingRecords, pendingHeads: this.outbox.pendingHeads,
      lastError: s.lastError, diverged: this.diverged,
    };
  }

  /** Resolves true once everything appended so far is in the stream, false on timeout. */
  flush(timeoutMs: number): Promise<boolean> {
    return this.publisher.flush(timeoutMs);
  }

  /** Stops at once (what is not replicated yet is caught up by the next replicator) and disconnects. */
  async close(): Promise<void> {
    await this.publisher.close(0);
  }

  /** Re-reads both cursors from the stream and checks it holds our history. */
  private async resync(jsm: JetStreamManager): Promise<void> {
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
        this.stop(`stream ${stream} holds record ${last.header?.get(SEQ_HEADER)} that the local log ${seq >= src.recordLines.length ? 'does not have' : 'has differently'}`);
      }
      this.outbox.recordCursor = seq + 1;
    } else {
      this.outbox.recordCursor = 0;
    }
    const info = await jsm.streams.info(stream, { subjects_filter: headsSubject(study) });
    const heads = Number(info.state.subjects?.[headsSubject(study)] ?? 0);
    if (heads > src.headLines.length) {
      this.stop(`stream ${stream} holds ${heads} head messages, the local log ${src.headLines.length}`);
    }
    this.outbox.headCursor = heads;
  }

  private stop(reason: string): never {
    this.diverged = reason;
    this.opts.logger?.error({ study: this.opts.study, reason }, 'audit stream on NATS diverges from the local log; replication stopped');
    throw new PublishingStopped(reason);
  }
}
