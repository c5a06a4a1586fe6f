// Startup-kit config files (coordinator.yaml / site.yaml / admin.yaml) written by `fl provision`.
//
// Paths inside a kit config are relative to the config file, so a kit folder can be copied to
// the party's machine as a unit. `loadKit` validates the file and resolves the paths.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { normaliseFingerprint } from './fingerprint.js';

/** `host:port` or `[v6]:port`. */
export const HostPort = z
  .string()
  .regex(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected HOST:PORT')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'port must be 1..65535');

export const TlsPathsSchema = z.strictObject({
  ca: z.string().min(1),
  cert: z.string().min(1),
  key: z.string().min(1),
});
export type TlsPaths = z.infer<typeof TlsPathsSchema>;

const Fingerprint = z.string().transform((s, ctx) => {
  try {
    return normaliseFingerprint(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const base = {
  study: z.string().min(1),
  tls: TlsPathsSchema,
};

// Loose objects: other components may keep their own settings in the same file.
export const CoordinatorKitSchema = z.looseObject({
  kind: z.literal('coordinator'),
  ...base,
  listen: HostPort,
  advertisedAddress: HostPort,
  /** SHA-256 fingerprints (hex, colons optional) of revoked party certificates. */
  revokedFingerprints: z.array(Fingerprint).default([]),
});

export const SiteKitSchema = z.looseObject({
  kind: z.literal('site'),
  ...base,
  name: z.string().min(1),
  coordinator: HostPort,
  /** File holding the site's secret for pseudonymising case ids (never leaves the site). */
  pseudonymKey: z.string().min(1),
});

export const AdminKitSchema = z.looseObject({
  kind: z.literal('admin'),
  ...base,
  name: z.string().min(1),
  coordinator: HostPort,
});

export const KitSchema = z.discriminatedUnion('kind', [CoordinatorKitSchema, SiteKitSchema, AdminKitSchema]);
export type CoordinatorKit = z.infer<typeof CoordinatorKitSchema>;
export type SiteKit = z.infer<typeof SiteKitSchema>;
export type AdminKit = z.infer<typeof AdminKitSchema>;
export type Kit = z.infer<typeof KitSchema>;

export class KitConfigError extends Error {
  override name = 'KitConfigError';
}

function formatIssues(file: string, err: z.ZodError): string {
  return err.issues
    .map((i) => `${file}: field "${i.path.join('.') || '(root)'}": ${i.message}`)
    .join('\n');
}

/** Read and validate a kit config; all file paths in the result are absolute. */
export function loadKit<K extends Kit['kind'] | undefined = undefined>(
  file: string,
  expectKind?: K,
): K extends 'coordinator' ? CoordinatorKit : K extends 'site' ? SiteKit : K extends 'admin' ? AdminKit : Kit {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KitConfigError(`${file}: cannot read kit config: ${(err as Error).message}`, { cause: err });
  }
  const parsed = KitSchema.safeParse(raw);
  if (!parsed.success) throw new KitConfigError(formatIssues(file, parsed.error));
  const kit = parsed.data;
  if (expectKind !== undefined && kit.kind !== expectKind) {
    throw new KitConfigError(`${file}: field "kind": expected "${expectKind}", got "${kit.kind}"`);
  }
  const dir = dirname(resolve(file));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(dir, p));
  const tls = { ca: abs(kit.tls.ca), cert: abs(kit.tls.cert), key: abs(kit.tls.key) };
  const out = kit.kind === 'site' ? { ...kit, tls, pseudonymKey: abs(kit.pseudonymKey) } : { ...kit, tls };
  return out as never;
}
