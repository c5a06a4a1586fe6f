// The project's one reconnecting NATS JetStream publisher (the study-event publisher and the
// study-log replicator both publish through it).
//
// It connects with the credentials of the URL (nats://USER:PASS@host, see ./nats-url.ts), and on
// every (re)connection, and after every failure, calls `prepare` (create or update the stream,
// re-read what the stream already holds) before publishing. It then publishes what its outbox
// holds, in order, `window` publishes awaiting acknowledgement at a time, each with its
// Nats-Msg-Id so that a publish retried after a lost acknowledgement is stored once. A message
// leaves the outbox only once the stream has acknowledged it. Publishing never blocks the
// producer: producers fill the outbox and call notify(). While NATS is unreachable the loop
// retries with exponential backoff (100 ms up to maxRetryMs; new messages do not shorten it, a
// reconnection of the client does); when NATS returns it catches up.
// close() delivers what it can within a deadline, then disconnects.
import {
  connect, Events, headers as natsHeaders,
  type JetStreamClient, type JetStreamManager, type MsgHdrs, type NatsConnection, type NatsError,
} from 'nats';
import { FlError, errorMessage } from '../errors/index.js';
import { natsServerOptions } from './nats-url.js';

/** JetStream API error code, when the error is one. */
export function apiErrorCode(err: unknown): number | undefined {
  return (err as NatsError | undefined)?.api_error?.err_code;
}

export const STREAM_NOT_FOUND = 10059;
export const NO_MESSAGE_FOUND = 10037;

/** One message to store in the stream. */
export interface OutgoingMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Nats-Msg-Id: the stream stores one message per id within its duplicate window. */
  readonly msgID: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the publisher publishes, oldest first. */
export interface Outbox {
  /** Messages not yet acknowledged. */
  readonly length: number;
  /** The first `n` waiting messages, in order. */
  peek(n: number): readonly OutgoingMessage[];
  /** The stream acknowledged `msg` (from peek): remove it if it is still the first waiting. */
  acknowledge(msg: OutgoingMessage): void;
}

/** A FIFO outbox holding at most `capacity` messages: beyond it, the oldest is dropped. O(1) push and shift. */
export class BoundedOutbox implements Outbox {
  private items: OutgoingMessage[] = [];
  private head = 0;
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new FlError('nats.buffer_size', `NATS publish buffer size must be a positive integer, got ${capacity}`);
    }
  }
  get length(): number {
    return this.items.length - this.head;
  }
  /** Appends `msg`; returns the message dropped to make room, if any. */
  push(msg: OutgoingMessage): OutgoingMessage | undefined {
    this.items.push(msg);
    return this.length > this.capacity ? this.shift() : undefined;
  }
  peek(n: number): readonly OutgoingMessage[] {
    return this.items.slice(this.head, this.head + n);
  }
  acknowledge(msg: OutgoingMessage): void {
    // Messages dropped while their publish was in flight are already gone.
    if (this.head < this.items.length && this.items[this.head] === msg) this.shift();
  }
  private shift(): OutgoingMessage | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

/** Thrown by `prepare` when publishing must stop for good (the stream holds another history). */
export class PublishingStopped extends FlError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('nats.publishing_stopped', message, { ...options, user: false });
  }
}

export interface JetStreamPublisherOptions {
  /** NATS URL, possibly with user and password. */
  readonly url: string;
  /** Client connection name, as the server lists it. */
  readonly name: string;
  /** The stream every publish must land in. */
  readonly stream: string;
  readonly outbox: Outbox;
  /**
   * Runs on every (re)connection and after every failure, before publishing: creates or updates
   * the stream and re-reads whatever the outbox takes from it. Throw PublishingStopped to stop.
   */
  readonly prepare: (jsm: JetStreamManager) => Promise<void>;
  /** Per-request timeout (default 2000 ms). */
  readonly timeoutMs?: number;
  /** Longest wait between connection attempts (default 2000 ms). */
  readonly maxRetryMs?: number;
  /** Publishes awaiting acknowledgement at once (default 64; 1 publishes strictly one after another). */
  readonly window?: number;
  /** flush() waits for a prepared stream even when the outbox is empty (default false). */
  readonly flushAwaitsStream?: boolean;
  /** First failure of an outage (not called again until publishing succeeds). */
  readonly onInterrupted?: (message: string) => void;
  /** The outbox was published (up to close); `resumed` is true when an outage has just ended. */
  readonly onPublished?: (resumed: boolean) => void;
}

export interface JetStreamPublisherStatus {
  /** Connected, the stream prepared, and the last attempt succeeded. */
  readonly connected: boolean;
  /** Messages acknowledged by the stream. */
  readonly published: number;
  /** Messages waiting in the outbox. */
  readonly pending: number;
  readonly lastError: string | null;
  /** Set once `prepare` stopped publishing for good. */
  readonly stopped: string | null;
}

