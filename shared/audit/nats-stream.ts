// Where a study log lives on NATS JetStream: one stream per study, records on
// `fl.<study>.audit` (message id = the record's Merkle leaf hash, so re-publishing after a lost
// acknowledgement is de-duplicated), signed tree heads and co-signatures on
// `fl.<study>.audit.heads` (message id = "h-" + SHA-256 of the line). The stream denies delete
// and purge, so a follower sees an append-only history.
import { createHash } from 'node:crypto';
import { nanos, StorageType, type JetStreamManager, type NatsError, type StreamConfig } from 'nats';

export const SEQ_HEADER = 'Fl-Seq';

/** Study ids as in the study config: letters, digits, ".", "_", "-", at most 64. */
export function assertStudyId(study: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(study)) {
    throw new Error(`study id "${study}" is invalid: use letters, digits, ".", "_" or "-" (max 64)`);
  }
}

/** The study id as one subject token: "." (a token separator in NATS) becomes "_". */
export function studyToken(study: string): string {
  assertStudyId(study);
  return study.replace(/\./g, '_');
}

export function auditSubject(study: string): string {
  return `fl.${studyToken(study)}.audit`;
}

export function headsSubject(study: string): string {
  return `${auditSubject(study)}.heads`;
}

export function auditStreamName(study: string): string {
  return `FL_AUDIT_${studyToken(study).replace(/-/g, '_')}`;
}

export function headMsgId(line: string): string {
  return `h-${createHash('sha256').update(line).digest('hex')}`;
}

/** JetStream API error code, when the error is one. */
export function apiErrorCode(err: unknown): number | undefined {
  return (err as NatsError | undefined)?.api_error?.err_code;
}

export const STREAM_NOT_FOUND = 10059;
export const NO_MESSAGE_FOUND = 10037;

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
