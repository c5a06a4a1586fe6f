// A small real study on loopback for multi-process tests: synthetic data, a provisioned PKI,
// `fl coordinator` and `fl site` processes over mutual TLS.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { fl, flRun, waitFor, type Proc } from './processes.js';

export interface StudyFixture {
  readonly dir: string;
  readonly sites: string[];
  readonly pki: (p: string) => string;
  coordinatorConfig(extra?: Record<string, unknown>, dataDir?: string, listen?: string, coordinatorExtra?: Record<string, unknown>): string;
  startCoordinator(cfgPath: string): Promise<{ proc: Proc; port: number }>;
  startSite(site: string, port: number, env?: Record<string, string>, extra?: Record<string, unknown>): Proc;
  readonly procs: Proc[];
  killAll(): void;
}

export async function createStudyFixture(o: { sites: string[]; extraParties?: string[]; casesPerSite?: number; study?: string }): Promise<StudyFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'fl-study-'));
  const study = o.study ?? 'fixture';
  const all = [...o.sites, ...(o.extraParties ?? [])];
  let r = await flRun(['synth', '--out', join(dir, 'data'), '--sites', String(o.sites.length), '--cases-per-site', String(o.casesPerSite ?? 48), '--seed', '3', '--image-size', '32']);
  if (r.code !== 0) throw new Error(`fl synth failed: ${r.stderr}`);
  r = await flRun(['provision', '--study', study, '--sites', all.join(','), '--admins', 'ops', '--coordinator-host', 'localhost', '--out', join(dir, 'pki')]);
  if (r.code !== 0) throw new Error(`fl provision failed: ${r.stderr}`);
  const pki = (p: string) => join(dir, 'pki', p);
  const procs: Proc[] = [];
  return {
    dir, sites: o.sites, pki, procs,
    coordinatorConfig(extra = {}, dataDir = join(dir, 'coord'), listen = '127.0.0.1:0', coordinatorExtra = {}) {
      const p = join(dir, `coordinator-${Math.random().toString(36).slice(2, 8)}.yaml`);
      writeFileSync(p, stringify({
        study: {
          id: study, rounds: 2, min_sites: o.sites.length, sites: all, round_deadline_s: 240, join_timeout_s: 120,
          models: [{ name: 'ddfn', architecture: 'ddfn', config: { inputSize: 32, widths: [4, 8, 8], seed: 1 } }],
          training: { epochs: 1, batch_size: 8, learning_rate: 0.002, seed: 5 },
          ...extra,
        },
        coordinator: {
          listen, data_dir: dataDir,
          tls: { ca: pki('coordinator/ca.pem'), cert: pki('coordinator/cert.pem'), key: pki('coordinator/key.pem') },
          ...coordinatorExtra,
        },
      }));
      return p;
    },
    async startCoordinator(cfgPath) {
      const proc = fl(['coordinator', '--config', cfgPath], { FL_LOG_LEVEL: 'info' });
      procs.push(proc);
      await waitFor(() => /"port":\d+/.test(proc.stderr) || proc.child.exitCode !== null, 60_000, 'coordinator to listen');
      const m = /"port":(\d+)/.exec(proc.stderr);
      if (!m) throw new Error(`coordinator did not start: ${proc.stderr.slice(-2000)}`);
      return { proc, port: Number(m[1]) };
    },
    startSite(site, port, env = {}, extra = {}) {
      const kit = pki(`sites/${site}`);
      const cfg = join(kit, `site-${port}.yaml`);
      writeFileSync(cfg, stringify({
        study_id: study, site_id: site, coordinator: `localhost:${port}`, manifest: join(dir, 'data', site, 'manifest.csv'),
        backend: 'auto', tls: { ca: join(kit, 'ca.pem'), cert: join(kit, 'cert.pem'), key: join(kit, 'key.pem') },
        backoff: { initial_ms: 100, max_ms: 1000 }, pseudonym_secret: `secret-for-${site}-0123456789`,
        work_dir: join(dir, 'work', site),
        ...extra,
      }));
      const p = fl(['site', '--config', cfg], { FL_LOG_LEVEL: 'info', ...env });
      procs.push(p);
      return p;
    },
    killAll() {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    },
  };
}
