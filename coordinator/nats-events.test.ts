// The event publisher against a real nats-server: events arrive in order on their subjects;
// the stream is created and kept up to date idempotently; events published while NATS is down
// arrive after it returns (the oldest dropped, and counted, when the buffer overflows).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { connect, StorageType, type NatsConnection } from 'nats';
import { NATS_BIN, freePort, startNatsServer, type NatsServer } from '../test/helpers/nats-server.js';
import { EventBus, type StudyEvent } from '../shared/events/events.js';
import { eventSubject, eventsStreamName } from '../shared/events/subjects.js';
import { ensureEventsStream, startNatsEventPublisher, DEFAULT_STREAM_LIMITS, type EventMessage } from './nats-events.js';

function captureLog() {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

/** Every message of the study's events stream, through a JetStream (ordered) consumer. */
async function readStream(url: string, study: string): Promise<Array<{ subject: string; body: EventMessage }>> {
  const nc = await connect({ servers: url });
  try {
    const { state } = await (await nc.jetstreamManager()).streams.info(eventsStreamName(study));
    return await readWith(nc, study, state.messages);
  } finally {
    await nc.close();
  }
}

async function readWith(nc: NatsConnection, study: string, expected: number): Promise<Array<{ subject: string; body: EventMessage }>> {
  const js = nc.jetstream();
  const consumer = await js.consumers.get(eventsStreamName(study));
  const out: Array<{ subject: string; body: EventMessage }> = [];
  while (out.length < expected) {
    const batch = await consumer.fetch({ max_messages: expected - out.length, expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      out.push({ subject: m.subject, body: m.json<EventMessage>() });
      got++;
    }
    if (got === 0) break;
  }
  return out;
}

const roundEvent = (round: number): StudyEvent => ({ type: 'round_started', round, participants: ['a', 'b'], deadline: 1000 + round });

describe.skipIf(!NATS_BIN)('NATS JetStream event publisher', () => {
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

  it('publishes every event in order on fl.<study>.events.<type> into a file-backed stream', async () => {
    const bus = new EventBus();
    const { log } = captureLog();
    const pub = startNatsEventPublisher({ url: nats.url, studyId: 'sln.2025-a', events: bus, log });
    const sent: StudyEvent[] = [
      { type: 'site_connected', site: 'hosp-a', backend: 'cpu' },
      roundEvent(1),
      { type: 'update_accepted', round: 1, model: 'ddfn', site: 'hosp-a', numExamples: 120, digest: 'ab'.repeat(32), metrics: { loss: 0.51 } },
      { type: 'round_completed', round: 1, state: 'completed', sites: ['hosp-a'], metrics: { ddfn: { auc: 0.8 } }, digests: { ddfn: 'cd'.repeat(32) } },
      { type: 'study_completed', rounds: 1 },
    ];
    for (const e of sent) bus.publish(e);
    expect(await pub.flush(10_000)).toBe(true);
    expect(pub.status()).toMatchObject({ connected: true, published: 5, pending: 0, dropped: 0, lastError: null });
    await pub.close();

    const stream = eventsStreamName('sln.2025-a');
    expect(stream).toBe('FL_sln_2025_a_EVENTS');
    const info = await (await nc.jetstreamManager()).streams.info(stream);
    expect(info.config.storage).toBe(StorageType.File);
    expect(info.config.subjects).toEqual(['fl.sln_2025-a.events.>']);
    expect(info.config.max_bytes).toBe(DEFAULT_STREAM_LIMITS.maxBytes);

    const got = await readStream(nats.url, 'sln.2025-a');
    expect(got.map((m) => m.subject)).toEqual(sent.map((e) => eventSubject('sln.2025-a', e.type)));
    expect(got[0]!.subject).toBe('fl.sln_2025-a.events.site_connected');
    got.forEach((m, i) => {
      expect(m.body).toMatchObject({ ...sent[i], study: 'sln.2025-a', seq: i + 1 });
      expect(typeof m.body.time).toBe('number');
    });
  });

  it('creates and updates the stream idempotently', async () => {
    const jsm = await nc.jetstreamManager();
    expect(await ensureEventsStream(jsm, 'idem')).toBe('created');
    expect(await ensureEventsStream(jsm, 'idem')).toBe('unchanged');
    const smaller = { ...DEFAULT_STREAM_LIMITS, maxMsgs: 500 };
    expect(await ensureEventsStream(jsm, 'idem', smaller)).toBe('updated');
    expect((await jsm.streams.info(eventsStreamName('idem'))).config.max_msgs).toBe(500);
    expect(await ensureEventsStream(jsm, 'idem', smaller)).toBe('unchanged');
  });

  it('buffers while the server is down and delivers after it returns, dropping the oldest beyond the buffer', async () => {
    const bus = new EventBus();
    const { log, lines } = captureLog();
    const pub = startNatsEventPublisher({ url: nats.url, studyId: 'outage', events: bus, log, bufferSize: 4, maxRetryMs: 200, timeoutMs: 500 });
    bus.publish(roundEvent(1));
    bus.publish(roundEvent(2));
    expect(await pub.flush(10_000)).toBe(true);

    await nats.stop();
    for (let r = 3; r <= 8; r++) bus.publish(roundEvent(r));
    // Give the client time to notice the outage; nothing is lost beyond the buffer.
    await new Promise((r) => setTimeout(r, 300));
    expect(pub.status()).toMatchObject({ connected: false, pending: 4, dropped: 2 });
    expect(lines.some((l) => l.msg === 'NATS event buffer full: dropping the oldest events' && l.dropped === 1)).toBe(true);

    await nats.restart();
    expect(await pub.flush(15_000)).toBe(true);
    expect(pub.status()).toMatchObject({ connected: true, pending: 0, dropped: 2, lastError: null });
    expect(lines.some((l) => l.msg === 'NATS event publishing resumed; buffered events delivered')).toBe(true);
    await pub.close();

    const got = await readStream(nats.url, 'outage');
    // Rounds 3 and 4 were the oldest when the buffer overflowed; no duplicates.
    expect(got.map((m) => (m.body as EventMessage & { round: number }).round)).toEqual([1, 2, 5, 6, 7, 8]);
    expect(got.map((m) => m.body.seq)).toEqual([1, 2, 5, 6, 7, 8]);
  });
});

describe('NATS event publisher without a server', () => {
  it('never blocks the bus, counts drops, and closes promptly with a warning about undelivered events', async () => {
    const bus = new EventBus();
    const { log, lines } = captureLog();
    const url = `nats://127.0.0.1:${await freePort()}`;
    const pub = startNatsEventPublisher({ url, studyId: 'nobody', events: bus, log, bufferSize: 3, maxRetryMs: 100, timeoutMs: 200 });
    const t0 = Date.now();
    for (let r = 1; r <= 2500; r++) bus.publish(roundEvent(r));
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(pub.status()).toMatchObject({ connected: false, published: 0, pending: 3, dropped: 2497 });
    const drops = lines.filter((l) => l.msg === 'NATS event buffer full: dropping the oldest events');
    expect(drops.map((l) => l.dropped)).toEqual([1, 1000, 2000]);
    const c0 = Date.now();
    await pub.close(300);
    expect(Date.now() - c0).toBeLessThan(3000);
    expect(lines.some((l) => l.msg === 'NATS event publisher closed with undelivered events' && l.undelivered === 3)).toBe(true);
    bus.publish(roundEvent(9999)); // after close: ignored
    expect(pub.status().pending).toBe(3);
  });

  it('refuses an invalid study id', () => {
    const { log } = captureLog();
    expect(() => startNatsEventPublisher({ url: 'nats://127.0.0.1:1', studyId: 'bad id', events: new EventBus(), log })).toThrow(/study id "bad id" is invalid/);
  });
});
