// Guards for client streams from parties: a header must arrive within `headerMs` and every later
// message within `progressMs` of the one before, or the stream is refused (its slot freed); and a
// rate-limited logger, so a party repeating the same refused call cannot flood the log.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RejectError } from './errors.js';

/** A stream that went quiet: cancelled by the coordinator, its partial upload kept for a resume. */
export class StalledStreamError extends RejectError {
  override name = 'StalledStreamError';
  constructor(message: string) {
    super(grpc.status.DEADLINE_EXCEEDED, message);
  }
}

/** Wraps a client stream so each `next()` fails after the header or progress timeout. */
export function timedStream<T>(messages: AsyncIterable<T>, o: { headerMs: number; progressMs: number; who: () => string; what: string }): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const it = messages[Symbol.asyncIterator]();
      let first = true;
      return {
        next(): Promise<IteratorResult<T>> {
          const ms = first ? o.headerMs : o.progressMs;
          const stage = first ? `sent no ${o.what} header within ${ms / 1000} s` : `sent nothing for ${ms / 1000} s`;
          first = false;
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new StalledStreamError(`${o.who()}: ${o.what} stream ${stage}; cancelled (its slot is freed)`)), ms);
          });
          const next = it.next();
          next.catch(() => undefined); // a late failure after the timeout is not unhandled
          return Promise.race([next, timeout]).finally(() => clearTimeout(timer));
        },
      };
    },
  };
}

/**
 * Logs a refusal at most once per `windowMs` per key (party + reason kind); the repeats in
 * between are counted and reported with the next line that is written.
 */
export class RefusalLog {
  private readonly seen = new Map<string, { last: number; suppressed: number }>();
  constructor(private readonly log: Logger, private readonly windowMs = 10_000, private readonly maxKeys = 10_000) {}

  /** Logs at warn level unless this key was logged within the window; true when it logged. */
  warn(key: string, fields: Record<string, unknown>, message: string): boolean {
    return this.write('warn', key, fields, message);
  }

  /** Like warn(), at error level (what an operator must act on, e.g. a site refusing to co-sign). */
  error(key: string, fields: Record<string, unknown>, message: string): boolean {
    return this.write('error', key, fields, message);
  }

  private write(level: 'warn' | 'error', key: string, fields: Record<string, unknown>, message: string): boolean {
    const now = Date.now();
    const s = this.seen.get(key);
    if (s && now - s.last < this.windowMs) {
      s.suppressed++;
      return false;
    }
    if (!s && this.seen.size >= this.maxKeys) this.seen.delete(this.seen.keys().next().value!);
    const suppressed = s?.suppressed ?? 0;
    this.seen.set(key, { last: now, suppressed: 0 });
    this.log[level](suppressed > 0 ? { ...fields, suppressed_since_last: suppressed } : fields, message);
    return true;
  }
}
