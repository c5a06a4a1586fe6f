// Study provisioning: a root CA and one startup kit per party (coordinator, sites, admins).
//
// Layout under `out`:
//   ca/ca.pem, ca/ca.key (0600), ca/study.json (study, coordinator address, issued certificates)
//   coordinator/{cert.pem,key.pem,ca.pem,coordinator.yaml}
//   sites/<name>/{cert.pem,key.pem,ca.pem,site.yaml (0600: holds the pseudonym secret)}
//   admins/<name>/{cert.pem,key.pem,ca.pem,admin.yaml}
// An existing CA is never overwritten silently: `force` replaces it (and every kit), `add` issues
// kits for new parties signed by the existing CA.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import {
  PARTY_NAME_RE,
  STUDY_NAME_RE,
  certPem,
  createCa,
  issueCert,
  loadCa,
  privateKeyPem,
  type KeyedCertificate,
  type PartyRole,
} from './certs.js';
import { certFingerprint } from './fingerprint.js';
import { FlError } from '../errors/index.js';

export const DEFAULT_COORDINATOR_PORT = 7443;
const DAY_MS = 86_400_000;
/** Tolerate modest clock skew between the machines of a study. */
const BACKDATE_MS = 2 * 3600_000; // sites with a clock hours behind can still connect
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface ProvisionOptions {
  readonly study: string;
  readonly sites: readonly string[];
  readonly admins: readonly string[];
  /** Required when creating a CA; with `add` it must match the recorded host if given. */
  readonly coordinatorHost?: string;
  readonly port?: number;
  readonly out: string;
  /** Validity of party and server certificates (default 365 days). */
  readonly days?: number;
  /** Validity of a new CA (default 3650 days, at least `days`). */
  readonly caDays?: number;
  /** Replace an existing CA and all kits. */
  readonly force?: boolean;
  /** Issue kits for new parties with the existing CA. */
  readonly add?: boolean;
  /** Clock for tests. */
  readonly now?: Date;
}

export type KitRole = 'coordinator' | PartyRole;

export interface ProvisionedKit {
  readonly role: KitRole;
  readonly name: string;
  readonly dir: string;
  readonly config: string;
  readonly fingerprint: string;
  readonly notAfter: string;
}

export interface ProvisionResult {
  readonly caCert: string;
  readonly caFingerprint: string;
  readonly createdCa: boolean;
  readonly coordinatorAddress: string;
  readonly kits: readonly ProvisionedKit[];
}

export class ProvisionError extends FlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('provision', message, options);
  }
}

const IssuedSchema = z.object({
  role: z.enum(['coordinator', 'site', 'admin']),
  name: z.string(),
  fingerprint: z.string(),
  serial: z.string(),
  notAfter: z.string(),
  issuedAt: z.string(),
});
const StudyRecordSchema = z.object({
  study: z.string(),
  coordinatorHost: z.string(),
  port: z.number().int(),
  createdAt: z.string(),
  issued: z.array(IssuedSchema),
});
type StudyRecord = z.infer<typeof StudyRecordSchema>;

function validate(opts: ProvisionOptions): void {
  if (!STUDY_NAME_RE.test(opts.study)) {
    throw new ProvisionError(`--study "${opts.study}": use 1-64 letters, digits, ".", "_" or "-"`);
  }
  for (const [flag, names] of [['--sites', opts.sites], ['--admins', opts.admins]] as const) {
    const seen = new Set<string>();
    for (const n of names) {
      if (!PARTY_NAME_RE.test(n)) {
        throw new ProvisionError(`${flag}: "${n}" is not a valid party name (lowercase letters, digits and inner "-", at most 63)`);
      }
      if (seen.has(n)) throw new ProvisionError(`${flag}: "${n}" is listed twice`);
      seen.add(n);
    }
  }
  if (opts.coordinatorHost !== undefined && !isIP(opts.coordinatorHost) && !HOSTNAME_RE.test(opts.coordinatorHost)) {
    throw new ProvisionError(`--coordinator-host "${opts.coordinatorHost}" is neither a host name nor an IP address`);
  }
  const port = opts.port ?? DEFAULT_COORDINATOR_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProvisionError(`--port ${port}: must be 1..65535`);
  const days = opts.days ?? 365;
  if (!Number.isInteger(days) || days < 1) throw new ProvisionError(`--days ${days}: must be a positive integer`);
  if (opts.caDays !== undefined && (!Number.isInteger(opts.caDays) || opts.caDays < days)) {
    throw new ProvisionError(`CA validity (${opts.caDays} days) must be an integer of at least --days (${days})`);
  }
  if (opts.force && opts.add) throw new ProvisionError('--force and --add exclude each other');
}

