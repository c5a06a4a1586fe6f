// Revocation reload without a restart: the file is parsed line by line (a bad line keeps the old
// list and is named), a reload replaces the deny list, and a running coordinator closes the open
// session of a certificate the reloaded file revokes; the site's next session is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, createHash } from 'node:crypto';
import { pino } from 'pino';
import * as grpc from '@grpc/grpc-js';
import { DenyList } from '../shared/security/fingerprint.js';
import { provisionStudy, type ProvisionedKit } from '../shared/security/provision.js';
import { coordinatorFileSchema } from '../shared/config/study.js';
import { connectFederation, type CoordinatorMessage } from '../shared/protocol/index.js';
import { bytesOf, tensorSetDigest } from '../shared/tensor/tensor-set.js';
import { clientCredentials } from '../shared/security/tls.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import { startCoordinator } from './coordinator.js';
import { parseRevocationFile, watchRevocations } from './revocations.js';
import { SiteRegistry, type SiteSession } from './site-registry.js';

const FP_A = 'a'.repeat(64);
const FP_B = 'b'.repeat(64);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fl-revocations-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the revocation file', () => {
  it('is parsed with comments and colons; a bad line is named with what to do', () => {
    expect(parseRevocationFile(`# revoked 2026-01-02\n${FP_A}  # hosp-a laptop\n\n${'BB:'.repeat(31)}BB\n`, 'r.txt')).toEqual([FP_A, FP_B]);
    expect(() => parseRevocationFile(`${FP_A}\nnot-a-fingerprint\n`, 'r.txt')).toThrow(/^r\.txt line 2: .*fix the line \(the previous revocation list stays in force\)/);
  });

  it('reloads into the deny list, keeps the old list on a bad file, and tells the caller', () => {
    const path = join(dir, 'revoked.txt');
    writeFileSync(path, `${FP_A}\n`);
    const deny = new DenyList();
    let reloads = 0;
    const w = watchRevocations(path, [], deny, pino({ level: 'silent' }), 60_000, () => reloads++);
    try {
      expect(deny.has(FP_A)).toBe(true);
      expect(reloads).toBe(0); // the initial load is not a reload
      writeFileSync(path, `${FP_A}\n${FP_B}\n`);
      w.reload();
      expect(deny.has(FP_B)).toBe(true);
      expect(reloads).toBe(1);
      writeFileSync(path, 'garbage\n');
      w.reload();
      expect(deny.has(FP_A) && deny.has(FP_B)).toBe(true);
      expect(reloads).toBe(1);
    } finally {
      w.close();
    }
    writeFileSync(path, 'garbage\n');
    expect(() => watchRevocations(path, [], new DenyList(), pino({ level: 'silent' }))).toThrow(/line 1/);
  });

  it('SiteRegistry.closeRevoked closes only the sessions of revoked certificates', () => {
    const reg = new SiteRegistry();
    const closed: string[] = [];
    const session = (site: string, fingerprint: string | null): SiteSession => ({
      site, backend: 'cpu', fingerprint, cohortCounts: {}, send: () => undefined, close: (r) => closed.push(`${site}: ${r}`),
    });
    reg.connect(session('hosp-a', FP_A));
    reg.connect(session('hosp-b', FP_B));
    reg.connect(session('insecure', null));
    const deny = new DenyList([FP_B]);
    expect(reg.closeRevoked((fp) => deny.has(fp))).toEqual(['hosp-b']);
    expect(closed).toEqual([`hosp-b: site "hosp-b": certificate ${FP_B.slice(0, 16)}… was revoked by the study team; ask for a new startup kit`]);
  });
});

