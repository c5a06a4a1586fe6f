// Publishes every StudyEvent of the in-process bus to NATS JetStream, as JSON on
// `fl.<study>.events.<type>` in the stream `FL_<study>_EVENTS` (file storage, bounded by age,
// bytes and message count; created or brought up to date on every (re)connection).
//
// Publishing never blocks the bus: events go into a bounded in-memory queue that a background
// loop drains in order, a window of publishes at a time. While NATS is unreachable the queue
// keeps filling; when it is full the oldest event is dropped and counted (warned once per
// outage, then every DROP_WARN_EVERY drops). When NATS returns, the loop catches up. Every
// event carries a Nats-Msg-Id unique to this publisher, so a publish retried after a lost
// acknowledgement is de-duplicated by the stream. Events are notifications for dashboards and
// monitoring; the durable, verifiable record of a study is its audit log.
import { natsServerOptions } from '../shared/audit/nats-url.js';
import { randomBytes } from 'node:crypto';
import {
  connect, nanos, Events, DiscardPolicy, RetentionPolicy, StorageType,
  type JetStreamClient, type JetStreamManager, type NatsConnection, type StreamConfig,
} from 'nats';
import type { Logger } from '../shared/util/log.js';
import { STREAM_NOT_FOUND, apiErrorCode, studyToken } from '../shared/audit/nats-stream.js';
import type { EventBus, StudyEvent } from './events.js';

/** Subject of one event type: `fl.<study>.events.<type>` ("." in the study id becomes "_"). */
export function eventSubject(study: string, type: StudyEvent['type']): string {
  return `${eventsSubjectPrefix(study)}.${type}`;
}

/** All event subjects of a study: `fl.<study>.events.>`. */
export function eventsSubjectFilter(study: string): string {
  return `${eventsSubjectPrefix(study)}.>`;
}

function eventsSubjectPrefix(study: string): string {
  return `fl.${studyToken(study)}.events`;
}

/** `FL_<study>_EVENTS`, with "." and "-" mapped to "_". */
export function eventsStreamName(study: string): string {
  return `FL_${studyToken(study).replace(/-/g, '_')}_EVENTS`;
}

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
    throw new Error(`NATS stream ${want.name} exists with storage=${have.storage} retention=${have.retention}; expected storage=${want.storage} retention=${want.retention} (delete or rename it)`);
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

/** A FIFO with O(1) push and shift (array + head index, compacted now and then). */
class Queue<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  peek(n: number): T[] {
    return this.items.slice(this.head, this.head + n);
  }
}

interface Pending {
  readonly id: string;
  readonly subject: string;
  readonly body: Uint8Array;
}

class NatsEventPublisherImpl implements NatsEventPublisher {
  readonly stream: string;
  private readonly queue = new Queue<Pending>();
  private readonly publisherId = randomBytes(6).toString('hex');
  private readonly limits: EventStreamLimits;
  private readonly bufferSize: number;
  private readonly unsubscribe: () => void;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private streamReady = false;
  /** False while the client is disconnected and reconnecting (publishes would pile up in its buffer). */
  private online = false;
  private seq = 0;
  private published = 0;
  private dropped = 0;
  private droppedInOutage = 0;
  private lastError: string | null = null;
  private closing = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly loop: Promise<void>;
  private readonly encoder = new TextEncoder();

