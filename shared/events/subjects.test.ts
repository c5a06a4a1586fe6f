// The subject and stream names are a deployed contract (streams on running servers, the
// permissions in deploy/nats-server.conf, dashboards subscribing to them): the expected strings
// below are written out by hand from the formats documented there, not computed.
import { describe, expect, it } from 'vitest';
import { FlError } from '../errors/index.js';
import {
  assertStudyId, auditStreamName, auditSubject, eventSubject, eventsStreamName, eventsSubjectFilter, headsSubject, studyToken,
} from './subjects.js';

describe('NATS subjects and stream names', () => {
  it('keep their deployed formats', () => {
    expect(eventSubject('sln.2025-a', 'round_started')).toBe('fl.sln_2025-a.events.round_started');
    expect(eventsSubjectFilter('sln.2025-a')).toBe('fl.sln_2025-a.events.>');
    expect(eventsStreamName('sln.2025-a')).toBe('FL_sln_2025_a_EVENTS');
    expect(auditSubject('study.1')).toBe('fl.study_1.audit');
    expect(headsSubject('study.1')).toBe('fl.study_1.audit.heads');
    expect(auditStreamName('study.1')).toBe('FL_AUDIT_study_1');
    expect(auditStreamName('a-b.c_d')).toBe('FL_AUDIT_a_b_c_d');
    expect(eventsStreamName('nats')).toBe('FL_nats_EVENTS');
    expect(studyToken('x.y.z')).toBe('x_y_z');
  });

  it('refuse study ids that are not one safe token', () => {
    for (const bad of ['bad id', 'a>b', 'a*b', '.lead', '', 'x'.repeat(65), 'fl.$JS']) {
      expect(() => assertStudyId(bad), bad).toThrow(FlError);
      expect(() => eventSubject(bad, 'log'), bad).toThrow(/study id ".*" is invalid/);
      expect(() => auditStreamName(bad), bad).toThrow(/is invalid/);
    }
    expect(() => assertStudyId('x'.repeat(64))).not.toThrow();
  });
});
