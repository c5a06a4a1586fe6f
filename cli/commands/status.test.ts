// `fl status` and `fl study start|stop` against a real coordinator over mutual TLS with a
// provisioned admin kit; and the errors an operator meets: a site kit instead of an admin kit,
// a site certificate behind an admin.yaml, an unreachable coordinator, a bad option.
import { runCli } from '../../test/helpers/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { provisionStudy, type ProvisionedKit } from '../../shared/security/provision.js';
import { startCoordinator, type CoordinatorHandle } from '../../coordinator/coordinator.js';
import { coordinatorFileSchema } from '../../shared/config/study.js';
import type { TensorSet } from '../../shared/tensor/tensor-set.js';
import type { StatusResponse } from '../../shared/protocol/index.js';
import { CliError } from '../errors.js';
import { register as registerStatus, formatStatus, cosignProblems } from './status.js';
import { connectFederation } from '../../shared/protocol/index.js';
import { clientCredentials } from '../../shared/security/tls.js';
import { register as registerStudy } from './study.js';

let dir: string;
let handle: CoordinatorHandle;
let kits: readonly ProvisionedKit[];
let target: string;
const kitOf = (role: string, name: string) => kits.find((k) => k.role === role && k.name === name)!;

const fl = (...args: string[]): Promise<string> => runCli([registerStatus, registerStudy], args);

