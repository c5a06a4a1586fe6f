// Real gRPC failures on loopback, classified: permanent problems (name mismatch, another CA, our
// certificate refused, TLS against plain text, an unlisted site) vs transient ones (refused port).
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { provisionStudy } from '../shared/security/provision.js';
import { clientCredentials, serverCredentials } from '../shared/security/tls.js';
import { rawStudyAdminClient } from '../shared/protocol/raw.js';
import { classifyConnectionError, PermanentConnectionError } from './connection-errors.js';

let dir: string;
let server: grpc.Server;
let port: number;
let plain: Server;
let plainPort: number;
const kit = (study: string, p: string) => ({ ca: join(dir, study, p, 'ca.pem'), cert: join(dir, study, p, 'cert.pem'), key: join(dir, study, p, 'key.pem') });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'connerr-'));
  await provisionStudy({ study: 'one', sites: ['hosp-a'], admins: ['ops'], coordinatorHost: 'localhost', out: join(dir, 'one') });
  await provisionStudy({ study: 'two', sites: ['hosp-a'], admins: [], coordinatorHost: 'localhost', out: join(dir, 'two') });
  server = new grpc.Server();
  port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', serverCredentials(kit('one', 'coordinator')), (e, p) => (e ? rej(e) : res(p))));
  plain = createServer((s) => s.on('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
  plainPort = (plain.address() as { port: number }).port;
});
afterAll(async () => {
  server.forceShutdown();
  plain.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One unary call (the server has no services: a good TLS handshake ends UNIMPLEMENTED). */
function call(target: string, creds: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}): Promise<grpc.ServiceError> {
  const client = rawStudyAdminClient(target, creds, options);
  return new Promise((resolve) => {
    client.getStatus({}, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null) => {
      client.close();
      resolve(err!);
    });
  });
}

describe('classifyConnectionError', () => {
  it('a good handshake reaches the server (control)', async () => {
    const err = await call(`localhost:${port}`, clientCredentials(kit('one', 'sites/hosp-a')));
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('a closed port is transient, with connection advice', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const p = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const target = `127.0.0.1:${p}`;
    const c = classifyConnectionError(await call(target, clientCredentials(kit('one', 'sites/hosp-a'))), target);
    expect(c.permanent).toBe(false);
    expect(c.reason).toBe(`connection refused by ${target}`);
    expect(c.advice).toMatch(/is the coordinator running/);
    expect(c.advice).not.toMatch(/certificate/);
  });

  it('a certificate name mismatch is permanent and names the host', async () => {
    const target = `localhost:${port}`;
    const err = await call(target, clientCredentials(kit('one', 'sites/hosp-a')), { 'grpc.ssl_target_name_override': 'fl.wrong.example', 'grpc.default_authority': 'fl.wrong.example' });
    const c = classifyConnectionError(err, target);
    expect(c.permanent, err.details).toBe(true);
    expect(c.reason).toMatch(/not valid for the name/);
    expect(c.advice).toMatch(/--coordinator-host/);
  });

  it("a server of another study's CA is permanent", async () => {
    const target = `localhost:${port}`;
    const err = await call(target, clientCredentials(kit('two', 'sites/hosp-a')));
    const c = classifyConnectionError(err, target);
    expect(c.permanent, err.details).toBe(true);
    expect(c.reason).toMatch(/CA did not issue|refused this party's certificate/);
  });

  it('TLS against a plain-text port is permanent (wrong port)', async () => {
    const target = `localhost:${plainPort}`;
    const err = await call(target, clientCredentials(kit('one', 'sites/hosp-a')));
    const c = classifyConnectionError(err, target);
    expect(c.permanent, err.details).toBe(true);
    expect(c.advice).toMatch(/port/);
  });

  it('refusals by the coordinator are permanent; an unlisted site is told to get listed', () => {
    const c = classifyConnectionError({ code: grpc.status.PERMISSION_DENIED, details: `site "hosp-x" is not listed in the study's sites` }, 'fl:7443');
    expect(c.permanent).toBe(true);
    expect(c.advice).toMatch(/study\.sites/);
    const e = new PermanentConnectionError(c);
    expect(e.message).toMatch(/^the coordinator at fl:7443 refused this site: .*add this site's id/);
    expect(classifyConnectionError({ code: grpc.status.FAILED_PRECONDITION, details: 'Hello for study "x"' }, 'fl:7443').permanent).toBe(true);
    expect(classifyConnectionError({ code: grpc.status.UNAVAILABLE, details: 'Connection dropped' }, 'fl:7443')).toMatchObject({ permanent: false, reason: 'connection to fl:7443 lost' });
  });
});
