// The coordinator's side of co-signing under a hostile site: refusals are kept per site (fl status
// shows the latest) but a site sending thousands of refusals or bogus co-signatures, solicited or
// not, writes a handful of log lines and events, not thousands (issue 21).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudyLog } from '../shared/audit/study-log.js';
import { generateSigningKey } from '../shared/audit/keys.js';
import { EventBus, type StudyEvent } from '../shared/events/events.js';
import { Cosigning } from './cosigning.js';
import { SiteRegistry } from './site-registry.js';

let dir: string;
let studyLog: StudyLog;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fl-cosigning-'));
  studyLog = await StudyLog.open(dir, { signingKey: generateSigningKey(), studyId: 'sln' });
  await studyLog.append({ type: 'study_config', study: 'sln', digest: 'ee'.repeat(32) });
});
afterAll(async () => {
  await studyLog.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Cosigning under a flood', () => {
  it('keeps the latest refusal per site, with one line and one event per site and kind', async () => {
    const lines: { level: number; msg: string; site?: string; suppressed_since_last?: number }[] = [];
    const log = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }));
    const events = new EventBus();
    const seen: StudyEvent[] = [];
    events.subscribe((e) => void seen.push(e));
    const c = new Cosigning(studyLog, generateSigningKey(), new SiteRegistry(), log, events);
    for (let i = 0; i < 5000; i++) await c.receive('mallory', { type: 'cosignature', head: null, signature: '', error: `made-up reason ${i}`, lastSize: 0 });
    const head = studyLog.treeHead()!;
    for (let i = 0; i < 5000; i++) await c.receive('mallory', { type: 'cosignature', head, signature: 'c2ln', error: '', lastSize: 0 });
    await c.receive('hosp-a', { type: 'cosignature', head: null, signature: '', error: 'the consistency proof does not verify', lastSize: 0 });

    expect(c.refused.get('mallory')).toBe('made-up reason 4999');
    expect(c.refused.get('hosp-a')).toBe('the consistency proof does not verify');
    const refusedLines = lines.filter((l) => l.msg === 'site REFUSED to co-sign the study log');
    expect(refusedLines.map((l) => [l.site, l.level])).toEqual([['mallory', 50], ['hosp-a', 50]]);
    expect(lines.filter((l) => l.msg === 'co-signature not accepted').map((l) => l.site)).toEqual(['mallory']);
    expect(seen.filter((e) => e.type === 'cosignature')).toHaveLength(3);
    // Nothing was added to the heads file.
    expect(studyLog.treeHead()).toEqual(head);
  });
});