  constructor(private readonly opts: NatsEventPublisherOptions) {
    this.stream = eventsStreamName(opts.studyId);
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...opts.limits };
    this.bufferSize = opts.bufferSize ?? 10_000;
    if (!Number.isInteger(this.bufferSize) || this.bufferSize < 1) throw new Error(`bufferSize must be a positive integer, got ${opts.bufferSize}`);
    this.unsubscribe = opts.events.subscribe((e) => this.enqueue(e));
    this.loop = this.run();
  }

  status(): NatsEventPublisherStatus {
    return {
      connected: this.nc !== null && !this.nc.isClosed() && this.online && this.streamReady && this.lastError === null,
      published: this.published, pending: this.queue.length, dropped: this.dropped, lastError: this.lastError,
    };
  }

  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0) {
      if (this.stopped) return false;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, Math.min(left, 200));
        this.waiters.add(done);
      });
    }
    return true;
  }

  async close(timeoutMs = 2000): Promise<void> {
    if (this.closing) return this.loop;
    this.closing = true;
    this.unsubscribe();
    const delivered = await this.flush(timeoutMs);
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (!delivered && this.queue.length > 0) {
      this.opts.log.warn({ url: this.opts.url, undelivered: this.queue.length, lastError: this.lastError }, 'NATS event publisher closed with undelivered events');
    }
    const nc = this.nc;
    this.nc = null;
    if (nc && !nc.isClosed()) {
      // drain() waits for the server; when it is gone, close at once.
      const drained = await Promise.race([nc.drain().then(() => true, () => false), sleep(1000).then(() => false)]);
      if (!drained && !nc.isClosed()) await nc.close().catch(() => undefined);
    }
  }

  private enqueue(e: StudyEvent & { time: number }): void {
    if (this.closing) return;
    const seq = ++this.seq;
    const msg: EventMessage = { ...e, study: this.opts.studyId, seq, publisher: this.publisherId };
    const body = this.encoder.encode(JSON.stringify(msg));
    if (body.length > this.limits.maxMsgSize) {
      // The stream would refuse it forever; dropping it keeps the queue moving.
      this.dropped++;
      this.opts.log.warn({ type: e.type, bytes: body.length, maxMsgSize: this.limits.maxMsgSize }, 'study event larger than the NATS stream allows: not published');
      return;
    }
    this.queue.push({ id: `${this.publisherId}-${seq}`, subject: eventSubject(this.opts.studyId, e.type), body });
    if (this.queue.length > this.bufferSize) {
      this.queue.shift();
      this.dropped++;
      this.droppedInOutage++;
      if (this.droppedInOutage === 1 || this.droppedInOutage % DROP_WARN_EVERY === 0) {
        this.opts.log.warn({ url: this.opts.url, dropped: this.dropped, buffer: this.bufferSize, lastError: this.lastError },
          'NATS event buffer full: dropping the oldest events');
      }
    }
    this.wake?.();
  }

  private get timeout(): number {
    return this.opts.timeoutMs ?? 2000;
  }

  private async run(): Promise<void> {
    const log = this.opts.log;
    let backoff = 100;
    while (!this.stopped) {
      try {
        await this.connectIfNeeded();
        if (!this.online) throw new Error(`disconnected from NATS at ${this.opts.url}; reconnecting`);
        if (!this.streamReady) {
          const how = await ensureEventsStream(this.jsm!, this.opts.studyId, this.limits);
          if (how !== 'unchanged') log.info({ stream: this.stream }, `NATS events stream ${how}`);
          this.streamReady = true;
        }
        await this.publishPending();
        if (this.lastError !== null) {
          log.info({ url: this.opts.url, published: this.published, dropped: this.dropped }, 'NATS event publishing resumed; buffered events delivered');
        }
        this.lastError = null;
        this.droppedInOutage = 0;
        backoff = 100;
        this.notifyWaiters();
        if (this.stopped) break;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.stopped || this.queue.length > 0) resolve();
        });
        this.wake = null;
      } catch (err) {
        const msg = (err as Error).message;
        if (this.lastError === null) {
          log.warn({ url: this.opts.url, err: msg, pending: this.queue.length }, 'NATS event publishing interrupted; buffering events and retrying');
        }
        this.lastError = msg;
        this.streamReady = false;
        if (this.nc?.isClosed()) this.nc = null;
        this.notifyWaiters();
        if (this.stopped) break;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
          if (this.stopped) this.wake();
        });
        this.wake = null;
        backoff = Math.min(backoff * 2, this.opts.maxRetryMs ?? 2000);
      }
    }
  }

  private notifyWaiters(): void {
    for (const w of [...this.waiters]) w();
  }

  private async connectIfNeeded(): Promise<void> {
    if (this.nc && !this.nc.isClosed()) return;
    this.nc = await connect({
      ...natsServerOptions(this.opts.url), reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250,
      timeout: this.timeout, name: `fl-events-${this.opts.studyId}`,
    });
    this.online = true;
    this.streamReady = false;
    this.watchStatus(this.nc);
    this.jsm = await this.nc.jetstreamManager({ timeout: this.timeout });
    this.js = this.nc.jetstream({ timeout: this.timeout });
  }

  private watchStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const s of nc.status()) {
        if (nc !== this.nc) return;
        if (s.type === Events.Disconnect) {
          this.online = false;
        } else if (s.type === Events.Reconnect) {
          this.online = true;
          this.streamReady = false; // the server may have restarted with another store
          this.wake?.();
        }
      }
    })().catch(() => undefined);
  }

  /** Publishes the queue in order, `window` at a time; an event leaves the queue once acknowledged. */
  private async publishPending(): Promise<void> {
    const js = this.js!;
    const window = this.opts.window ?? 64;
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.queue.peek(window);
      const results = await Promise.allSettled(batch.map((p) =>
        js.publish(p.subject, p.body, { msgID: p.id, timeout: this.timeout, expect: { streamName: this.stream } })));
      // The batch was the queue's prefix; events dropped from it meanwhile are already gone.
      for (let i = 0; i < results.length; i++) {
        const r = results[i]!;
        if (r.status === 'rejected') throw r.reason as Error;
        if (this.queue.peek(1)[0] === batch[i]) this.queue.shift();
        this.published++;
      }
    }
  }

}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts publishing the bus's events to NATS JetStream; returns at once (connection is in the background). */
export function startNatsEventPublisher(opts: NatsEventPublisherOptions): NatsEventPublisher {
  return new NatsEventPublisherImpl(opts);
}
