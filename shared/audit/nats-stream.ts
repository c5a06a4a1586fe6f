// Where a study log lives on NATS JetStream: one stream per study (names and subjects in
// shared/events/subjects.ts), records on `fl.<study>.audit` (message id = the record's Merkle leaf
// hash, so re-publishing after a lost acknowledgement is de-duplicated), signed tree heads and
// co-signatures on `fl.<study>.audit.heads` (message id = "h-" + SHA-256 of the line). The stream
// denies delete and purge, so a follower sees an append-only history.
import { createHash } from 'node:crypto';
import { nanos, StorageType, type JetStreamManager, type StreamConfig } from 'nats';
import { STREAM_NOT_FOUND, apiErrorCode } from '../events/jetstream-publisher.js';
import { auditStreamName, auditSubject, headsSubject } from '../events/subjects.js';

export const SEQ_HEADER = 'Fl-Seq';

export function headMsgId(line: string): string {
  return `h-${createHash('sha256').update(line).digest('hex')}`;
}

/** Creates the study's stream if it does not exist yet. */
export async function ensureAuditStream(jsm: JetStreamManager, study: string): Promise<void> {
  const name = auditStreamName(study);
  try {
    await jsm.streams.info(name);
    return;
  } catch (err) {
    if (apiErrorCode(err) !== STREAM_NOT_FOUND) throw err;
  }
  const cfg: Partial<StreamConfig> = {
    name,
    subjects: [auditSubject(study), headsSubject(study)],
    storage: StorageType.File,
    duplicate_window: nanos(24 * 3600 * 1000),
    deny_delete: true,
    deny_purge: true,
  };
  await jsm.streams.add(cfg);
}