export class JetStreamPublisher {
  /** The URL without credentials (for logs and messages). */
  readonly server: string;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  /** `prepare` succeeded on the current connection since the last failure. */
  private ready = false;
  /** False while the client is disconnected and reconnecting (publishes would pile up in its buffer). */
  private online = false;
  private published = 0;
  private lastError: string | null = null;
  private stoppedFor: string | null = null;
  private closing: Promise<boolean> | null = null;
  private stopped = false;
  /** Ends the wait for work (new messages, a reconnection, close). */
  private wake: (() => void) | null = null;
  /** Ends a backoff early (a reconnection, close); new messages do not, so retries keep their pace. */
  private retryNow: (() => void) | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly loop: Promise<void>;

  constructor(private readonly opts: JetStreamPublisherOptions) {
    this.server = natsServerOptions(opts.url).servers;
    this.loop = this.run();
  }

  /** Call after adding to the outbox. */
  notify(): void {
    this.wake?.();
  }

  status(): JetStreamPublisherStatus {
    return {
      connected: this.nc !== null && !this.nc.isClosed() && this.online && this.ready && this.lastError === null,
      published: this.published, pending: this.opts.outbox.length, lastError: this.lastError, stopped: this.stoppedFor,
    };
  }

  /** Resolves true once everything in the outbox so far is acknowledged, false on timeout, stop or close. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.caughtUp()) {
      if (this.stopped || this.stoppedFor !== null) return false;
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

  /**
   * Tries to deliver what is waiting for up to `timeoutMs`, stops, and disconnects (waiting at
   * most a second for the server). Resolves whether everything was delivered.
   */
  close(timeoutMs: number): Promise<boolean> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<boolean> {
    const delivered = await this.flush(timeoutMs);
    this.stopped = true;
    this.wake?.();
    this.retryNow?.();
    await this.loop;
    const nc = this.nc;
    this.nc = null;
    if (nc && !nc.isClosed()) {
      // drain() waits for the server; when it is gone, close at once.
      const drained = await Promise.race([nc.drain().then(() => true, () => false), sleep(1000).then(() => false)]);
      if (!drained && !nc.isClosed()) await nc.close().catch(() => undefined);
    }
    return delivered && this.caughtUp();
  }

  private caughtUp(): boolean {
    return this.opts.outbox.length === 0 && (!this.opts.flushAwaitsStream || (this.ready && this.lastError === null));
  }

  private get timeout(): number {
    return this.opts.timeoutMs ?? 2000;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        await this.connectIfNeeded();
        if (!this.online) throw new Error(`disconnected from NATS at ${this.server}; reconnecting`);
        if (!this.ready) {
          await this.opts.prepare(this.jsm!);
          this.ready = true;
        }
        await this.publishPending();
        const resumed = this.lastError !== null;
        this.lastError = null;
        backoff = 100;
        this.opts.onPublished?.(resumed);
        this.notifyWaiters();
        if (this.stopped) break;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.stopped || this.opts.outbox.length > 0 || !this.ready) resolve();
        });
        this.wake = null;
      } catch (err) {
        const msg = errorMessage(err);
        if (this.lastError === null) this.opts.onInterrupted?.(msg);
        this.lastError = msg;
        this.ready = false;
        if (this.nc?.isClosed()) this.nc = null;
        if (err instanceof PublishingStopped) this.stoppedFor = msg;
        this.notifyWaiters();
        if (this.stopped || this.stoppedFor !== null) break;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff);
          this.retryNow = () => {
            clearTimeout(t);
            resolve();
          };
          if (this.stopped) this.retryNow();
        });
        this.retryNow = null;
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
      timeout: this.timeout, name: this.opts.name,
    });
    this.online = true;
    this.ready = false;
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
          this.ready = false; // the server may have restarted with another store
          this.wake?.();
          this.retryNow?.();
        }
      }
    })().catch(() => undefined);
  }

  /** Publishes the outbox in order, `window` at a time; a message leaves it once acknowledged. */
  private async publishPending(): Promise<void> {
    const js = this.js!;
    const outbox = this.opts.outbox;
    const window = this.opts.window ?? 64;
    while (outbox.length > 0 && !this.stopped) {
      const batch = outbox.peek(window);
      const results = await Promise.allSettled(batch.map((m) => js.publish(m.subject, m.data, {
        msgID: m.msgID, timeout: this.timeout, expect: { streamName: this.opts.stream },
        ...(m.headers ? { headers: toHeaders(m.headers) } : {}),
      })));
      for (let i = 0; i < results.length; i++) {
        const r = results[i]!;
        if (r.status === 'rejected') throw r.reason as Error;
        outbox.acknowledge(batch[i]!);
        this.published++;
      }
    }
  }
}

function toHeaders(fields: Readonly<Record<string, string>>): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(fields)) h.set(k, v);
  return h;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
