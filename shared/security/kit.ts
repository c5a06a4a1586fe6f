// Startup-kit config files (coordinator.yaml / site.yaml / admin.yaml) written by `fl provision`.
//
// Paths inside a kit config are relative to the config file, so a kit folder can be copied to
// the party's machine as a unit. `loadKit` validates the security-relevant fields and resolves
// the paths.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { normaliseFingerprint } from './fingerprint.js';
import { FlError } from '../errors/index.js';

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

// Field names follow shared/config (site.yaml, coordinator file); loose objects so those
// schemas stay the authority for every other setting in the same files.
export const CoordinatorKitSchema = z.looseObject({
  coordinator: z.looseObject({
    listen: HostPort,
    tls: TlsPathsSchema,
    /** SHA-256 fingerprints (hex, colons optional) of revoked party certificates. */
    revoked_fingerprints: z.array(Fingerprint).default([]),
  }),
});

export const SiteKitSchema = z.looseObject({
  site_id: z.string().min(1),
  coordinator: HostPort,
  tls: TlsPathsSchema,
  /** Secret for pseudonymising case ids (HMAC-SHA256); never leaves the site. */
  pseudonym_secret: z.string().min(16),
});

export const AdminKitSchema = z.looseObject({
  admin_id: z.string().min(1),
  coordinator: HostPort,
  tls: TlsPathsSchema,
});

export type CoordinatorKit = z.infer<typeof CoordinatorKitSchema>;
export type SiteKit = z.infer<typeof SiteKitSchema>;
export type AdminKit = z.infer<typeof AdminKitSchema>;
export type KitKind = 'coordinator' | 'site' | 'admin';
type KitOf<K extends KitKind> = K extends 'coordinator' ? CoordinatorKit : K extends 'site' ? SiteKit : AdminKit;
const schemas = { coordinator: CoordinatorKitSchema, site: SiteKitSchema, admin: AdminKitSchema } as const;

export class KitConfigError extends FlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('kit.config', message, options);
  }
}

function formatIssues(file: string, err: z.ZodError): string {
  return err.issues
    .map((i) => `${file}: field "${i.path.join('.') || '(root)'}": ${i.message}`)
    .join('\n');
}

/** Read and validate a kit config; TLS paths in the result are absolute (relative ones resolve against the file). */
export function loadKit<K extends KitKind>(file: string, kind: K): KitOf<K> {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KitConfigError(`${file}: cannot read kit config: ${(err as Error).message}`, { cause: err });
  }
  const parsed = schemas[kind].safeParse(raw);
  if (!parsed.success) throw new KitConfigError(formatIssues(file, parsed.error));
  const dir = dirname(resolve(file));
  const abs = (t: TlsPaths): TlsPaths => {
    const r = (p: string): string => (isAbsolute(p) ? p : resolve(dir, p));
    return { ca: r(t.ca), cert: r(t.cert), key: r(t.key) };
  };
  const kit = parsed.data as CoordinatorKit | SiteKit | AdminKit;
  if ('site_id' in kit || 'admin_id' in kit) return { ...kit, tls: abs((kit as SiteKit).tls) } as KitOf<K>;
  const c = kit as CoordinatorKit;
  return { ...c, coordinator: { ...c.coordinator, tls: abs(c.coordinator.tls) } } as KitOf<K>;
}
