// The deployment files in deploy/ cannot be run here (no Docker engine, no systemd as PID 1), so
// this keeps them from rotting silently: compose.yaml parses and is internally consistent, the
// files it and the Dockerfile reference exist (and are not excluded from the build context), the
// systemd units carry the required hardening keys and call `fl` subcommands and flags that exist,
// nats-server.conf is accepted by the real nats-server, and the README points at real files.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parseDocument } from 'yaml';
import { NATS_BIN } from './helpers/nats-server.js';
import { freePort } from './helpers/processes.js';
import { provisionStudy } from '../shared/security/provision.js';
import { natsServerOptions } from '../shared/events/nats-url.js';
import { register as registerCoordinator } from '../cli/commands/coordinator.js';
import { register as registerSite } from '../cli/commands/site.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEPLOY = join(ROOT, 'deploy');
const read = (f: string) => readFileSync(join(DEPLOY, f), 'utf8');

type Service = {
  image?: string; build?: { context: string; dockerfile: string }; command?: string[]; volumes?: string[];
  depends_on?: Record<string, { condition: string }>; healthcheck?: { test: string[] }; restart?: string; ports?: string[];
};

function loadCompose(): { services: Record<string, Service>; volumes: Record<string, unknown> } {
  const doc = parseDocument(read('compose.yaml'), { merge: true, uniqueKeys: true });
  expect(doc.errors.map((e) => e.message)).toEqual([]);
  expect(doc.warnings.map((e) => e.message)).toEqual([]);
  return doc.toJS() as ReturnType<typeof loadCompose>;
}

/** Options (long names) of an `fl` subcommand, from its real registration. */
function flagsOf(register: (p: Command) => void, name: string): Set<string> {
  const program = new Command();
  register(program);
  const cmd = program.commands.find((c) => c.name() === name);
  if (!cmd) throw new Error(`no fl subcommand "${name}"`);
  return new Set(cmd.options.map((o) => o.long!));
}

const FL_FLAGS: Record<string, Set<string>> = {
  coordinator: flagsOf(registerCoordinator, 'coordinator'),
  site: flagsOf(registerSite, 'site'),
};

/** `fl SUBCOMMAND --flag value ...` uses a subcommand and flags that exist. */
function expectValidFlArgs(args: string[], where: string): void {
  const [sub, ...rest] = args;
  expect(FL_FLAGS[sub!], `${where}: unknown fl subcommand "${sub}"`).toBeDefined();
  for (const a of rest.filter((x) => x.startsWith('--'))) expect(FL_FLAGS[sub!]!.has(a), `${where}: fl ${sub} has no option ${a}`).toBe(true);
}

