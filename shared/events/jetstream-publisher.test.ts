// The shared JetStream publisher: the bounded outbox on its own, then against a real nats-server
// (skipped loudly when it is not installed): order, headers, de-duplication by Nats-Msg-Id,
// prepare on every (re)connection, a stop for good, credentials taken from the URL, and a close
// that keeps its deadline when no server answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { NATS_BIN, freePort, startNatsServer, type NatsServer } from '../../test/helpers/nats-server.js';
import { waitFor } from '../../test/helpers/processes.js';
import { FlError } from '../errors/index.js';
import {
  BoundedOutbox, JetStreamPublisher, PublishingStopped, STREAM_NOT_FOUND, apiErrorCode, type OutgoingMessage,
} from './jetstream-publisher.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const msg = (subject: string, text: string, msgID = text, headers?: Record<string, string>): OutgoingMessage =>
  ({ subject, data: enc.encode(text), msgID, ...(headers ? { headers } : {}) });

describe('BoundedOutbox', () => {
  it('keeps the newest `capacity` messages in order and reports each one dropped', () => {
    const box = new BoundedOutbox(3);
    const ms = Array.from({ length: 5 }, (_, i) => msg('s', `m${i}`));
    expect(ms.map((m) => box.push(m)?.msgID ?? null)).toEqual([null, null, null, 'm0', 'm1']);
    expect(box.length).toBe(3);
    expect(box.peek(10).map((m) => m.msgID)).toEqual(['m2', 'm3', 'm4']);
    expect(box.peek(2).map((m) => m.msgID)).toEqual(['m2', 'm3']);
  });

  it('removes an acknowledged message only while it is still the first waiting', () => {
    const box = new BoundedOutbox(2);
    const [a, b, c] = ['a', 'b', 'c'].map((t) => msg('s', t)) as [OutgoingMessage, OutgoingMessage, OutgoingMessage];
    box.push(a);
    box.push(b);
    const inFlight = box.peek(2);
    box.push(c); // drops a while it is in flight
    box.acknowledge(inFlight[0]!); // a: already gone, b stays
    expect(box.peek(5).map((m) => m.msgID)).toEqual(['b', 'c']);
    box.acknowledge(inFlight[1]!);
    expect(box.peek(5).map((m) => m.msgID)).toEqual(['c']);
    box.acknowledge(msg('s', 'c')); // equal content, another message: not removed
    expect(box.length).toBe(1);
  });

  it('stays in order across its internal compaction', () => {
    const box = new BoundedOutbox(5000);
    for (let i = 0; i < 4000; i++) box.push(msg('s', String(i)));
    for (let i = 0; i < 3000; i++) box.acknowledge(box.peek(1)[0]!);
    for (let i = 4000; i < 4500; i++) box.push(msg('s', String(i)));
    expect(box.length).toBe(1500);
    expect(box.peek(1500).map((m) => Number(m.msgID))).toEqual(Array.from({ length: 1500 }, (_, i) => 3000 + i));
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new BoundedOutbox(bad)).toThrow(FlError);
  });
});

async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[]): Promise<void> {
  try {
    await jsm.streams.info(name);
  } catch (err) {
    if (apiErrorCode(err) !== STREAM_NOT_FOUND) throw err;
    await jsm.streams.add({ name, subjects });
  }
}

async function readAll(nc: NatsConnection, stream: string): Promise<Array<{ subject: string; text: string; id: string; seqHeader: string | undefined }>> {
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(stream);
  const out = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    out.push({ subject: m.subject, text: dec.decode(m.data), id: m.header?.get('Nats-Msg-Id') ?? '', seqHeader: m.header?.get('Fl-Seq') || undefined });
  }
  return out;
}

