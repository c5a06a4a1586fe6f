// Audit replay: re-derives a round's aggregate from the spooled masked uploads and the secrets the
// round revealed (as recorded in a SecAggResult), checks each upload's digest and the aggregate's.
import { createHash } from 'node:crypto';
import { FlError } from '../errors/index.js';
import type { SecAggResult } from './server.js';
import { Session, type SessionInput } from './session.js';
import { unmaskSum, type MaskedReader } from './unmask.js';

export type ReplayRecord = Omit<SecAggResult, 'sum'>;

export async function replayUnmask(session: SessionInput | Session, record: ReplayRecord, read: MaskedReader): Promise<Uint32Array> {
  const s = session instanceof Session ? session : new Session(session);
  const bytes = (r: Readonly<Record<string, string>>) => new Map(Object.entries(r).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  const sum = await unmaskSum({
    session: s,
    survivors: record.survivors,
    maskKeys: bytes(record.maskKeys),
    selfSeeds: bytes(record.revealed.selfSeeds),
    droppedKeys: bytes(record.revealed.droppedMaskKeys),
    digests: new Map(Object.entries(record.uploadDigests)),
  }, read);
  const digest = createHash('sha256').update(new Uint8Array(sum.buffer)).digest('hex');
  if (digest !== record.aggregateSha256) {
    throw new FlError('audit.mismatch', `secure aggregation replay of round ${s.round}: aggregate digest ${digest} differs from the logged ${record.aggregateSha256}`);
  }
  return sum;
}