/** systemd unit: section -> key -> values (keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      current = new Map();
      sections.set(sec[1]!, current);
      return;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`line ${i + 1}: not "Key=value" inside a [Section]: ${raw}`);
    current.set(kv[1]!, [...(current.get(kv[1]!) ?? []), kv[2]!]);
  });
  return sections;
}

/** Dockerignore patterns (`**`, `*`, `?`; root-relative) as regexes over repository paths; a match also covers everything below. */
function ignoreMatchers(text: string): RegExp[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((p) => {
    const body = p.replace(/^\//, '').split('/')
      .map((seg) => (seg === '**' ? '(?:[^/]+/)*' : `${seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}/`))
      .join('').replace(/\/$/, '');
    return new RegExp(`^${body}(?:/.*)?$`);
  });
}

describe('deploy/compose.yaml', () => {
  const compose = loadCompose();
  const services = compose.services;

  it('has nats, the coordinator and three sites, each with a healthcheck and a restart policy', () => {
    expect(Object.keys(services).sort()).toEqual(['coordinator', 'nats', 'site-1', 'site-2', 'site-3']);
    for (const [name, s] of Object.entries(services)) {
      expect(s.healthcheck?.test[0], `${name}: healthcheck`).toMatch(/^CMD(-SHELL)?$/);
      expect(s.restart, `${name}: restart`).toBe('on-failure');
    }
    expect(services.coordinator!.depends_on).toEqual({ nats: { condition: 'service_healthy' } });
    expect(services.coordinator!.ports).toEqual(['7443:7443', '7444:7444']);
  });

  it('builds fl from the repository with deploy/Dockerfile and runs real fl subcommands', () => {
    for (const name of ['coordinator', 'site-1', 'site-2', 'site-3']) {
      const s = services[name]!;
      const context = resolve(DEPLOY, s.build!.context);
      expect(context).toBe(ROOT);
      expect(existsSync(join(context, s.build!.dockerfile)), `${name}: ${s.build!.dockerfile}`).toBe(true);
      expectValidFlArgs(s.command!, `compose ${name}`);
    }
  });

  it('mounts each site its own kit and data read-only and its own work volume', () => {
    const works = new Set<string>();
    for (const name of ['site-1', 'site-2', 'site-3']) {
      const s = services[name]!;
      expect(s.depends_on).toEqual({ coordinator: { condition: 'service_healthy' } });
      expect(s.volumes).toContain(`./kits/sites/${name}:/etc/fl/site:ro`);
      expect(s.volumes).toContain(`./data/${name}:/data:ro`);
      const work = s.volumes!.find((v) => v.endsWith(':/var/lib/fl'))!;
      expect(work).toBe(`${name}-work:/var/lib/fl`);
      works.add(work.split(':')[0]!);
      expect(s.command).toEqual(['site', '--config', '/etc/fl/site/site.yaml']);
    }
    expect(works.size).toBe(3);
    expect(services.coordinator!.volumes).toContain('./kits/coordinator:/etc/fl/coordinator:ro');
  });

  it('declares every named volume, and bind-mounted repository files exist', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('./kits') || src.startsWith('./data')) continue; // made by the operator (README)
        if (src.startsWith('.')) expect(existsSync(resolve(DEPLOY, src)), `${name}: ${src}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: volume ${src}`).toContain(src);
      }
    }
  });
});

describe('deploy/Dockerfile', () => {
  const text = read('Dockerfile');
  const lines = text.split('\n').filter((l) => !l.trim().startsWith('#'));

  it('is a two-stage node:20-bookworm-slim build that runs fl as a non-root user', () => {
    expect(lines.filter((l) => l.startsWith('FROM ')).map((l) => l.split(' ')[1])).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
    expect(text).toMatch(/RUN npm ci --omit=dev/);
    expect(text).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    const user = lines.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/root|\b0\b/);
    expect(lines.filter((l) => l.startsWith('ENTRYPOINT'))).toEqual(['ENTRYPOINT ["node", "bin/fl.js"]']);
    expect(existsSync(join(ROOT, 'bin/fl.js'))).toBe(true);
  });

  it('copies only paths that exist and that the build context does not exclude', () => {
    const ignore = ignoreMatchers(read('Dockerfile.dockerignore'));
    const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    const sources = lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), `COPY ${src}`).toBe(true);
      expect(ignore.some((r) => r.test(src)), `COPY ${src} is excluded by Dockerfile.dockerignore`).toBe(false);
      const under = tracked.filter((f) => f === src || f.startsWith(`${src}/`));
      const excluded = under.filter((f) => ignore.some((r) => r.test(f)));
      expect(excluded, `tracked files under ${src} excluded from the build context`).toEqual([]);
    }
    // Every source tree that tsc compiles is copied into the build stage.
    // (the root tsconfig.json is a solution file: its references are the packages; the build
    // script's own files, scripts/*.mjs, and every tsconfig a package extends must be copied too)
    const solution = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { references: { path: string }[] };
    for (const ref of solution.references) expect(sources, `tsconfig reference ${ref.path}`).toContain(ref.path.split('/')[0]);
    expect(sources).toContain('tsconfig.base.json');
    const pkg = JSON.parse(read('../package.json')) as { scripts: Record<string, string> };
    for (const m of pkg.scripts.build!.matchAll(/node (\S+)/g)) expect(sources, `build needs ${m[1]}`).toContain(m[1]!.split('/')[0]);
    // Kits and data stay out of images.
    for (const secret of ['deploy/kits/sites/a/key.pem', 'pki/ca/ca.key', 'deploy/data/site-1/manifest.csv', 'x/cert.pem']) {
      expect(ignore.some((r) => r.test(secret)), secret).toBe(true);
    }
  });
});

