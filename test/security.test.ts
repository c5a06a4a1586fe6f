// The real coordinator over mutual TLS on loopback refuses, each with a clear error, what the
// security model forbids, while a well-behaved site completes its round: no client certificate,
// a certificate from another CA, an expired certificate, a site certificate on an admin call, a
// site claiming another site's id (on its session and on SubmitEvaluation), a revoked site, and an
// oversize message.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { provisionStudy } from '../shared/security/provision.js';
import { createCa, issueCert, loadCa, certPem, privateKeyPem } from '../shared/security/certs.js';
import { clientCredentials } from '../shared/security/tls.js';
import { startCoordinator, type CoordinatorHandle } from '../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { connectFederation, connectStudyAdmin, type CoordinatorMessage, type FederationClient } from '../shared/protocol/index.js';
import { SiteAgent } from '../site-agent/agent.js';
import { uploadUpdate } from '../site-agent/transfer.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { OffsetTrainer } from './helpers/fake-trainer.js';

const log = pino({ level: 'silent' });
const infos = [{ name: 'w', shape: [8], dtype: 'float32' as const }];
let dir: string;
let handle: CoordinatorHandle;
let agent: SiteAgent;
let kits: { role: string; name: string; dir: string; fingerprint: string }[];
const kit = (role: string, name: string) => {
  const k = kits.find((x) => x.role === role && x.name === name)!;
  return { ca: join(k.dir, 'ca.pem'), cert: join(k.dir, 'cert.pem'), key: join(k.dir, 'key.pem') };
};
const client = (creds: grpc.ChannelCredentials) => connectFederation(`localhost:${handle.port}`, creds);

