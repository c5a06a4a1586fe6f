// Attack: a coordinator rewrites its study log (round-1 updates attributed to other sites, the
// frozen threshold moved, co-signatures forged for every site with keys it made up). Before
// issue 21, `fl audit verify --strict` accepted it: the verifier trusted whatever site keys the
// coordinator wrote in site_joined. Now `--ca study-ca.pem` ties every key to a certificate the
// study CA issued, `--strict` wants every round co-signed by its sites, and `--cosign-state`
// compares the heads the sites themselves recorded with the log.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { provisionStudy } from '../shared/security/provision.js';
import { StudyLog } from '../shared/audit/study-log.js';
import { generateSigningKey, publicKeyBase64 } from '../shared/audit/keys.js';
import { signUpdate, signJoin } from '../shared/audit/update-signature.js';
import { SiteCosigner } from '../shared/audit/cosigner.js';
import { flRun } from './helpers/processes.js';

const STUDY = 'forge';
const SITES = ['a', 'b', 'c'];
let root: string;
let caPem: string;
const certs = new Map<string, { der: Buffer; key: KeyObject }>();
const coordinatorKey = generateSigningKey();
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'forge-'));
  const res = await provisionStudy({ study: STUDY, sites: SITES, admins: ['ops'], coordinatorHost: 'localhost', out: join(root, 'pki') });
  caPem = join(root, 'pki', 'ca', 'ca.pem');
  for (const k of res.kits.filter((x) => x.role === 'site')) {
    const der = new X509Certificate(readFileSync(join(k.dir, 'cert.pem'))).raw;
    certs.set(k.name, { der, key: createPrivateKey(readFileSync(join(k.dir, 'key.pem'))) });
  }
});

/**
 * Writes a 1-round log. `signer(site)` is the key that signs the site's update and co-signature;
 * `joined(site)` what its site_joined record says. `attribute` maps each update to the site it is
 * logged under; `threshold` the frozen threshold; `cosign` whether the sites co-sign the round.
 */
async function writeLog(dir: string, o: {
  signer: (site: string) => KeyObject;
  joined: (site: string) => Record<string, unknown>;
  attribute?: (site: string) => string;
  threshold: number;
  cosign: boolean;
  stateDir?: string;
}): Promise<void> {
  const log = await StudyLog.open(dir, { signingKey: coordinatorKey, studyId: STUDY });
  await log.append({ type: 'study_config', study: STUDY, digest: sha('config') });
  for (const s of SITES) await log.append({ type: 'site_joined', site: s, ...o.joined(s) });
  await log.append({ type: 'round_started', round: 1, participants: SITES, models: { m: { version: 0, digest: sha('v0') } } });
  const order = [];
  for (const s of SITES) {
    const site = o.attribute?.(s) ?? s;
    const u = { study: STUDY, round: 1, model: 'm', site, update_id: `${site}-m-r1-0001`, num_examples: 10, digest: sha(`update of ${s}`) };
    await log.append({ type: 'update_accepted', round: 1, model: 'm', site, update_id: u.update_id, num_examples: 10, digest: u.digest, signature: signUpdate(o.signer(site), u) });
    order.push({ site, update_id: u.update_id, digest: u.digest, num_examples: 10 });
  }
  order.sort((x, y) => (x.site < y.site ? -1 : 1));
  await log.append({ type: 'round_aggregated', round: 1, model: 'm', strategy: 'fedavg', summation_order: order, global_digest_before: sha('v0'), aggregated_digest: sha('v1') });
  if (o.cosign) {
    for (const s of SITES) {
      const cs = await SiteCosigner.open(join(o.stateDir ?? join(dir, 'state'), s, 'cosign-state.json'), { site: s, study: STUDY, siteKey: o.signer(s), coordinatorKey });
      const { signature } = await cs.cosign(log.treeHead()!, null);
      await log.addCosignature(s, log.treeHead()!, signature);
    }
  }
  await log.append({ type: 'models_frozen', models: [{ model: 'm', version: 1, digest: sha('v1'), threshold: o.threshold }] });
  await log.close();
}

const honestJoin = (s: string) => {
  const c = certs.get(s)!;
  const pub = new X509Certificate(c.der).publicKey;
  return {
    cert_fingerprint: createHash('sha256').update(c.der).digest('hex'), public_key: publicKeyBase64(pub), certificate: c.der.toString('base64'),
    train_cases: 10, join_signature: signJoin(c.key, { study: STUDY, site: s, train_cases: 10 }),
  };
};

