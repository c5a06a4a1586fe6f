// The study log replicated to a real NATS JetStream server: the copy verifies and matches the
// file; appends continue while NATS is down and the stream catches up when it returns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NATS_BIN, startNatsServer, type NatsServer } from './helpers/nats-server.js';
import { writeExampleStudy, sha } from './helpers/audit-testing.js';
import { verifyLogDir } from '../shared/audit/verify-dir.js';
import { StudyLog } from '../shared/audit/study-log.js';
import { generateSigningKey } from '../shared/audit/keys.js';
import { flRun } from './helpers/processes.js';

describe.skipIf(!NATS_BIN)('audit log on NATS JetStream', () => {
  let nats: NatsServer;
  let tmp: string;
  beforeAll(async () => {
    nats = await startNatsServer();
    tmp = await mkdtemp(join(tmpdir(), 'fl-audit-nats-'));
  });
  afterAll(async () => {
    await nats?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('replicates every record and head; the JetStream copy verifies and matches the file', async () => {
    const dir = join(tmp, 'study1');
    const { log } = await writeExampleStudy(dir, { studyId: 'study.1', nats: { url: nats.url } });
    expect(await log.flushReplication(10_000)).toBe(true);
    expect(log.replication()).toMatchObject({ pendingRecords: 0, pendingHeads: 0, diverged: null });
    await log.close();
    const v = await verifyLogDir(dir, { nats: { url: nats.url, study: 'study.1' } });
    expect(v.nats!.report.failure).toBeNull();
    expect(v.nats!.agreement).toBe('identical');
    expect(v.nats!.report.records).toBe(v.file.records);
    expect(v.nats!.report.cosignatures.length).toBe(3);
    expect(v.ok).toBe(true);
    // The auditor CLI says the same.
    const r = await flRun(['audit', 'verify', dir, '--nats', nats.url, '--study', 'study.1', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, nats: { agreement: 'identical' } });
  });

  it('keeps appending while NATS is down and catches the stream up when it returns', async () => {
    const dir = join(tmp, 'study2');
    const key = generateSigningKey();
    const log = await StudyLog.open(dir, { signingKey: key, studyId: 'study2', nats: { url: nats.url, maxRetryMs: 300 } });
    await log.append({ type: 'study_config', study: 'study2', digest: sha('c') });
    expect(await log.flushReplication(10_000)).toBe(true);
    await nats.stop();
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) await log.append({ type: 'privacy_accounting', round: i, epsilon: i / 10, delta: 1e-5 });
    const appendMs = Date.now() - t0;
    expect(appendMs).toBeLessThan(5_000); // appends do not wait for NATS
    expect(log.replication()!.pendingRecords).toBeGreaterThan(0);
    await nats.restart();
    expect(await log.flushReplication(20_000)).toBe(true);
    await log.append({ type: 'report', digest: sha('r') });
    expect(await log.flushReplication(10_000)).toBe(true);
    await log.close();
    const v = await verifyLogDir(dir, { nats: { url: nats.url, study: 'study2' } });
    expect(v.nats!.agreement).toBe('identical');
    expect(v.nats!.report.records).toBe(22);
    expect(v.ok).toBe(true);

    // Reopening resumes from the stream's last record, without duplicates.
    const again = await StudyLog.open(dir, { signingKey: key, studyId: 'study2', nats: { url: nats.url } });
    await again.append({ type: 'report', digest: sha('r2') });
    expect(await again.flushReplication(10_000)).toBe(true);
    await again.close();
    const v2 = await verifyLogDir(dir, { nats: { url: nats.url, study: 'study2' } });
    expect(v2.nats!.agreement).toBe('identical');
    expect(v2.nats!.report.records).toBe(23);
  });
});