function helloAs(c: FederationClient, siteId: string): Promise<grpc.ServiceError | CoordinatorMessage> {
  return new Promise((resolve) => {
    const s = c.session();
    s.onMessage((m) => {
      resolve(m);
      s.cancel();
    }, (e) => resolve(Object.assign(e, { code: grpc.status.INTERNAL, details: e.message, metadata: new grpc.Metadata() })));
    s.onError((e) => resolve(e));
    s.send({ type: 'hello', studyId: 'sec', siteId, agentVersion: 't', backend: 'x', cohortCounts: {} });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sec-'));
  const res = await provisionStudy({ study: 'sec', sites: ['good', 'other', 'revoked', 'big'], admins: ['ops'], coordinatorHost: 'localhost', out: join(dir, 'pki') });
  kits = res.kits.map((k) => ({ role: k.role, name: k.name, dir: k.dir, fingerprint: k.fingerprint }));
  const file = coordinatorFileSchema.parse({
    study: { id: 'sec', rounds: 1, min_sites: 1, sites: ['good'], round_deadline_s: 30, join_timeout_s: 30, models: [{ name: 'm', architecture: 'fake' }] },
    coordinator: { listen: '127.0.0.1:0', data_dir: join(dir, 'coord'), tls: kit('coordinator', 'localhost') },
  });
  handle = await startCoordinator(file, {
    log, initialModels: async () => new Map([['m', { infos, data: new Float32Array(8) } as TensorSet]]),
    denyFingerprints: [kits.find((k) => k.name === 'revoked')!.fingerprint], autoStart: false,
  });
});
afterAll(async () => {
  agent?.shutdown();
  await handle?.close();
});

describe('mutual TLS at the real coordinator', () => {
  it('refuses a client without a certificate, from another CA, or expired', async () => {
    const ca = readFileSync(kit('site', 'good').ca);
    expect(await helloAs(client(grpc.credentials.createSsl(ca)), 'good')).toMatchObject({ code: grpc.status.UNAVAILABLE });

    const now = Date.now();
    const validity = { study: 'x', notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) };
    const foreignCa = await createCa(validity);
    const foreign = await issueCert(foreignCa, { kind: 'party', role: 'site', name: 'good' }, validity);
    const foreignCreds = grpc.credentials.createSsl(ca, Buffer.from(await privateKeyPem(foreign)), Buffer.from(certPem(foreign)));
    expect(await helloAs(client(foreignCreds), 'good')).toMatchObject({ code: grpc.status.UNAVAILABLE });

    const studyCa = await loadCa(readFileSync(join(dir, 'pki', 'ca', 'ca.pem'), 'utf8'), readFileSync(join(dir, 'pki', 'ca', 'ca.key'), 'utf8'));
    const expired = await issueCert(studyCa, { kind: 'party', role: 'site', name: 'good' }, { study: 'sec', notBefore: new Date(now - 10 * 86_400_000), notAfter: new Date(now - 86_400_000) });
    const expiredCreds = grpc.credentials.createSsl(ca, Buffer.from(await privateKeyPem(expired)), Buffer.from(certPem(expired)));
    expect(await helloAs(client(expiredCreds), 'good')).toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('refuses a site certificate on an admin call, and serves the admin certificate', async () => {
    const asSite = connectStudyAdmin(`localhost:${handle.port}`, clientCredentials(kit('site', 'good')));
    const err = await asSite.getStatus().then(() => { throw new Error('served a site certificate'); }, (e: grpc.ServiceError) => e);
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toMatch(/site "good" may not call this method \(requires an admin certificate\)/);
    const asAdmin = connectStudyAdmin(`localhost:${handle.port}`, clientCredentials(kit('admin', 'ops')));
    const status = await asAdmin.getStatus();
    expect(status.studyId).toBe('sec');
  });

  it('refuses a site claiming another site id and a revoked site', async () => {
    const claim = await helloAs(client(clientCredentials(kit('site', 'other'))), 'good');
    expect(claim).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/site "other" sent a message claiming site_id "good"/) });
    const revoked = await helloAs(client(clientCredentials(kit('site', 'revoked'))), 'revoked');
    expect(revoked).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringMatching(/revoked/) });
  });

  it('refuses a site submitting an evaluation under another site id: PERMISSION_DENIED with the reason, not INTERNAL', async () => {
    const other = client(clientCredentials(kit('site', 'other')));
    const batch = { studyId: 'sec', siteId: 'good', taskId: 'eval-not-open', predictions: [], aggregateJson: '', digest: '0'.repeat(64) };
    const err = await other.submitEvaluation([batch]).then(() => { throw new Error('accepted'); }, (e: grpc.ServiceError) => e);
    other.close();
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toMatch(/site "other" sent a message claiming site_id "good"/);
    expect(err.details).not.toMatch(/internal error|\n\s+at /);
    // The site itself, under its own id, is told what is wrong with the request instead.
    const own = client(clientCredentials(kit('site', 'other')));
    const ownErr = await own.submitEvaluation([{ ...batch, siteId: 'other' }]).then(() => { throw new Error('accepted'); }, (e: grpc.ServiceError) => e);
    own.close();
    expect(ownErr).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: expect.stringMatching(/site "other": no open evaluation task "eval-not-open"/) });
  });

  it('refuses an oversize message while a well-behaved site completes its round', async () => {
    agent = new SiteAgent({
      studyId: 'sec', siteId: 'good', address: `localhost:${handle.port}`, credentials: clientCredentials(kit('site', 'good')),
      backoff: { initial_ms: 50, max_ms: 500 },
    }, new OffsetTrainer(1, 10, 300), log);
    void agent.run();
    handle.start();
    const big = client(clientCredentials(kit('site', 'big')));
    // One 12 MiB message (the limit is 8 MiB) from a party not listed in the study: refused on its
    // identity before anything is read.
    const err = await (async () => {
      const call = big.uploadUpdate();
      call.write({ type: 'chunk', chunk: { offset: 0, data: Buffer.alloc(12 << 20), sha256: '' } });
      call.end();
      return call.receipt.then(() => { throw new Error('accepted'); }, (e: grpc.ServiceError) => e);
    })();
    expect(err).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/site "big" is not listed in the study's sites/) });
    // The same site can still make well-formed calls afterwards (refused here for a real reason).
    const after = await uploadUpdate(big, {
      studyId: 'sec', siteId: 'big', model: 'm', round: 1, modelVersion: 0, numExamples: 1, updateId: 'big-update-1', metrics: {}, taskId: 't', signature: '',
    }, { infos, data: new Float32Array(8) }).catch((e: grpc.ServiceError) => e);
    expect(after).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: expect.stringMatching(/site "big" is not listed/) });
    const outcome = await handle.done;
    expect(outcome.state).toBe('completed');
    expect(outcome.rounds[0]!.models.m!.sites).toEqual(['good']);
  });
});