describe('a running coordinator', () => {
  let kits: readonly ProvisionedKit[];
  it('closes the open session of a certificate revoked by a reload, and refuses its next session', async () => {
    kits = (await provisionStudy({ study: 'st', sites: ['hosp-a', 'hosp-b'], admins: ['ops'], coordinatorHost: 'localhost', out: join(dir, 'pki') })).kits;
    const kit = (role: string, name: string) => kits.find((k) => k.role === role && k.name === name)!.dir;
    const revoked = join(dir, 'coord-revoked.txt');
    writeFileSync(revoked, '# nothing revoked yet\n');
    const ck = kit('coordinator', 'localhost');
    const h = await startCoordinator(coordinatorFileSchema.parse({
      study: { id: 'st', rounds: 1, min_sites: 2, sites: ['hosp-a', 'hosp-b'], round_deadline_s: 30, join_timeout_s: 30, models: [{ name: 'm', architecture: 'fake' }] },
      coordinator: {
        listen: '127.0.0.1:0', data_dir: join(dir, 'coord'), revoked_fingerprints_file: revoked,
        tls: { ca: join(ck, 'ca.pem'), cert: join(ck, 'cert.pem'), key: join(ck, 'key.pem') },
      },
    }), {
      log: pino({ level: 'silent' }), autoStart: false,
      initialModels: async () => new Map([['m', { infos: [{ name: 'w', shape: [4], dtype: 'float32' }], data: new Float32Array(4) } as TensorSet]]),
    });
    const creds = (site: string) => clientCredentials({ ca: join(kit('site', site), 'ca.pem'), cert: join(kit('site', site), 'cert.pem'), key: join(kit('site', site), 'key.pem') });
    const open = (site: string) => {
      const client = connectFederation(`localhost:${h.port}`, creds(site));
      const session = client.session();
      const welcomed = new Promise<void>((resolve, reject) => {
        session.onMessage((m) => { if (m.type === 'welcome') resolve(); }, reject);
        session.onError(reject);
      });
      const ended = new Promise<grpc.ServiceError>((resolve) => session.onError((e) => resolve(e as grpc.ServiceError)));
      session.send({ type: 'hello', studyId: 'st', siteId: site, agentVersion: '0.1.0', backend: 'cpu', cohortCounts: { train: 10 } });
      return { client, session, welcomed, ended };
    };
    const a = open('hosp-a');
    const b = open('hosp-b');
    try {
      await Promise.all([a.welcomed, b.welcomed]);
      const fp = createHash('sha256').update(new X509Certificate(readFileSync(join(kit('site', 'hosp-a'), 'cert.pem'))).raw).digest('hex');
      writeFileSync(revoked, `# hosp-a's laptop was stolen\n${fp}\n`);
      // The file watch (polled each second) picks the change up: hosp-a's open session ends.
      const end = await a.ended;
      expect(end.code).toBe(grpc.status.UNAVAILABLE);
      expect(end.details).toBe(`site "hosp-a": certificate ${fp.slice(0, 16)}… was revoked by the study team; ask for a new startup kit`);
      // Its next session is refused at the gate; hosp-b is untouched.
      const again = open('hosp-a');
      again.welcomed.catch(() => undefined);
      const refused = await again.ended;
      expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(refused.details).toMatch(/revoked/);
      again.client.close();
      expect(h.status().sites.find((s) => s.siteId === 'hosp-b')!.connected).toBe(true);
    } finally {
      a.client.close();
      b.session.cancel();
      b.client.close();
      h.engine.stop();
      await h.close();
    }
  }, 60_000);

  it('refuses an update whose certificate was revoked while it was uploading', async () => {
    const kit = (role: string, name: string) => kits.find((k) => k.role === role && k.name === name)!.dir;
    const revoked = join(dir, 'coord2-revoked.txt');
    writeFileSync(revoked, '');
    const ck = kit('coordinator', 'localhost');
    const h = await startCoordinator(coordinatorFileSchema.parse({
      study: { id: 'st', rounds: 1, min_sites: 2, sites: ['hosp-a', 'hosp-b'], round_deadline_s: 60, join_timeout_s: 30, models: [{ name: 'm', architecture: 'fake' }] },
      coordinator: {
        listen: '127.0.0.1:0', data_dir: join(dir, 'coord2'), revoked_fingerprints_file: revoked,
        tls: { ca: join(ck, 'ca.pem'), cert: join(ck, 'cert.pem'), key: join(ck, 'key.pem') },
      },
    }), {
      log: pino({ level: 'silent' }), autoStart: false,
      initialModels: async () => new Map([['m', { infos: [{ name: 'w', shape: [4], dtype: 'float32' }], data: new Float32Array(4) } as TensorSet]]),
    });
    const creds = (site: string) => clientCredentials({ ca: join(kit('site', site), 'ca.pem'), cert: join(kit('site', site), 'cert.pem'), key: join(kit('site', site), 'key.pem') });
    const clients = ['hosp-a', 'hosp-b'].map((site) => {
      const client = connectFederation(`localhost:${h.port}`, creds(site));
      const session = client.session();
      const task = new Promise<CoordinatorMessage & { type: 'train' }>((resolve) => session.onMessage((m) => { if (m.type === 'train') resolve(m); }, () => undefined));
      const ended = new Promise<grpc.ServiceError>((resolve) => session.onError((e) => resolve(e as grpc.ServiceError)));
      session.send({ type: 'hello', studyId: 'st', siteId: site, agentVersion: '0.1.0', backend: 'cpu', cohortCounts: { train: 10 } });
      return { client, session, task, ended };
    });
    const [a, b] = clients as [typeof clients[0], typeof clients[0]];
    try {
      await waitUntil(() => h.sites.isConnected('hosp-a') && h.sites.isConnected('hosp-b'));
      h.start();
      const t = await a.task;
      const ref = t.models[0]!;
      const delta = { infos: [{ name: 'w', shape: [4], dtype: 'float32' as const }], data: new Float32Array([0.1, 0.2, 0.3, 0.4]) };
      const bytes = Buffer.from(bytesOf(delta.data));
      const up = a.client.uploadUpdate();
      up.write({ type: 'header', header: {
        studyId: 'st', siteId: 'hosp-a', model: ref.model, round: t.round, modelVersion: ref.version, numExamples: 10, digest: tensorSetDigest(delta),
        tensors: delta.infos.map((x) => ({ ...x, shape: [...x.shape] })), totalBytes: bytes.length, updateId: 'hosp-a-m-r1-0001', metrics: {}, taskId: t.taskId, signature: '', resumeOffset: 0,
      } });
      up.write({ type: 'chunk', chunk: { offset: 0, data: bytes, sha256: createHash('sha256').update(bytes).digest('hex') } });
      const spool = h.engine.updatesDir(ref.model, t.round);
      await waitUntil(() => existsSync(spool) && readdirSync(spool).some((n) => n.endsWith('.partial')));
      // Revoked with every byte received but before the stream ends.
      const fp = createHash('sha256').update(new X509Certificate(readFileSync(join(kit('site', 'hosp-a'), 'cert.pem'))).raw).digest('hex');
      writeFileSync(revoked, `${fp}\n`);
      expect((await a.ended).details).toMatch(/was revoked by the study team/);
      up.end();
      const refused = await up.receipt.then(() => null, (e: grpc.ServiceError) => e);
      expect(refused?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(refused?.details).toMatch(/revoked/);
      expect(h.engine.acceptedUpdate('hosp-a', 'hosp-a-m-r1-0001')).toBeUndefined();
    } finally {
      for (const c of clients) c.client.close();
      void b;
      h.engine.stop();
      await h.close();
    }
  }, 60_000);
});

async function waitUntil(pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
