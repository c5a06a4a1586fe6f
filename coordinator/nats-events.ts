// Publishes every StudyEvent of the in-process bus to NATS JetStream, as JSON on
// `fl.<study>.events.<type>` in the stream `FL_<study>_EVENTS` (file storage, bounded by age,
// bytes and message count; created or brought up to date on every (re)connection). Subjects and
// stream names are in shared/events/subjects.ts; connecting, retrying and catching up are the
// shared JetStream publisher's (shared/events/jetstream-publisher.ts). This file is the adapter.
//
// Publishing never blocks the bus: events go into a bounded outbox that the publisher drains in
// order, a window of publishes at a time. While NATS is unreachable the outbox keeps filling;
// when it is full the oldest event is dropped and counted (warned once per outage, then every
// DROP_WARN_EVERY drops). When NATS returns, the publisher catches up. Every event carries a
// Nats-Msg-Id unique to this publisher, so a publish retried after a lost acknowledgement is
// de-duplicated by the stream. Events are notifications for dashboards and monitoring; the
// durable, verifiable record of a study is its audit log.
import { randomBytes } from 'node:crypto';
import { nanos, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from 'nats';
import { FlError } from '../shared/errors/index.js';
import type { Logger } from '../shared/util/log.js';
import type { EventBus, StudyEvent } from '../shared/events/events.js';
import { BoundedOutbox, JetStreamPublisher, STREAM_NOT_FOUND, apiErrorCode } from '../shared/events/jetstream-publisher.js';
import { eventSubject, eventsStreamName, eventsSubjectFilter } from '../shared/events/subjects.js';

/** Limits of the events stream; the oldest messages are discarded beyond them. */
export interface EventStreamLimits {
  /** Default 30 days. */
  readonly maxAgeMs: number;
  /** Default 256 MiB. */
  readonly maxBytes: number;
  /** Default 1,000,000. */
  readonly maxMsgs: number;
  /** Largest single event; default 1 MiB. */
  readonly maxMsgSize: number;
  /** Window in which a re-published Nats-Msg-Id is de-duplicated; default 2 minutes. */
  readonly duplicateWindowMs: number;
}

export const DEFAULT_STREAM_LIMITS: EventStreamLimits = {
  maxAgeMs: 30 * 24 * 3600 * 1000,
  maxBytes: 256 * 1024 * 1024,
  maxMsgs: 1_000_000,
  maxMsgSize: 1024 * 1024,
  duplicateWindowMs: 2 * 60 * 1000,
};

/** The stream configuration this publisher maintains. */
export function eventsStreamConfig(study: string, limits: EventStreamLimits = DEFAULT_STREAM_LIMITS): Partial<StreamConfig> & { name: string } {
  return {
    name: eventsStreamName(study),
    subjects: [eventsSubjectFilter(study)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(limits.maxAgeMs),
    max_bytes: limits.maxBytes,
    max_msgs: limits.maxMsgs,
    max_msg_size: limits.maxMsgSize,
    duplicate_window: nanos(limits.duplicateWindowMs),
    num_replicas: 1,
  };
}

const MANAGED_KEYS = ['subjects', 'discard', 'max_age', 'max_bytes', 'max_msgs', 'max_msg_size', 'duplicate_window'] as const;

/**
 * Creates the stream, or updates the limits of an existing one that differ (idempotent).
 * Storage and retention cannot change on a live stream; a mismatch there is reported, not fixed.
 */
export async function ensureEventsStream(jsm: JetStreamManager, study: string, limits?: EventStreamLimits): Promise<'created' | 'updated' | 'unchanged'> {
  const want = eventsStreamConfig(study, limits);
  let have: StreamConfig;
  try {
    have = (await jsm.streams.info(want.name)).config;
  } catch (err) {
    if (apiErrorCode(err) !== STREAM_NOT_FOUND) throw err;
    await jsm.streams.add(want);
    return 'created';
  }
  if (have.storage !== want.storage || have.retention !== want.retention) {
    throw new FlError('nats.stream_mismatch', `NATS stream ${want.name} exists with storage=${have.storage} retention=${have.retention}; expected storage=${want.storage} retention=${want.retention} (delete or rename it)`);
  }
  const differs = MANAGED_KEYS.some((k) => JSON.stringify(have[k]) !== JSON.stringify(want[k]));
  if (!differs) return 'unchanged';
  const { name, storage: _s, retention: _r, num_replicas: _n, ...changes } = want;
  await jsm.streams.update(name, changes);
  return 'updated';
}

/** The JSON body of one event message. */
export type EventMessage = StudyEvent & { time: number; study: string; seq: number; publisher: string };

export interface NatsEventPublisherOptions {
  readonly url: string;
  readonly studyId: string;
  readonly events: EventBus;
  readonly log: Logger;
  /** Events held while NATS is unreachable (default 10,000); beyond it the oldest are dropped. */
  readonly bufferSize?: number;
  /** Per-request timeout (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Longest wait between connection attempts (default 2000 ms). */
  readonly maxRetryMs?: number;
  /** Publishes awaiting acknowledgement at once (default 64). */
  readonly window?: number;
  readonly limits?: Partial<EventStreamLimits>;
}

export interface NatsEventPublisherStatus {
  readonly connected: boolean;
  /** Events acknowledged by the stream. */
  readonly published: number;
  /** Events waiting in the buffer. */
  readonly pending: number;
  /** Events dropped because the buffer was full. */
  readonly dropped: number;
  readonly lastError: string | null;
}

export interface NatsEventPublisher {
  readonly stream: string;
  status(): NatsEventPublisherStatus;
  /** Resolves true once every event received so far is acknowledged, false on timeout. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Stops listening, tries to deliver what is buffered for up to `timeoutMs` (default 2000), disconnects. */
  close(timeoutMs?: number): Promise<void>;
}

const DROP_WARN_EVERY = 1000;

class NatsEventPublisherImpl implements NatsEventPublisher {
  readonly stream: string;
  private readonly outbox: BoundedOutbox;
  private readonly publisher: JetStreamPublisher;
  private readonly publisherId = randomBytes(6).toString('hex');
  private readonly limits: EventStreamLimits;
  private readonly unsubscribe: () => void;
  private seq = 0;
  private dropped = 0;
  private droppedInOutage = 0;
  private closing: Promise<void> | null = null;
  private readonly encoder = new TextEncoder();

  constructor(private readonly opts: NatsEventPublisherOptions) {
    this.stream = eventsStreamName(opts.studyId);
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...opts.limits };
    const bufferSize = opts.bufferSize ?? 10_000;
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new FlError('nats.buffer_size', `NATS event bufferSize must be a positive integer, got ${opts.bufferSize}`);
    }
    this.outbox = new BoundedOutbox(bufferSize);
    const log = opts.log;
    this.publisher = new JetStreamPublisher({
      url: opts.url, name: `fl-events-${opts.studyId}`, stream: this.stream, outbox: this.outbox,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.maxRetryMs !== undefined ? { maxRetryMs: opts.maxRetryMs } : {}),
      ...(opts.window !== undefined ? { window: opts.window } : {}),
      prepare: async (jsm) => {
        const how = await ensureEventsStream(jsm, opts.studyId, this.limits);
        if (how !== 'unchanged') log.info({ stream: this.stream }, `NATS events stream ${how}`);
      },
      onInterrupted: (err) => {
        log.warn({ url: this.publisher.server, err, pending: this.outbox.length }, 'NATS event publishing interrupted; buffering events and retrying');
      },
      onPublished: (resumed) => {
        if (resumed) {
          log.info({ url: this.publisher.server, published: this.publisher.status().published, dropped: this.dropped }, 'NATS event publishing resumed; buffered events delivered');
        }
        this.droppedInOutage = 0;
      },
    });
    this.unsubscribe = opts.events.subscribe((e) => this.enqueue(e));
  }

  status(): NatsEventPublisherStatus {
    const s = this.publisher.status();
    return { connected: s.connected, published: s.published, pending: s.pending, dropped: this.dropped, lastError: s.lastError };
  }

  flush(timeoutMs: number): Promise<boolean> {
    return this.publisher.flush(timeoutMs);
  }

  close(timeoutMs = 2000): Promise<void> {
    this.closing ??= (async () => {
      this.unsubscribe();
      const delivered = await this.publisher.close(timeoutMs);
      if (!delivered && this.outbox.length > 0) {
        this.opts.log.warn({ url: this.publisher.server, undelivered: this.outbox.length, lastError: this.publisher.status().lastError },
          'NATS event publisher closed with undelivered events');
      }
    })();
    return this.closing;
  }

  private enqueue(e: StudyEvent & { time: number }): void {
    if (this.closing) return;
    const seq = ++this.seq;
    const msg: EventMessage = { ...e, study: this.opts.studyId, seq, publisher: this.publisherId };
    const data = this.encoder.encode(JSON.stringify(msg));
    if (data.length > this.limits.maxMsgSize) {
      // The stream would refuse it forever; dropping it keeps the outbox moving.
      this.dropped++;
      this.opts.log.warn({ type: e.type, bytes: data.length, maxMsgSize: this.limits.maxMsgSize }, 'study event larger than the NATS stream allows: not published');
      return;
    }
    const lost = this.outbox.push({ subject: eventSubject(this.opts.studyId, e.type), data, msgID: `${this.publisherId}-${seq}` });
    if (lost) {
      this.dropped++;
      this.droppedInOutage++;
      if (this.droppedInOutage === 1 || this.droppedInOutage % DROP_WARN_EVERY === 0) {
        this.opts.log.warn({ url: this.publisher.server, dropped: this.dropped, buffer: this.outbox.capacity, lastError: this.publisher.status().lastError },
          'NATS event buffer full: dropping the oldest events');
      }
    }
    this.publisher.notify();
  }
}

/** Starts publishing the bus's events to NATS JetStream; returns at once (connection is in the background). */
export function startNatsEventPublisher(opts: NatsEventPublisherOptions): NatsEventPublisher {
  return new NatsEventPublisherImpl(opts);
}
