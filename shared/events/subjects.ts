// Every NATS subject and JetStream stream name of the project, in one place. Deployed streams,
// the nats-server permissions in deploy/ and the tests depend on these exact formats:
//
//   study events   fl.<study>.events.<type>   filter fl.<study>.events.>   stream FL_<study>_EVENTS
//   study log      fl.<study>.audit           heads  fl.<study>.audit.heads stream FL_AUDIT_<study>
//
// <study> is the study id as one subject token ("." becomes "_"); in stream names "-" becomes "_"
// as well.
import { FlError } from '../errors/index.js';
import type { StudyEvent } from './events.js';

/** Study ids as in the study config: letters, digits, ".", "_", "-", at most 64. */
export function assertStudyId(study: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(study)) {
    throw new FlError('study.invalid_id', `study id "${study}" is invalid: use letters, digits, ".", "_" or "-" (max 64)`);
  }
}

/** The study id as one subject token: "." (a token separator in NATS) becomes "_". */
export function studyToken(study: string): string {
  assertStudyId(study);
  return study.replace(/\./g, '_');
}

/** The study token in a stream name (which allows neither "." nor, here, "-"). */
function streamToken(study: string): string {
  return studyToken(study).replace(/-/g, '_');
}

function eventsSubjectPrefix(study: string): string {
  return `fl.${studyToken(study)}.events`;
}

/** Subject of one event type: `fl.<study>.events.<type>`. */
export function eventSubject(study: string, type: StudyEvent['type']): string {
  return `${eventsSubjectPrefix(study)}.${type}`;
}

/** All event subjects of a study: `fl.<study>.events.>`. */
export function eventsSubjectFilter(study: string): string {
  return `${eventsSubjectPrefix(study)}.>`;
}

/** `FL_<study>_EVENTS`. */
export function eventsStreamName(study: string): string {
  return `FL_${streamToken(study)}_EVENTS`;
}

/** Records of the study log: `fl.<study>.audit`. */
export function auditSubject(study: string): string {
  return `fl.${studyToken(study)}.audit`;
}

/** Signed tree heads and co-signatures of the study log: `fl.<study>.audit.heads`. */
export function headsSubject(study: string): string {
  return `${auditSubject(study)}.heads`;
}

/** `FL_AUDIT_<study>`. */
export function auditStreamName(study: string): string {
  return `FL_AUDIT_${streamToken(study)}`;
}
