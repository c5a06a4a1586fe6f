// Loopback gRPC over real mutual TLS with a hand-made service (JSON serializers), so the
// security layer is tested independently of the project's proto: every refusal in issue 6
// gets a clear gRPC error while a well-behaved site keeps being served.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certPem, createCa, issueCert, loadCa, privateKeyPem, type KeyedCertificate } from './certs.js';
import { DenyList, normaliseFingerprint } from './fingerprint.js';
import { grpcStatus } from './grpc-errors.js';
import { assertClaimedSite, authorize } from './identity.js';
import { CallLimiter, clientOptions, deadlineAfter, serverOptions } from './limits.js';
import { provisionStudy, type ProvisionResult } from './provision.js';
import {
  clientCredentials,
  explainConnectionError,
  insecureClientCredentials,   serverCredentials,
  TlsConfigError,
  type TlsKitFiles,
} from './tls.js';

type Json = Record<string, unknown>;
const json = {
  serialize: (v: Json): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): Json => JSON.parse(b.toString('utf8')) as Json,
};
function unary(name: string): grpc.MethodDefinition<Json, Json> {
  return {
    path: `/fl.test.Probe/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  };
}
const service: grpc.ServiceDefinition = {
  whoami: unary('WhoAmI'),
  startRound: unary('StartRound'),
  slow: unary('Slow'),
};
const ProbeClient = grpc.makeGenericClientConstructor(service, 'Probe');
type Probe = InstanceType<typeof ProbeClient>;

const MAX_MESSAGE = 64 * 1024;

function call(client: Probe, method: string, req: Json = {}): Promise<Json> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Function>)[method]!.bind(client);
    fn(req, { deadline: deadlineAfter(10_000) }, (err: grpc.ServiceError | null, res: Json) => (err ? reject(err) : resolve(res)));
  });
}

async function refusal(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to be refused');
}

describe('mutual TLS, identity, revocation and limits on loopback', () => {
  let dir: string;
  let kits: ProvisionResult;
  let port: number;
  let server: grpc.Server;
  const logs: Array<{ msg: string; [k: string]: unknown }> = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void logs.push(JSON.parse(s)) });
  const deny = new DenyList();
  const limiter = new CallLimiter(2);
  let releaseSlow: () => void = () => {};
  let slowGate = Promise.resolve();
  const clients: Probe[] = [];

  const kitOf = (role: 'sites' | 'admins', name: string): TlsKitFiles => {
    const d = join(dir, role, name);
    return { ca: join(d, 'ca.pem'), cert: join(d, 'cert.pem'), key: join(d, 'key.pem') };
  };
  const connect = (creds: grpc.ChannelCredentials): Probe => {
    const c = new ProbeClient(`localhost:${port}`, creds, { ...clientOptions(), 'grpc.use_local_subchannel_pool': 1 });
    clients.push(c);
    return c;
  };
  const writeKit = async (name: string, leaf: KeyedCertificate, ca: string): Promise<TlsKitFiles> => {
    const files = { ca, cert: join(dir, `${name}.cert.pem`), key: join(dir, `${name}.key.pem`) };
    writeFileSync(files.cert, certPem(leaf));
    writeFileSync(files.key, await privateKeyPem(leaf), { mode: 0o600 });
    return files;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fl-mtls-'));
    kits = await provisionStudy({
      study: 'probe',
      sites: ['site-a', 'site-b', 'site-c'],
      admins: ['alice'],
      coordinatorHost: 'localhost',
      out: dir,
    });
    deny.add(kits.kits.find((k) => k.name === 'site-c')!.fingerprint);

    const handler =
      (roles: Array<'site' | 'admin'>, method: string) =>
      (c: grpc.ServerUnaryCall<Json, Json>, cb: grpc.sendUnaryData<Json>) => {
        (async () => {
          const who = authorize(c, { roles, deny, log, method });
          return limiter.run(`${who.role}/${who.name}`, async () => {
            if (typeof c.request.site_id === 'string') assertClaimedSite(who, c.request.site_id, log);
            if (method === 'Slow') await slowGate;
            return { role: who.role, name: who.name, fingerprint: who.fingerprint, bytes: JSON.stringify(c.request).length };
          });
        })().then(
          (res) => cb(null, res),
          (err) => cb(grpcStatus(err)),
        );
      };
    server = new grpc.Server(serverOptions({ maxMessageBytes: MAX_MESSAGE }));
    server.addService(service, {
      whoami: handler(['site', 'admin'], 'WhoAmI'),
      startRound: handler(['admin'], 'StartRound'),
      slow: handler(['site'], 'Slow'),
    });
    const coord = join(dir, 'coordinator');
    const creds = serverCredentials({ ca: join(coord, 'ca.pem'), cert: join(coord, 'cert.pem'), key: join(coord, 'key.pem') });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a well-behaved site and admin, identified by their certificates', async () => {
    const site = connect(clientCredentials(kitOf('sites', 'site-a')));
    const res = await call(site, 'whoami', { site_id: 'site-a' });
    expect(res).toMatchObject({ role: 'site', name: 'site-a' });
    expect(res.fingerprint).toBe(kits.kits.find((k) => k.name === 'site-a')!.fingerprint);
    const admin = connect(clientCredentials(kitOf('admins', 'alice')));
    expect(await call(admin, 'startRound')).toMatchObject({ role: 'admin', name: 'alice' });
  });

  it('refuses a client without a certificate at the TLS handshake', async () => {
    const ca = readFileSync(kitOf('sites', 'site-a').ca);
    const err = await refusal(call(connect(grpc.credentials.createSsl(ca)), 'whoami'));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(/certificate required/i);
    expect(explainConnectionError(err, 'localhost')).toMatch(/requires a client certificate/);
  });

  it('refuses a certificate from another CA', async () => {
    const now = Date.now();
    const validity = { study: 'probe', notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) };
    const rogueCa = await createCa(validity);
    const rogue = await issueCert(rogueCa, { kind: 'party', role: 'site', name: 'site-a' }, validity);
    const files = await writeKit('rogue', rogue, kitOf('sites', 'site-a').ca);
    expect(() => clientCredentials(files)).toThrow(/was not issued by the study CA/);
    const creds = grpc.credentials.createSsl(readFileSync(files.ca), readFileSync(files.key), readFileSync(files.cert));
    const err = await refusal(call(connect(creds), 'whoami'));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(explainConnectionError(err, 'localhost')).toMatch(/refused this party's certificate/);
  });

  it('refuses an expired certificate (enforced by TLS) and the kit loader names it', async () => {
    const site = kitOf('sites', 'site-a');
    const ca = await loadCa(readFileSync(join(dir, 'ca', 'ca.pem'), 'utf8'), readFileSync(join(dir, 'ca', 'ca.key'), 'utf8'));
    const now = Date.now();
    const expired = await issueCert(
      ca,
      { kind: 'party', role: 'site', name: 'site-a' },
      { study: 'probe', notBefore: new Date(now - 10 * 86_400_000), notAfter: new Date(now - 86_400_000) },
    );
    const files = await writeKit('expired', expired, site.ca);
    expect(() => clientCredentials(files)).toThrow(TlsConfigError);
    expect(() => clientCredentials(files)).toThrow(/expired on/);
    const creds = grpc.credentials.createSsl(readFileSync(files.ca), readFileSync(files.key), readFileSync(files.cert));
    const err = await refusal(call(connect(creds), 'whoami'));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('refuses a site certificate on an admin method', async () => {
    const site = connect(clientCredentials(kitOf('sites', 'site-b')));
    const err = await refusal(call(site, 'startRound'));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe('site "site-b" may not call this method (requires an admin certificate)');
  });

  it('refuses and logs a site claiming another site id', async () => {
    const site = connect(clientCredentials(kitOf('sites', 'site-b')));
    const err = await refusal(call(site, 'whoami', { site_id: 'site-a' }));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toContain('claiming site_id "site-a"');
    expect(logs.some((l) => l.msg === 'refused message claiming another party' && l.name === 'site-b' && l.claimed === 'site-a')).toBe(true);
  });

  it('refuses and logs a revoked site', async () => {
    const revoked = connect(clientCredentials(kitOf('sites', 'site-c')));
    const err = await refusal(call(revoked, 'whoami'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toBe('the certificate of site "site-c" has been revoked');
    expect(logs.some((l) => l.msg === 'refused call from revoked certificate' && l.name === 'site-c')).toBe(true);
  });

  it('refuses an oversize message and keeps serving others', async () => {
    const site = connect(clientCredentials(kitOf('sites', 'site-a')));
    const err = await refusal(call(site, 'whoami', { blob: 'x'.repeat(MAX_MESSAGE + 1) }));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/larger than max/);
    expect(await call(site, 'whoami', { blob: 'x'.repeat(1000) })).toMatchObject({ name: 'site-a' });
    const other = connect(clientCredentials(kitOf('sites', 'site-b')));
    expect(await call(other, 'whoami')).toMatchObject({ name: 'site-b' });
  });

  it('caps concurrent calls per site without affecting other sites', async () => {
    slowGate = new Promise<void>((r) => (releaseSlow = r));
    const a1 = connect(clientCredentials(kitOf('sites', 'site-a')));
    const a2 = connect(clientCredentials(kitOf('sites', 'site-a')));
    const pending = [call(a1, 'slow'), call(a2, 'slow')];
    await new Promise((r) => setTimeout(r, 200));
    expect(limiter.inFlight('site/site-a')).toBe(2);
    const err = await refusal(call(a1, 'slow'));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain('limit 2');
    const b = connect(clientCredentials(kitOf('sites', 'site-b')));
    expect(await call(b, 'whoami')).toMatchObject({ name: 'site-b' });
    releaseSlow();
    await Promise.all(pending);
    expect(limiter.inFlight('site/site-a')).toBe(0);
  });

  it('plain text only through the insecure helper, which warns, and a TLS server refuses it', async () => {
    const lines: string[] = [];
    const warnLog = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
    const err = await refusal(call(connect(insecureClientCredentials(warnLog)), 'whoami'));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(lines.join('')).toContain('INSECURE TRANSPORT');
  });

  it('normalises fingerprints as printed by openssl', () => {
    const fp = kits.kits[1]!.fingerprint;
    const colon = fp.toUpperCase().match(/../g)!.join(':');
    expect(normaliseFingerprint(`sha256 Fingerprint=${colon}`)).toBe(fp);
    expect(new DenyList([colon]).has(fp)).toBe(true);
    expect(() => new DenyList(['abc'])).toThrow(/not a SHA-256 certificate fingerprint/);
  });
});