describe.skipIf(!NATS_BIN)('JetStreamPublisher against nats-server', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, reconnect: false });
  });
  afterAll(async () => {
    if (nc && !nc.isClosed()) await nc.close();
    await nats?.dispose();
  });

  it('publishes in order with headers; a message id seen before is stored once', async () => {
    const box = new BoundedOutbox(100);
    let prepared = 0;
    const pub = new JetStreamPublisher({
      url: nats.url, name: 'test-order', stream: 'T_ORDER', outbox: box, window: 4,
      prepare: async (jsm) => {
        prepared++;
        await ensureStream(jsm, 'T_ORDER', ['t.order.>']);
      },
    });
    for (let i = 0; i < 10; i++) box.push(msg(`t.order.${i % 2 ? 'odd' : 'even'}`, `m${i}`, `id-${i}`, { 'Fl-Seq': String(i) }));
    // A retry of m3 after a lost acknowledgement carries the same id.
    box.push(msg('t.order.odd', 'm3', 'id-3', { 'Fl-Seq': '3' }));
    pub.notify();
    expect(await pub.flush(10_000)).toBe(true);
    expect(pub.status()).toMatchObject({ connected: true, published: 11, pending: 0, lastError: null, stopped: null });
    expect(prepared).toBe(1);
    expect(await pub.close(1000)).toBe(true);
    const got = await readAll(nc, 'T_ORDER');
    expect(got.map((m) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(got.map((m) => m.id)).toEqual(Array.from({ length: 10 }, (_, i) => `id-${i}`));
    expect(got.map((m) => m.seqHeader)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
    expect(got[1]!.subject).toBe('t.order.odd');
  });

  it('refuses to publish into another stream than the one named', async () => {
    const box = new BoundedOutbox(10);
    const pub = new JetStreamPublisher({
      url: nats.url, name: 'test-wrong', stream: 'T_EXPECTED', outbox: box, maxRetryMs: 100, timeoutMs: 500,
      prepare: (jsm) => ensureStream(jsm, 'T_OTHER', ['t.other.>']),
    });
    box.push(msg('t.other.x', 'x'));
    pub.notify();
    await waitFor(() => pub.status().lastError !== null, 10_000, 'a refused publish');
    expect(pub.status()).toMatchObject({ connected: false, pending: 1, published: 0 });
    expect(await pub.close(0)).toBe(false);
  });

  it('prepares again after the server restarts and catches up what waited meanwhile', async () => {
    const box = new BoundedOutbox(100);
    let prepared = 0;
    const interruptions: string[] = [];
    const resumptions: boolean[] = [];
    const pub = new JetStreamPublisher({
      url: nats.url, name: 'test-restart', stream: 'T_RESTART', outbox: box, maxRetryMs: 200, timeoutMs: 500,
      prepare: async (jsm) => {
        prepared++;
        await ensureStream(jsm, 'T_RESTART', ['t.restart']);
      },
      onInterrupted: (m) => interruptions.push(m),
      onPublished: (resumed) => resumptions.push(resumed),
    });
    box.push(msg('t.restart', 'before'));
    pub.notify();
    expect(await pub.flush(10_000)).toBe(true);
    await nats.stop();
    box.push(msg('t.restart', 'during-1'));
    box.push(msg('t.restart', 'during-2'));
    pub.notify();
    await waitFor(() => pub.status().lastError !== null, 10_000, 'the outage to be noticed');
    expect(pub.status().connected).toBe(false);
    expect(await pub.flush(0)).toBe(false);
    await nats.restart();
    expect(await pub.flush(20_000)).toBe(true);
    expect(prepared).toBeGreaterThanOrEqual(2);
    expect(interruptions.length).toBe(1);
    expect(resumptions.filter(Boolean).length).toBe(1);
    expect(await pub.close(1000)).toBe(true);
    nc = await connect({ servers: nats.url, reconnect: false }).then(async (fresh) => {
      await nc.close().catch(() => undefined);
      return fresh;
    });
    expect((await readAll(nc, 'T_RESTART')).map((m) => m.text)).toEqual(['before', 'during-1', 'during-2']);
  });

  it('stops for good when prepare throws PublishingStopped', async () => {
    const box = new BoundedOutbox(10);
    let prepared = 0;
    const pub = new JetStreamPublisher({
      url: nats.url, name: 'test-stop', stream: 'T_STOP', outbox: box, maxRetryMs: 20,
      prepare: async () => {
        prepared++;
        throw new PublishingStopped('the stream holds another history');
      },
    });
    box.push(msg('t.stop', 'x'));
    pub.notify();
    expect(await pub.flush(10_000)).toBe(false);
    expect(pub.status()).toMatchObject({ stopped: 'the stream holds another history', lastError: 'the stream holds another history', pending: 1 });
    await new Promise((r) => setTimeout(r, 200)); // ten retry periods: none may happen
    expect(prepared).toBe(1);
    expect(await pub.close(0)).toBe(false);
  });
});

describe.skipIf(!NATS_BIN)('JetStreamPublisher with a password-protected server', () => {
  it('takes user and password from the URL and never shows them', async () => {
    const port = await freePort();
    const store = await mkdtemp(join(tmpdir(), 'fl-nats-auth-'));
    const srv = spawn(NATS_BIN!, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store, '--user', 'fl-coordinator', '--pass', 's@cret:1'], { stdio: 'ignore' });
    try {
      const box = new BoundedOutbox(10);
      const pub = new JetStreamPublisher({
        url: `nats://fl-coordinator:s%40cret%3A1@127.0.0.1:${port}`, name: 'test-auth', stream: 'T_AUTH', outbox: box, maxRetryMs: 100,
        prepare: (jsm) => ensureStream(jsm, 'T_AUTH', ['t.auth']),
      });
      expect(pub.server).toBe(`nats://127.0.0.1:${port}`);
      box.push(msg('t.auth', 'hello'));
      pub.notify();
      expect(await pub.flush(15_000)).toBe(true);
      expect(await pub.close(1000)).toBe(true);

      const wrong = new BoundedOutbox(10);
      const denied = new JetStreamPublisher({
        url: `nats://fl-coordinator:wrong@127.0.0.1:${port}`, name: 'test-auth-wrong', stream: 'T_AUTH', outbox: wrong, maxRetryMs: 100,
        prepare: (jsm) => ensureStream(jsm, 'T_AUTH', ['t.auth']),
      });
      wrong.push(msg('t.auth', 'nope'));
      denied.notify();
      await waitFor(() => denied.status().lastError !== null, 10_000, 'the refused connection');
      expect(denied.status().lastError).toMatch(/authorization/i);
      expect(denied.status().lastError).not.toContain('wrong');
      expect(await denied.close(0)).toBe(false);
    } finally {
      const exited = new Promise((r) => srv.once('exit', r));
      srv.kill('SIGKILL');
      await exited;
      await rm(store, { recursive: true, force: true });
    }
  });
});

