// A small but complete study log for tests and examples: three sites (two Ed25519 keys, one
// ECDSA P-256 certificate-style key), one round with signed updates, a rejection, the
// aggregate, co-signatures after the round, the freeze, held-out evaluation and the report.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { generateSigningKey, publicKeyBase64 } from '../../shared/audit/keys.js';
import { signUpdate } from '../../shared/audit/update-signature.js';
import { SiteCosigner } from '../../shared/audit/cosigner.js';
import { StudyLog, type StudyLogOptions } from '../../shared/audit/study-log.js';

export const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface FixtureSite {
  readonly site: string;
  readonly key: KeyObject;
}

export function fixtureSites(): FixtureSite[] {
  return [
    { site: 'hospital-a', key: generateSigningKey() },
    { site: 'hospital-b', key: generateSigningKey() },
    { site: 'hospital-c', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
  ];
}

/** Writes the example study into `dir` (one record per append, so one head per record). */
export async function writeExampleStudy(
  dir: string,
  opts: { studyId?: string; signingKey?: KeyObject; nats?: StudyLogOptions['nats']; cosignStateDir?: string } = {},
): Promise<{ log: StudyLog; key: KeyObject; sites: FixtureSite[]; studyId: string }> {
  const studyId = opts.studyId ?? 'sln-demo';
  const key = opts.signingKey ?? generateSigningKey();
  const sites = fixtureSites();
  const log = await StudyLog.open(dir, { signingKey: key, studyId, ...(opts.nats ? { nats: opts.nats } : {}) });
  await log.append({ type: 'study_config', study: studyId, digest: sha('config') });
  for (const s of sites) await log.append({ type: 'site_joined', site: s.site, cert_fingerprint: sha(`cert ${s.site}`), public_key: publicKeyBase64(s.key) });
  const g0 = sha('global 0');
  await log.append({ type: 'round_started', round: 1, participants: sites.map((s) => s.site), models: { ddfn: { version: 0, digest: g0 } } });
  const arrival = [];
  for (const [i, s] of sites.entries()) {
    const u = { round: 1, model: 'ddfn', site: s.site, update_id: `upd-${s.site}-1`, num_examples: 100 + i, digest: sha(`update ${i}`) };
    const signature = signUpdate(s.key, { study: studyId, ...u });
    await log.append({ type: 'update_accepted', ...u, signature });
    arrival.push({ site: u.site, update_id: u.update_id, digest: u.digest, num_examples: u.num_examples });
  }
  await log.append({ type: 'update_rejected', round: 1, model: 'ddfn', site: 'hospital-b', reason: 'stale model version' });
  await log.append({ type: 'round_aggregated', round: 1, model: 'ddfn', strategy: 'fedavg', arrival_order: arrival, global_digest_before: g0, aggregated_digest: sha('global 1') });
  await log.append({ type: 'privacy_accounting', round: 1, epsilon: 1.25, delta: 1e-5 });
  // Co-signatures at the end of the round.
  const head = log.treeHead()!;
  for (const s of sites) {
    const cos = await SiteCosigner.open(join(opts.cosignStateDir ?? join(dir, '..', 'cosign'), `${s.site}.json`), {
      site: s.site, study: studyId, siteKey: s.key, coordinatorKey: key,
    });
    const last = cos.lastSigned();
    const { signature } = await cos.cosign(head, last ? log.consistencyProof(last.tree_size, head.tree_size) : null);
    await log.addCosignature(s.site, head, signature);
  }
  const frozen = sha('global 1');
  await log.append({ type: 'models_frozen', models: [{ model: 'ddfn', version: 1, digest: frozen, threshold: 0.31 }] });
  await log.append({ type: 'evaluation_requested', cohorts: ['test'], models: [{ model: 'ddfn', digest: frozen }], sites: sites.map((s) => s.site) });
  for (const s of sites) await log.append({ type: 'evaluation_result', site: s.site, cohorts: ['test'], results_digest: sha(`results ${s.site}`), cases: 40 });
  await log.append({ type: 'report', digest: sha('report') });
  return { log, key, sites, studyId };
}
