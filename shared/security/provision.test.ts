import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKit } from './kit.js';
import { ProvisionError, provisionStudy, type ProvisionResult } from './provision.js';

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('provisionStudy', () => {
  let out: string;
  let first: ProvisionResult;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'fl-provision-'));
    first = await provisionStudy({
      study: 'sln-ceus',
      sites: ['hosp-a', 'hosp-b'],
      admins: ['alice'],
      coordinatorHost: 'coord.example.org',
      out,
    });
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes one kit per party that openssl verifies against the study CA', () => {
    expect(first.kits.map((k) => `${k.role}:${k.name}`)).toEqual([
      'coordinator:coord.example.org',
      'site:hosp-a',
      'site:hosp-b',
      'admin:alice',
    ]);
    for (const kit of first.kits) {
      const cert = join(kit.dir, 'cert.pem');
      expect(openssl('verify', '-CAfile', first.caCert, cert).trim()).toBe(`${cert}: OK`);
      expect(openssl('verify', '-CAfile', join(kit.dir, 'ca.pem'), cert).trim()).toBe(`${cert}: OK`);
      const purpose = kit.role === 'coordinator' ? 'sslserver' : 'sslclient';
      expect(openssl('verify', '-purpose', purpose, '-CAfile', first.caCert, cert)).toContain('OK');
      expect(statSync(join(kit.dir, 'key.pem')).mode & 0o777).toBe(0o600);
      // the private key belongs to the certificate
      const pubFromCert = openssl('x509', '-in', cert, '-noout', '-pubkey');
      const pubFromKey = openssl('pkey', '-in', join(kit.dir, 'key.pem'), '-pubout');
      expect(pubFromKey).toBe(pubFromCert);
      const fp = openssl('x509', '-in', cert, '-noout', '-fingerprint', '-sha256');
      expect(fp.split('=')[1]!.trim().replace(/:/g, '').toLowerCase()).toBe(kit.fingerprint);
    }
    expect(statSync(join(out, 'ca', 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(out, 'sites', 'hosp-a', 'site.yaml')).mode & 0o777).toBe(0o600);
  });

  it('encodes the role in a SAN URI and the name in the subject CN; the server has DNS and IP SANs', () => {
    const site = openssl('x509', '-in', join(out, 'sites', 'hosp-a', 'cert.pem'), '-noout', '-subject', '-ext', 'subjectAltName');
    expect(site).toMatch(/CN ?= ?hosp-a/);
    expect(site).toContain('URI:fl://site/hosp-a');
    const admin = openssl('x509', '-in', join(out, 'admins', 'alice', 'cert.pem'), '-noout', '-ext', 'subjectAltName');
    expect(admin).toContain('URI:fl://admin/alice');
    const server = openssl('x509', '-in', join(out, 'coordinator', 'cert.pem'), '-noout', '-ext', 'subjectAltName');
    expect(server).toContain('DNS:coord.example.org');
    expect(server).toContain('DNS:localhost');
    expect(server).toContain('IP Address:127.0.0.1');
  });

  it('writes config files that load with absolute paths and the coordinator address', () => {
    const site = loadKit(join(out, 'sites', 'hosp-b', 'site.yaml'), 'site');
    expect(site.site_id).toBe('hosp-b');
    expect(site.coordinator).toBe('coord.example.org:7443');
    expect(site.tls.cert).toBe(join(out, 'sites', 'hosp-b', 'cert.pem'));
    expect(site.pseudonym_secret).toMatch(/^[0-9a-f]{64}$/);
    expect(loadKit(join(out, 'sites', 'hosp-a', 'site.yaml'), 'site').pseudonym_secret).not.toBe(site.pseudonym_secret);
    const coord = loadKit(join(out, 'coordinator', 'coordinator.yaml'), 'coordinator');
    expect(coord.coordinator.listen).toBe('0.0.0.0:7443');
    expect(coord.coordinator.revoked_fingerprints).toEqual([]);
    expect(coord.coordinator.tls.key).toBe(join(out, 'coordinator', 'key.pem'));
    const admin = loadKit(join(out, 'admins', 'alice', 'admin.yaml'), 'admin');
    expect(admin.admin_id).toBe('alice');
    expect(() => loadKit(join(out, 'admins', 'alice', 'admin.yaml'), 'site')).toThrow(/field "site_id"/);
  });

  it('refuses to overwrite an existing CA without --force', async () => {
    const caBefore = readFileSync(join(out, 'ca', 'ca.pem'), 'utf8');
    await expect(
      provisionStudy({ study: 'sln-ceus', sites: ['hosp-c'], admins: [], coordinatorHost: 'coord.example.org', out }),
    ).rejects.toThrow(/already holds a study CA; refusing to overwrite/);
    expect(readFileSync(join(out, 'ca', 'ca.pem'), 'utf8')).toBe(caBefore);
  });

  it('adds a new party signed by the existing CA, and refuses to re-issue an existing one', async () => {
    const added = await provisionStudy({ study: 'sln-ceus', sites: ['hosp-c'], admins: [], out, add: true });
    expect(added.createdCa).toBe(false);
    expect(added.caFingerprint).toBe(first.caFingerprint);
    const cert = join(out, 'sites', 'hosp-c', 'cert.pem');
    expect(openssl('verify', '-CAfile', join(out, 'sites', 'hosp-a', 'ca.pem'), cert).trim()).toBe(`${cert}: OK`);
    expect(loadKit(join(out, 'sites', 'hosp-c', 'site.yaml'), 'site').coordinator).toBe('coord.example.org:7443');
    const record = JSON.parse(readFileSync(join(out, 'ca', 'study.json'), 'utf8')) as { issued: unknown[] };
    expect(record.issued).toHaveLength(5);
    await expect(provisionStudy({ study: 'sln-ceus', sites: ['hosp-a'], admins: [], out, add: true })).rejects.toThrow(
      /site "hosp-a" already has a kit/,
    );
    await expect(provisionStudy({ study: 'other', sites: ['hosp-d'], admins: [], out, add: true })).rejects.toThrow(
      /belongs to study "sln-ceus"/,
    );
  });

  it('rejects bad names with a clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fl-provision-bad-'));
    try {
      await expect(
        provisionStudy({ study: 's', sites: ['Hosp A'], admins: [], coordinatorHost: 'localhost', out: dir }),
      ).rejects.toThrow(ProvisionError);
      await expect(
        provisionStudy({ study: 's', sites: ['a', 'a'], admins: [], coordinatorHost: 'localhost', out: dir }),
      ).rejects.toThrow(/"a" is listed twice/);
      await expect(
        provisionStudy({ study: 's', sites: ['a'], admins: [], coordinatorHost: 'bad host!', out: dir }),
      ).rejects.toThrow(/neither a host name nor an IP/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces the CA with --force', async () => {
    const replaced = await provisionStudy({
      study: 'sln-ceus',
      sites: ['hosp-a'],
      admins: [],
      coordinatorHost: '10.0.0.5',
      out,
      force: true,
    });
    expect(replaced.caFingerprint).not.toBe(first.caFingerprint);
    expect(replaced.coordinatorAddress).toBe('10.0.0.5:7443');
    const server = openssl('x509', '-in', join(out, 'coordinator', 'cert.pem'), '-noout', '-ext', 'subjectAltName');
    expect(server).toContain('IP Address:10.0.0.5');
    expect(() => statSync(join(out, 'sites', 'hosp-c'))).toThrow(); // old kits are gone
  });
});