async function flError(...args: string[]): Promise<CliError> {
  const err = await fl(...args).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fl-status-'));
  kits = (await provisionStudy({ study: 'st', sites: ['hosp-a'], admins: ['ops'], coordinatorHost: 'localhost', out: join(dir, 'pki') })).kits;
  const file = coordinatorFileSchema.parse({
    study: { id: 'st', rounds: 1, min_sites: 1, sites: ['hosp-a'], round_deadline_s: 30, join_timeout_s: 30, models: [{ name: 'm', architecture: 'fake' }] },
    coordinator: { listen: '127.0.0.1:0', data_dir: join(dir, 'coord'), tls: { ca: join(kitOf('coordinator', 'localhost').dir, 'ca.pem'), cert: join(kitOf('coordinator', 'localhost').dir, 'cert.pem'), key: join(kitOf('coordinator', 'localhost').dir, 'key.pem') } },
  });
  handle = await startCoordinator(file, {
    log: pino({ level: 'silent' }), autoStart: false,
    initialModels: async () => new Map([['m', { infos: [{ name: 'w', shape: [4], dtype: 'float32' }], data: new Float32Array(4) } as TensorSet]]),
  });
  target = `localhost:${handle.port}`;
});
afterAll(async () => {
  handle?.engine.stop();
  await handle?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('fl status / fl study with an admin kit', () => {
  it('shows the waiting study, starts it and stops it', async () => {
    const admin = kitOf('admin', 'ops').config;
    const text = await fl('status', '--config', admin, '--coordinator', target);
    // The listed site that has not connected yet counts: 0/1, not 0/0 (issue 18).
    expect(text).toMatch(/^study st: waiting, round 0, 0\/1 sites connected$/m);
    expect(text).toMatch(/never/);
    const json = JSON.parse(await fl('status', '--config', admin, '--coordinator', target, '--json')) as StatusResponse;
    expect(json).toMatchObject({ studyId: 'st', state: 'waiting', sites: [{ connected: false, lastSeenUnixMs: 0 }], rounds: [] });

    expect(await fl('study', 'start', '--config', admin, '--coordinator', target)).toBe(`${target}: study started`);
    expect(JSON.parse(await fl('status', '--config', admin, '--coordinator', target, '--json')).state).toBe('training');
    expect(JSON.parse(await fl('study', 'stop', '--config', admin, '--coordinator', target, '--json'))).toEqual({ action: 'stop', coordinator: target, ok: true, message: 'study stopping (stopped by admin "ops")' });
    const outcome = await handle.done;
    expect(outcome.state).toBe('stopped'); // an admin's stop is a stop, not a failure (issue 18)
  });

  it('names the file and field when given a site kit, and explains a site certificate refused', async () => {
    const siteYaml = kitOf('site', 'hosp-a').config;
    const wrongKit = await flError('status', '--config', siteYaml, '--coordinator', target);
    expect(wrongKit.exitCode).toBe(2);
    expect(wrongKit.message).toContain(`${siteYaml}: field "admin_id"`);

    const siteDir = kitOf('site', 'hosp-a').dir;
    const disguised = join(dir, 'disguised.yaml');
    writeFileSync(disguised, stringify({ admin_id: 'ops', coordinator: target, tls: { ca: join(siteDir, 'ca.pem'), cert: join(siteDir, 'cert.pem'), key: join(siteDir, 'key.pem') } }));
    const refused = await flError('study', 'stop', '--config', disguised);
    expect(refused.exitCode).toBe(1);
    expect(refused.message).toMatch(/^StopStudy refused by the coordinator at localhost:\d+: site "hosp-a" may not call this method \(requires an admin certificate\)/);

    const missingKey = join(dir, 'missing-key.yaml');
    writeFileSync(missingKey, stringify({ admin_id: 'ops', coordinator: target, tls: { ca: join(siteDir, 'ca.pem'), cert: join(siteDir, 'cert.pem'), key: join(dir, 'nope.pem') } }));
    const noKey = await flError('status', '--config', missingKey);
    expect(noKey.message).toMatch(new RegExp(`^${missingKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: field "tls": cannot read the private key .*nope\\.pem: ENOENT`));
  });

  it('explains an unreachable coordinator and refuses bad options', async () => {
    const admin = kitOf('admin', 'ops').config;
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const down = await flError('status', '--config', admin, '--coordinator', `localhost:${port}`, '--timeout', '5');
    expect(down.exitCode).toBe(1);
    // Nothing listens: connection advice, not certificate advice (issue 18).
    expect(down.message).toMatch(new RegExp(`^GetStatus: connection refused by localhost:${port}: nothing listens there yet: is the coordinator running`));
    expect(down.message).not.toMatch(/certificate/);
    expect((await flError('status', '--config', admin, '--timeout', 'soon')).message).toBe('--timeout "soon": expected a positive number of seconds');
    expect((await flError('status', '--config', admin, '--coordinator', 'nohost')).message).toMatch(/^--coordinator "nohost": expected HOST:PORT/);
  });
});

describe('formatStatus', () => {
  it('prints sites and the last rounds as aligned tables', () => {
    const now = 1_700_000_000_000;
    const text = formatStatus({
      studyId: 'sln', state: 'training', round: 3,
      sites: [
        { siteId: 'hosp-b', connected: false, backend: '', lastSeenUnixMs: now - 600_000 },
        { siteId: 'hosp-a', connected: true, backend: 'tensorflow', lastSeenUnixMs: now - 2_000 },
      ],
      rounds: [
        { round: 1, state: 'completed', sites: ['hosp-a', 'hosp-b'], metrics: { 'ddfn.loss': 0.61234, 'ddfn.n': 240 } },
        { round: 2, state: 'completed_without_some_sites', sites: ['hosp-a'], metrics: {} },
      ],
    }, { now, maxRounds: 1 });
    expect(text).toBe([
      'study sln: training, round 3, 1/2 sites connected',
      '',
      'SITE    CONNECTED  BACKEND     LAST SEEN',
      'hosp-a  yes        tensorflow  2 s ago',
      'hosp-b  no         -           10 min ago',
      '',
      '(1 earlier rounds not shown; --rounds 0 shows all)',
      'ROUND  STATE                         SITES   METRICS',
      '2      completed_without_some_sites  hosp-a  -',
    ].join('\n'));
  });
});

describe('a site that refuses to co-sign', () => {
  it('makes fl status exit non-zero with the site, its reason and what to do', async () => {
    const d = mkdtempSync(join(tmpdir(), 'fl-status-cosign-'));
    const coordKit = kitOf('coordinator', 'localhost').dir;
    const h = await startCoordinator(coordinatorFileSchema.parse({
      study: { id: 'st', rounds: 1, min_sites: 1, sites: ['hosp-a'], round_deadline_s: 30, join_timeout_s: 30, models: [{ name: 'm', architecture: 'fake' }] },
      coordinator: { listen: '127.0.0.1:0', data_dir: join(d, 'coord'), tls: { ca: join(coordKit, 'ca.pem'), cert: join(coordKit, 'cert.pem'), key: join(coordKit, 'key.pem') } },
    }), {
      log: pino({ level: 'silent' }), autoStart: false,
      initialModels: async () => new Map([['m', { infos: [{ name: 'w', shape: [4], dtype: 'float32' }], data: new Float32Array(4) } as TensorSet]]),
    });
    const siteKit = kitOf('site', 'hosp-a').dir;
    const client = connectFederation(`localhost:${h.port}`, clientCredentials({ ca: join(siteKit, 'ca.pem'), cert: join(siteKit, 'cert.pem'), key: join(siteKit, 'key.pem') }));
    const session = client.session();
    try {
      const admin = kitOf('admin', 'ops').config;
      const target = `localhost:${h.port}`;
      await new Promise<void>((resolve, reject) => {
        session.onMessage((m) => { if (m.type === 'welcome') resolve(); }, reject);
        session.onError(reject);
        session.send({ type: 'hello', studyId: 'st', siteId: 'hosp-a', agentVersion: '0.1.0', backend: 'cpu', cohortCounts: { train: 10 } });
      });
      // Before: status exits 0.
      expect(await fl('status', '--config', admin, '--coordinator', target)).toMatch(/^study st: waiting/);
      const reason = 'the consistency proof from size 12 does not verify: the study log was rewritten';
      session.send({ type: 'cosignature', head: null, signature: '', error: reason, lastSize: 0 });
      let err: CliError | null = null;
      for (let i = 0; i < 100 && !err; i++) {
        err = await fl('status', '--config', admin, '--coordinator', target).then(() => null, (e: CliError) => e);
        if (!err) await new Promise((r) => setTimeout(r, 50));
      }
      expect(err).toBeInstanceOf(CliError);
      expect(err!.exitCode).toBe(3);
      expect(err!.message).toBe(`site "hosp-a" REFUSED to co-sign the study log: ${reason}. Do not trust this study's results until it is explained: `
        + "compare the heads the sites recorded with the log (fl audit verify DIR --ca study-ca.pem --strict --cosign-state SITE_WORK_DIR...) and ask the site's team what its agent logged");
      // --json still exits non-zero and carries the reason.
      const jsonErr = await flError('status', '--config', admin, '--coordinator', target, '--json');
      expect(jsonErr.exitCode).toBe(3);
    } finally {
      session.cancel();
      client.close();
      h.engine.stop();
      await h.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('formatStatus lists the refusal under the tables', () => {
    const s: StatusResponse = {
      studyId: 'sln', state: 'training', round: 2, rounds: [],
      sites: [{ siteId: 'hosp-a', connected: true, backend: 'cpu', lastSeenUnixMs: 1, cosignRefused: 'fork at size 9' }, { siteId: 'hosp-b', connected: true, backend: 'cpu', lastSeenUnixMs: 1, cosignRefused: '' }],
    };
    expect(cosignProblems(s)).toEqual([expect.stringMatching(/^site "hosp-a" REFUSED to co-sign the study log: fork at size 9\. /)]);
    expect(formatStatus(s, { now: 2 }).split('\n').slice(-1)[0]).toMatch(/^!! site "hosp-a" REFUSED to co-sign the study log: fork at size 9\. Do not trust/);
    expect(cosignProblems({ ...s, sites: [s.sites[1]!] })).toEqual([]);
  });
});