describe('JetStreamPublisher without a server', () => {
  it('retries in the background, and close keeps its deadline', async () => {
    const box = new BoundedOutbox(10);
    let interrupted = 0;
    const url = `nats://127.0.0.1:${await freePort()}`;
    const pub = new JetStreamPublisher({
      url, name: 'test-none', stream: 'T_NONE', outbox: box, maxRetryMs: 50, timeoutMs: 200,
      prepare: async () => undefined, onInterrupted: () => interrupted++,
    });
    box.push(msg('t.none', 'x'));
    pub.notify();
    await waitFor(() => pub.status().lastError !== null, 10_000, 'the failed connection');
    expect(interrupted).toBe(1);
    const t0 = Date.now();
    expect(await pub.close(300)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(pub.status()).toMatchObject({ connected: false, pending: 1, published: 0 });
  });

  it('keeps its backoff while messages keep arriving (no connection attempt per message)', async () => {
    // A TCP server that hangs up on every connection, counting attempts.
    const { createServer } = await import('node:net');
    let attempts = 0;
    const srv = createServer((sock) => {
      attempts++;
      sock.destroy();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const box = new BoundedOutbox(1000);
    const pub = new JetStreamPublisher({ url: `nats://127.0.0.1:${port}`, name: 'test-backoff', stream: 'T', outbox: box, maxRetryMs: 10_000, prepare: async () => undefined });
    try {
      const t0 = Date.now();
      let i = 0;
      while (Date.now() - t0 < 400) {
        box.push(msg('t.x', String(i++)));
        pub.notify();
        await new Promise((r) => setTimeout(r, 2));
      }
      // Backoff 100, 200, 400 ms: attempts at about 0, 100 and 300 ms (a slow machine makes fewer).
      expect(i).toBeGreaterThan(20);
      expect(attempts).toBeGreaterThanOrEqual(1);
      expect(attempts).toBeLessThanOrEqual(4);
    } finally {
      await pub.close(0);
      await new Promise((r) => srv.close(r));
    }
  });

  it('flush waits for a prepared stream only when asked to', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const lazy = new JetStreamPublisher({ url, name: 'a', stream: 'A', outbox: new BoundedOutbox(1), prepare: async () => undefined });
    const strict = new JetStreamPublisher({ url, name: 'b', stream: 'B', outbox: new BoundedOutbox(1), prepare: async () => undefined, flushAwaitsStream: true });
    expect(await lazy.flush(0)).toBe(true);
    expect(await strict.flush(300)).toBe(false);
    await Promise.all([lazy.close(0), strict.close(0)]);
  });
});