describe('a forged study log is refused by fl audit verify --ca --strict', () => {
  it('accepts the honest log, co-signed by every site with its certificate key', async () => {
    const dir = join(root, 'honest');
    await writeLog(dir, { signer: (s) => certs.get(s)!.key, joined: honestJoin, threshold: 0.466, cosign: true });
    const r = await flRun(['audit', 'verify', dir, '--ca', caPem, '--strict', '--cosign-state', join(dir, 'state', 'a'), join(dir, 'state', 'b')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/co-signed by a, b, c/);
    expect(r.stdout).toMatch(/site a's last co-signed head \(size \d+\) matches the log/);
  }, 60_000);

  it('refuses keys the coordinator made up (updates re-attributed, threshold moved, co-signatures forged)', async () => {
    const dir = join(root, 'forged');
    const fake = new Map(SITES.map((s) => [s, generateSigningKey()]));
    const rotate = (s: string) => SITES[(SITES.indexOf(s) + 1) % SITES.length]!;
    await writeLog(dir, {
      signer: (s) => fake.get(s)!, attribute: rotate, threshold: 0.05, cosign: true,
      joined: (s) => ({ cert_fingerprint: createHash('sha256').update(certs.get(s)!.der).digest('hex'), public_key: publicKeyBase64(fake.get(s)!) }),
    });
    // What the auditor got before: the forgery is internally consistent.
    const old = await flRun(['audit', 'verify', dir, '--strict']);
    expect(old.code, old.stdout + old.stderr).toBe(0);
    const r = await flRun(['audit', 'verify', dir, '--ca', caPem, '--strict']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/site "a" joined without a certificate: its key is not certified by the study CA/);
  }, 60_000);

  it('refuses a forged key next to the real certificate, and a certificate from another CA', async () => {
    const dir = join(root, 'forged-cert');
    const fake = generateSigningKey();
    await writeLog(dir, {
      signer: (s) => (s === 'b' ? fake : certs.get(s)!.key), threshold: 0.05, cosign: true,
      joined: (s) => (s === 'b' ? { ...honestJoin(s), public_key: publicKeyBase64(fake), join_signature: undefined } : honestJoin(s)),
    });
    const r = await flRun(['audit', 'verify', dir, '--ca', caPem, '--strict']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/site "b": public_key is not the key of its certificate/);

    const other = join(root, 'pki-other');
    await provisionStudy({ study: STUDY, sites: SITES, admins: ['ops'], coordinatorHost: 'localhost', out: other });
    const honest = join(root, 'honest-2');
    await writeLog(honest, { signer: (s) => certs.get(s)!.key, joined: honestJoin, threshold: 0.466, cosign: true });
    const wrongCa = await flRun(['audit', 'verify', honest, '--ca', join(other, 'ca', 'ca.pem')]);
    expect(wrongCa.code).toBe(1);
    expect(wrongCa.stderr).toMatch(/certificate was not issued by the study CA/);
  }, 60_000);

  it('--strict refuses a round its sites did not co-sign; --cosign-state reports a fork', async () => {
    const unsigned = join(root, 'uncosigned');
    await writeLog(unsigned, { signer: (s) => certs.get(s)!.key, joined: honestJoin, threshold: 0.466, cosign: false });
    expect((await flRun(['audit', 'verify', unsigned, '--ca', caPem])).code).toBe(0);
    const strict = await flRun(['audit', 'verify', unsigned, '--ca', caPem, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/3 round\/site pair\(s\) not co-signed \(first: round 1 by site a\)/);

    // The sites co-signed the honest history (their state dirs); the coordinator shows the auditor
    // a rewritten one (threshold moved) without their co-signatures.
    const states = join(root, 'site-states');
    await writeLog(join(root, 'shown-to-sites'), { signer: (s) => certs.get(s)!.key, joined: honestJoin, threshold: 0.466, cosign: true, stateDir: states });
    const rewritten = join(root, 'rewritten');
    await writeLog(rewritten, { signer: (s) => certs.get(s)!.key, joined: honestJoin, attribute: (s) => (s === 'a' ? 'b' : s === 'b' ? 'a' : s), threshold: 0.05, cosign: false });
    const fork = await flRun(['audit', 'verify', rewritten, '--ca', caPem, '--cosign-state', join(states, 'a'), join(states, 'b'), join(states, 'c')]);
    expect(fork.code).toBe(1);
    expect(fork.stderr).toMatch(/FORK: site a co-signed root [0-9a-f]{16}… at size \d+; this log has root/);
  }, 60_000);
});