function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function writeNew(path: string, text: string, mode: number): void {
  writeFileSync(path, text, { mode, flag: 'wx' });
  chmodSync(path, mode); // the process umask must not widen or narrow what we meant
}

function writeYaml(path: string, header: string, body: object): void {
  // 0600: site.yaml holds the pseudonym secret
  writeNew(path, `# ${header}\n# Paths are relative to this file.\n${stringifyYaml(body)}`, 0o600);
}

export async function provisionStudy(opts: ProvisionOptions): Promise<ProvisionResult> {
  validate(opts);
  const now = opts.now ?? new Date();
  const days = opts.days ?? 365;
  const caDir = join(opts.out, 'ca');
  const caCertPath = join(caDir, 'ca.pem');
  const caKeyPath = join(caDir, 'ca.key');
  const recordPath = join(caDir, 'study.json');
  const caExists = existsSync(caCertPath) || existsSync(caKeyPath);

  let ca: KeyedCertificate;
  let record: StudyRecord;
  const kits: ProvisionedKit[] = [];

  if (opts.add) {
    if (!caExists) throw new ProvisionError(`--add: no study CA in ${caDir}; run without --add to create one`);
    try {
      ca = await loadCa(readFileSync(caCertPath, 'utf8'), readFileSync(caKeyPath, 'utf8'));
      record = StudyRecordSchema.parse(JSON.parse(readFileSync(recordPath, 'utf8')));
    } catch (err) {
      throw new ProvisionError(`cannot open the existing study CA in ${caDir}: ${(err as Error).message}`, { cause: err });
    }
    if (record.study !== opts.study) {
      throw new ProvisionError(`--study "${opts.study}" does not match the CA in ${caDir}, which belongs to study "${record.study}"`);
    }
    if (opts.coordinatorHost !== undefined && opts.coordinatorHost !== record.coordinatorHost) {
      throw new ProvisionError(
        `--coordinator-host "${opts.coordinatorHost}" differs from the provisioned coordinator "${record.coordinatorHost}"; re-provision with --force to change it`,
      );
    }
    if (opts.port !== undefined && opts.port !== record.port) {
      throw new ProvisionError(`--port ${opts.port} differs from the provisioned port ${record.port}`);
    }
    if (opts.sites.length + opts.admins.length === 0) throw new ProvisionError('--add: give at least one new --sites or --admins name');
    for (const [role, names] of [['site', opts.sites], ['admin', opts.admins]] as const) {
      for (const n of names) {
        const dir = join(opts.out, `${role}s`, n);
        if (existsSync(dir)) {
          throw new ProvisionError(`${role} "${n}" already has a kit in ${dir}; revoke it and pick a new name, or re-provision with --force`);
        }
      }
    }
  } else {
    if (caExists && !opts.force) {
      throw new ProvisionError(
        `${caDir} already holds a study CA; refusing to overwrite it. Use --add to issue kits for new parties with it, or --force to replace it (every existing kit stops working)`,
      );
    }
    if (opts.coordinatorHost === undefined) throw new ProvisionError('--coordinator-host is required to create a study');
    if (opts.force) {
      for (const d of ['ca', 'coordinator', 'sites', 'admins']) rmSync(join(opts.out, d), { recursive: true, force: true });
    }
    const caDays = opts.caDays ?? Math.max(3650, days);
    ca = await createCa({
      study: opts.study,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + caDays * DAY_MS),
    });
    mkdirSync(caDir, { recursive: true, mode: 0o700 });
    chmodSync(caDir, 0o700);
    writeNew(caCertPath, certPem(ca), 0o644);
    writeNew(caKeyPath, await privateKeyPem(ca), 0o600);
    record = {
      study: opts.study,
      coordinatorHost: opts.coordinatorHost,
      port: opts.port ?? DEFAULT_COORDINATOR_PORT,
      createdAt: now.toISOString(),
      issued: [],
    };
  }

  const address = hostPort(record.coordinatorHost, record.port);
  const validity = {
    study: opts.study,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
  };
  if (validity.notAfter > ca.cert.notAfter) {
    throw new ProvisionError(
      `--days ${days}: certificates would outlive the study CA (valid until ${ca.cert.notAfter.toISOString()}); use fewer days`,
    );
  }
  const caText = certPem(ca);

  const writeKit = async (
    role: KitRole,
    name: string,
    dir: string,
    leaf: KeyedCertificate,
    configName: string,
    config: Record<string, unknown>,
    note?: string,
  ): Promise<void> => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeNew(join(dir, 'cert.pem'), certPem(leaf), 0o644);
    writeNew(join(dir, 'key.pem'), await privateKeyPem(leaf), 0o600);
    writeNew(join(dir, 'ca.pem'), caText, 0o644);
    const configPath = join(dir, configName);
    const header = `Startup kit of ${role} "${name}" for study "${opts.study}" (generated by fl provision).`;
    writeYaml(configPath, note ? `${header}\n# ${note}` : header, config);
    const fingerprint = certFingerprint(leaf.cert.rawData);
    const notAfter = leaf.cert.notAfter.toISOString();
    record.issued.push({ role, name, fingerprint, serial: leaf.cert.serialNumber, notAfter, issuedAt: now.toISOString() });
    kits.push({ role, name, dir, config: configPath, fingerprint, notAfter });
  };
  const tls = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' };

  if (!opts.add) {
    const hosts = [...new Set([record.coordinatorHost, 'localhost', '127.0.0.1', '::1'])];
    const server = await issueCert(ca, { kind: 'server', hosts }, validity);
    await writeKit(
      'coordinator',
      record.coordinatorHost,
      join(opts.out, 'coordinator'),
      server,
      'coordinator.yaml',
      {
        coordinator: {
          listen: `0.0.0.0:${record.port}`,
          data_dir: 'data',
          tls,
          revoked_fingerprints: [],
        },
      },
      `Add the study section (study: ...) before starting. Sites reach this coordinator at ${address}.`,
    );
  }
  for (const name of opts.sites) {
    const leaf = await issueCert(ca, { kind: 'party', role: 'site', name }, validity);
    await writeKit(
      'site',
      name,
      join(opts.out, 'sites', name),
      leaf,
      'site.yaml',
      {
        study_id: record.study,
        site_id: name,
        coordinator: address,
        manifest: 'manifest.csv',
        tls,
        pseudonym_secret: randomBytes(32).toString('hex'),
      },
      'Point manifest at the site\'s manifest CSV. Keep pseudonym_secret and key.pem on this machine only.',
    );
  }
  for (const name of opts.admins) {
    const leaf = await issueCert(ca, { kind: 'party', role: 'admin', name }, validity);
    await writeKit('admin', name, join(opts.out, 'admins', name), leaf, 'admin.yaml', {
      admin_id: name,
      coordinator: address,
      tls,
    });
  }
  writeFileSync(recordPath, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });

  return {
    caCert: caCertPath,
    caFingerprint: certFingerprint(ca.cert.rawData),
    createdCa: !opts.add,
    coordinatorAddress: address,
    kits,
  };
}
