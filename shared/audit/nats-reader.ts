// Reads a study log's replicated copy back from NATS JetStream, as the bytes of log.jsonl and
// heads.jsonl, so the same verifier checks it. Message ids are checked against the content.
import { natsServerOptions } from '../events/nats-url.js';
import { connect } from 'nats';
import { leafHash } from './merkle.js';
import { STREAM_NOT_FOUND, apiErrorCode } from '../events/jetstream-publisher.js';
import { auditStreamName, auditSubject, headsSubject } from '../events/subjects.js';
import { headMsgId } from './nats-stream.js';

export interface NatsCopy {
  readonly log: Buffer;
  readonly heads: Buffer;
  readonly records: number;
  readonly headLines: number;
  /** Messages whose Nats-Msg-Id does not match their content (stream sequence numbers). */
  readonly badMsgIds: number[];
}

export class NatsCopyError extends Error {
  override name = 'NatsCopyError';
}

export async function readNatsCopy(url: string, study: string, timeoutMs = 5000): Promise<NatsCopy> {
  const nc = await connect({ ...natsServerOptions(url), timeout: timeoutMs, reconnect: false }).catch((err: Error) => {
    throw new NatsCopyError(`cannot connect to NATS at ${url}: ${err.message}`, { cause: err });
  });
  try {
    const jsm = await nc.jetstreamManager({ timeout: timeoutMs });
    const stream = auditStreamName(study);
    let info;
    try {
      info = await jsm.streams.info(stream);
    } catch (err) {
      if (apiErrorCode(err) === STREAM_NOT_FOUND) throw new NatsCopyError(`NATS at ${url} has no audit stream ${stream} for study "${study}"`);
      throw err;
    }
    const rec: string[] = [];
    const heads: string[] = [];
    const badMsgIds: number[] = [];
    const dec = new TextDecoder();
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      const text = dec.decode(m.data);
      const id = m.header?.get('Nats-Msg-Id') ?? '';
      if (m.subject === auditSubject(study)) {
        if (id !== leafHash(text).toString('hex')) badMsgIds.push(seq);
        rec.push(text);
      } else if (m.subject === headsSubject(study)) {
        if (id !== headMsgId(text)) badMsgIds.push(seq);
        heads.push(text);
      }
    }
    const join = (lines: string[]) => Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
    return { log: join(rec), heads: join(heads), records: rec.length, headLines: heads.length, badMsgIds };
  } finally {
    await nc.close();
  }
}
