import { describe, it, expect } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { timedStream, RefusalLog, StalledStreamError } from './stream-guard.js';

async function* never(): AsyncGenerator<number> {
  await new Promise(() => undefined);
  yield 1;
}
async function* slowAfterFirst(): AsyncGenerator<number> {
  yield 1;
  await new Promise(() => undefined);
}

describe('timedStream', () => {
  it('refuses a stream without a header within the header timeout', async () => {
    const it = timedStream(never(), { headerMs: 20, progressMs: 1000, who: () => 'site "x"', what: 'upload' })[Symbol.asyncIterator]();
    const err = await it.next().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StalledStreamError);
    expect((err as StalledStreamError).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect((err as Error).message).toMatch(/site "x": upload stream sent no upload header within 0.02 s/);
  });
  it('refuses a stream that stops making progress after its header', async () => {
    const it = timedStream(slowAfterFirst(), { headerMs: 1000, progressMs: 20, who: () => 'site "x"', what: 'upload' })[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: false, value: 1 });
    await expect(it.next()).rejects.toThrow(/sent nothing for 0.02 s/);
  });
});

describe('RefusalLog', () => {
  it('writes one line per key and window and counts the rest', () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
    const r = new RefusalLog(log, 60_000);
    for (let i = 0; i < 5000; i++) r.warn('site-a/cosign', { site: 'a' }, 'unsolicited co-signature');
    r.warn('site-b/cosign', { site: 'b' }, 'unsolicited co-signature');
    expect(lines).toHaveLength(2);
  });
});