describe('deploy/systemd units', () => {
  const units = ['fl-coordinator.service', 'fl-site@.service'];

  it.each(units)('%s has the required keys and a valid fl command line', (file) => {
    const unit = parseUnit(read(join('systemd', file)));
    const svc = unit.get('Service')!;
    const one = (k: string) => svc.get(k)?.at(-1);
    expect(unit.get('Unit')?.get('Description')?.[0]).toBeTruthy();
    expect(unit.get('Install')?.get('WantedBy')).toEqual(['multi-user.target']);
    expect(one('User')).toBe('fl');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('Restart')).toBe('on-failure');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('');
    const rw = one('ReadWritePaths')!;
    expect(rw).toMatch(/^\/var\/lib\/fl\//);
    expect(`/var/lib/${one('StateDirectory')}`).toBe(rw);
    expect(one('WorkingDirectory')).toBe(rw);
    const exec = one('ExecStart')!.split(/\s+/);
    expect(exec.slice(0, 2)).toEqual(['/usr/bin/node', '/opt/fl/bin/fl.js']);
    expectValidFlArgs(exec.slice(2), file);
  });

  it('passes systemd-analyze verify when available', () => {
    const probe = spawnSync('systemd-analyze', ['--version']);
    if (probe.status !== 0 || !existsSync('/usr/bin/node')) {
      console.warn('systemd-analyze (or /usr/bin/node) not available: unit verification skipped; key checks above still ran');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'fl-units-'));
    try {
      copyFileSync(join(DEPLOY, 'systemd/fl-coordinator.service'), join(dir, 'fl-coordinator.service'));
      copyFileSync(join(DEPLOY, 'systemd/fl-site@.service'), join(dir, 'fl-site@hosp-a.service'));
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'fl-coordinator.service'), join(dir, 'fl-site@hosp-a.service')], { encoding: 'utf8' });
      expect(r.stderr.split('\n').filter((l) => l && !/Failed to .*(cgroup|bus)|System has not been booted|Operation not permitted/.test(l))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/nats-server.conf', () => {
  it('requires TLS and authorisation, keeps monitoring on loopback', () => {
    const text = read('nats-server.conf');
    expect(text).toMatch(/^tls \{[^}]*cert_file: "\/etc\/nats\/tls\/cert\.pem"/m);
    expect(text).toMatch(/^authorization \{/m);
    expect(text).toMatch(/password: \$FL_NATS_COORDINATOR_PASSWORD/);
    expect(text).toMatch(/^http: 127\.0\.0\.1:8222$/m);
    expect(text).not.toMatch(/^\s*no_auth_user/m);
  });

  it.skipIf(!NATS_BIN)('runs as shipped (paths and ports moved to a temp dir): TLS + user required, JetStream works for fl-coordinator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nats-conf-'));
    try {
      await provisionStudy({ study: 'nats', sites: [], admins: [], coordinatorHost: 'localhost', out: join(dir, 'pki') });
      const [port, http] = [await freePort(), await freePort()];
      const conf = read('nats-server.conf')
        .replace('/etc/nats/tls/cert.pem', join(dir, 'pki/coordinator/cert.pem')).replace('/etc/nats/tls/key.pem', join(dir, 'pki/coordinator/key.pem'))
        .replace('"/var/lib/nats/jetstream"', `"${join(dir, 'js')}"`).replace(/^port: 4222$/m, `port: ${port}`).replace(/^http: 127\.0\.0\.1:8222$/m, `http: 127.0.0.1:${http}`)
        .replace(/^host: 0\.0\.0\.0$/m, 'host: 127.0.0.1');
      writeFileSync(join(dir, 'nats.conf'), conf);
      const env = { ...process.env, FL_NATS_COORDINATOR_PASSWORD: 'coord-secret-0123456789', FL_NATS_READER_PASSWORD: 'reader-secret-0123456789' };
      const t = spawnSync(NATS_BIN!, ['-c', join(dir, 'nats.conf'), '-t'], { encoding: 'utf8', env });
      expect(t.status, t.stderr + t.stdout).toBe(0);
      const srv = spawn(NATS_BIN!, ['-c', join(dir, 'nats.conf')], { env, stdio: 'ignore' });
      try {
        const { connect } = await import('nats');
        const ca = readFileSync(join(dir, 'pki/coordinator/ca.pem'), 'utf8');
        let nc = null;
        for (let i = 0; i < 50 && !nc; i++) {
          nc = await connect({ ...natsServerOptions(`tls://fl-coordinator:coord-secret-0123456789@localhost:${port}`), tls: { ca }, reconnect: false, timeout: 2000 }).catch(() => null);
          if (!nc) await new Promise((r) => setTimeout(r, 100));
        }
        expect(nc, 'fl-coordinator over TLS').not.toBeNull();
        const jsm = await nc!.jetstreamManager();
        await jsm.streams.add({ name: 'FL_nats_EVENTS', subjects: ['fl.nats.events.>'] });
        await nc!.jetstream().publish('fl.nats.events.test', new TextEncoder().encode('{}'));
        await nc!.close();
        // Without credentials, or without TLS, the server refuses.
        await expect(connect({ servers: `tls://localhost:${port}`, tls: { ca }, reconnect: false, timeout: 2000 })).rejects.toThrow(/Authorization|AUTHORIZATION/i);
        await expect(connect({ ...natsServerOptions(`nats://fl-coordinator:coord-secret-0123456789@localhost:${port}`), tls: null as unknown as undefined, reconnect: false, timeout: 2000 })).rejects.toThrow();
        // The reader cannot publish into the study's subjects.
        const reader = await connect({ ...natsServerOptions(`tls://fl-reader:reader-secret-0123456789@localhost:${port}`), tls: { ca }, reconnect: false, timeout: 2000 });
        const denied = new Promise<string>((resolve) => void (async () => {
          for await (const s of reader.status()) if (s.type === 'error' || String(s.data).includes('Permissions')) return resolve(String(s.data));
        })());
        reader.publish('fl.nats.events.forged', new TextEncoder().encode('{}'));
        await reader.flush();
        expect(await Promise.race([denied, new Promise<string>((r) => setTimeout(() => r('no error'), 3000))])).toMatch(/permissions[ _]violation/i);
        await reader.close().catch(() => undefined);
      } finally {
        srv.kill('SIGTERM');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compose runs nats with its TLS files and passwords and checks health on loopback', () => {
    const nats = loadCompose().services.nats!;
    expect(nats.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:8222/healthz');
    expect(nats.volumes).toContain('nats-data:/var/lib/nats');
    expect(nats.volumes).toContain('./kits/nats:/etc/nats/tls:ro');
  });
});

describe('deploy/README.md', () => {
  it('refers to files that exist and fl subcommands that are registered', () => {
    const text = read('README.md');
    const refs = [...text.matchAll(/`((?:deploy|site-agent|shared)\/[\w./@-]+|systemd\/[\w@.-]+|(?:nats-server\.conf|Dockerfile(?:\.dockerignore)?|compose\.yaml|GPU\.md))`/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(8);
    for (const ref of refs) {
      if (/^deploy\/(kits|data)(\/|$)/.test(ref)) continue; // made by the operator
      const p = ref.startsWith('deploy/') || ref.startsWith('site-agent/') || ref.startsWith('shared/') ? join(ROOT, ref) : join(DEPLOY, ref);
      expect(existsSync(p) && statSync(p).isFile(), `README refers to ${ref}`).toBe(true);
    }
    const index = readFileSync(join(ROOT, 'cli/commands/index.ts'), 'utf8');
    const registered = new Set([...index.matchAll(/import \{ register as \w+ \} from '\.\/([\w-]+)\.js'/g)].map((m) => m[1]!));
    const used = new Set([...text.matchAll(/npx fl ([a-z]+)/g)].map((m) => m[1]!));
    for (const cmd of used) expect(registered.has(cmd), `README uses fl ${cmd}`).toBe(true);
  });
});
