// The study-log replicator over the shared JetStream publisher, against a real nats-server:
// records then heads, each exactly once with its Fl-Seq header, resuming from the cursor the
// stream holds, and stopping for good (nothing published) when the stream holds another history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'nats';
import { NATS_BIN, startNatsServer, type NatsServer } from '../../test/helpers/nats-server.js';
import { auditStreamName, auditSubject, headsSubject } from '../events/subjects.js';
import { leafHash } from './merkle.js';
import { AuditReplicator, type ReplicationSource } from './nats-replicator.js';
import { SEQ_HEADER, headMsgId } from './nats-stream.js';

function source(records: string[], heads: string[]): ReplicationSource & { recordLines: string[]; recordHashes: string[]; headLines: string[] } {
  return { recordLines: records, recordHashes: records.map((r) => leafHash(r).toString('hex')), headLines: heads };
}

async function streamContent(url: string, study: string): Promise<Array<{ subject: string; text: string; seq: string | undefined; id: string | undefined }>> {
  const nc = await connect({ servers: url, reconnect: false });
  try {
    const jsm = await nc.jetstreamManager();
    const stream = auditStreamName(study);
    const { state } = await jsm.streams.info(stream);
    const out = [];
    for (let s = state.first_seq; state.messages > 0 && s <= state.last_seq; s++) {
      const m = await jsm.streams.getMessage(stream, { seq: s });
      out.push({ subject: m.subject, text: new TextDecoder().decode(m.data), seq: m.header?.get(SEQ_HEADER), id: m.header?.get('Nats-Msg-Id') });
    }
    return out;
  } finally {
    await nc.close();
  }
}

describe.skipIf(!NATS_BIN)('AuditReplicator', () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.dispose();
  });

  it('publishes records then heads once, resumes from the stream, and stops on a diverging history', async () => {
    const study = 'repl.1';
    const src = source(['{"seq":0}', '{"seq":1}'], ['{"head":2}']);
    const a = new AuditReplicator({ url: nats.url, study, source: src });
    expect(await a.flush(10_000)).toBe(true);
    src.recordLines.push('{"seq":2}');
    src.recordHashes.push(leafHash('{"seq":2}').toString('hex'));
    src.headLines.push('{"head":3}');
    a.notify();
    expect(await a.flush(10_000)).toBe(true);
    expect(a.status()).toMatchObject({ records: 3, heads: 2, pendingRecords: 0, pendingHeads: 0, diverged: null, lastError: null });
    await a.close();

    // A second replicator of the same log resumes from the stream: nothing is published twice.
    const b = new AuditReplicator({ url: nats.url, study, source: src });
    expect(await b.flush(10_000)).toBe(true);
    expect(b.status()).toMatchObject({ records: 3, heads: 2 });
    await b.close();

    const want = [
      { subject: auditSubject(study), text: '{"seq":0}', seq: '0', id: src.recordHashes[0] },
      { subject: auditSubject(study), text: '{"seq":1}', seq: '1', id: src.recordHashes[1] },
      { subject: headsSubject(study), text: '{"head":2}', seq: '0', id: headMsgId('{"head":2}') },
      { subject: auditSubject(study), text: '{"seq":2}', seq: '2', id: src.recordHashes[2] },
      { subject: headsSubject(study), text: '{"head":3}', seq: '1', id: headMsgId('{"head":3}') },
    ];
    expect(await streamContent(nats.url, study)).toEqual(want);

    // Another log under the same study id: the stream's last record differs from its record 2.
    const other = source(['{"seq":0}', '{"seq":1}', '{"seq":2,"forged":true}', '{"seq":3}'], []);
    const c = new AuditReplicator({ url: nats.url, study, source: other, maxRetryMs: 50 });
    expect(await c.flush(10_000)).toBe(false);
    expect(c.status().diverged).toMatch(/holds record 2 that the local log has differently/);
    await c.close();
    expect(await streamContent(nats.url, study)).toEqual(want);
  });
});
