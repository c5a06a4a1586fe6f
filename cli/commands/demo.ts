// `fl demo [--out DIR]` (= `npm run demo`): a complete federated study on one machine.
// Synthetic data for 3 hospitals, a provisioned PKI (mutual TLS), the coordinator in this
// process and one site-agent process per hospital on loopback.
import { maxBits, minimumThreshold } from '../../shared/secagg/params.js';
import { reportCohortOrder } from '../../coordinator/report-cohorts.js';
import type { Command } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile, rm, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import { createLogger } from '../../shared/util/log.js';
import { coordinatorFileSchema } from '../../shared/config/study.js';
import { provisionStudy } from '../../shared/security/provision.js';
import { generateSites } from '../../shared/synth/generate.js';
import { startCoordinator } from '../../coordinator/coordinator.js';
import { initialModels } from '../../coordinator/initial-models.js';
import { attachProgress } from '../progress.js';
import { CliError } from '../errors.js';
import { startDashboard } from '../../coordinator/http/server.js';
import { dashboardConfig } from '../dashboard-options.js';
import type { Estimate, StudyReport } from '../../shared/report/schema.js';
import { STUDY_NAMES, STUDY_PROFILES, type StudyName } from '../../shared/synth/clinical.js';
import { DEMO_STUDIES, type DemoSizes } from './demo-studies.js';

const FL_BIN = fileURLToPath(new URL('../../../bin/fl.js', import.meta.url));

export interface DemoOptions {
  out: string;
  sites: number;
  casesPerSite: number;
  rounds: number;
  imageSize: number;
  epochs: number;
  seed: number;
  backend: string;
  models: string[];
  privacy?: string;
  /** Serve the dashboard and metrics here (HOST:PORT or PORT). */
  http?: string;
  httpToken?: string;
  /** Secure aggregation (issue 17): the coordinator learns only the sum of the sites' updates. */
  secureAggregation?: boolean;
  /** A seed study (cli/commands/demo-studies.ts); default ddfn (the models of `models`). */
  study?: StudyName;
  /** LASSO path length, CV folds and boosting rounds of the tabular models (small in tests). */
  sizes?: DemoSizes;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run a complete demo study: 3 synthetic hospitals, mutual TLS, coordinator + site agents on loopback')
    .option('--out <dir>', 'output folder', 'runs/demo')
    .option('--sites <n>', 'number of hospitals', (v) => Number(v), 3)
    .option('--cases-per-site <n>', 'cases per hospital', (v) => Number(v), 240)
    .option('--rounds <n>', 'federated rounds', (v) => Number(v), 4)
    .option('--image-size <px>', 'model input size', (v) => Number(v), 48)
    .option('--epochs <n>', 'local epochs per round', (v) => Number(v), 2)
    .option('--seed <n>', 'seed for data and training', (v) => Number(v), 7)
    .option('--backend <name>', 'tfjs backend for the sites', 'auto')
    .option('--models <list>', 'models to train', 'ddfn,gsus_only,ceus_only')
    .option('--privacy <mode>', 'held-out results leave sites as pseudonymised "predictions" or only "aggregate" counts', 'predictions')
    .option('--http <host:port>', 'serve the live dashboard, /api/status, /events and /metrics (PORT alone = 127.0.0.1:PORT)')
    .option('--http-token <token>', 'require this bearer token on the dashboard (or set FL_HTTP_TOKEN)')
    .option('--secure-aggregation', 'masked updates, pairwise masks and Shamir-shared seeds: the coordinator sees only the sum (needs --sites >= 3)')
    .option('--study <name>', `the seed study to run (${STUDY_NAMES.join(', ')}): its synthetic data, endpoint, models and comparisons`, 'ddfn')
    .option('--nlambda <n>', 'LASSO path length of the tabular models (--study other than ddfn)', (v) => Number(v), 40)
    .option('--folds <n>', 'LASSO cross-validation folds', (v) => Number(v), 5)
    .option('--trees <n>', 'boosting rounds of gbdt models', (v) => Number(v), 60)
    .option('--json', 'print report.json on stdout at the end')
    .action(async (o: Omit<DemoOptions, 'models' | 'study' | 'sizes'> & { models: string; json?: boolean; study: string; nlambda: number; folds: number; trees: number }, cmd: Command) => {
      if (!(STUDY_NAMES as readonly string[]).includes(o.study)) throw new CliError(`--study ${o.study}: expected one of ${STUDY_NAMES.join(', ')}`, 2);
      if (o.study !== 'ddfn' && cmd.getOptionValueSource('models') === 'cli') throw new CliError(`--models applies to --study ddfn; study ${o.study} has its paper's models`, 2);
      for (const k of ['nlambda', 'folds', 'trees'] as const) {
        if (!Number.isInteger(o[k]) || o[k] < (k === 'folds' ? 3 : k === 'nlambda' ? 2 : 1)) throw new CliError(`--${k}: expected a whole number (folds >= 3, nlambda >= 2), got ${o[k]}`, 2);
      }
      for (const k of ['sites', 'casesPerSite', 'rounds', 'imageSize', 'epochs', 'seed'] as const) {
        if (!Number.isInteger(o[k]) || o[k] < (k === 'seed' ? 0 : 1)) throw new CliError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: expected a positive integer`, 2);
      }
      if (o.secureAggregation && o.sites < 3) throw new CliError(`--secure-aggregation needs --sites 3 or more (with 2 the sum reveals each site's update to the other); got ${o.sites}`, 2);
      const { nlambda, folds, trees, study, ...rest } = o;
      const outcome = await runDemo({ ...rest, study: study as StudyName, sizes: { nlambda, folds, trees }, ...(o.httpToken ?? process.env.FL_HTTP_TOKEN ? { httpToken: o.httpToken ?? process.env.FL_HTTP_TOKEN } : {}), models: rest.models.split(',').map((s) => s.trim()).filter(Boolean) });
      if (o.json) process.stdout.write(JSON.stringify(outcome, null, 2) + '\n');
    });
}

export async function runDemo(o: DemoOptions): Promise<StudyReport> {
  const out = resolve(o.out);
  const say = (line: string) => process.stderr.write(line + '\n');
  const t0 = Date.now();
  await rm(join(out, 'pki'), { recursive: true, force: true });
  await rm(join(out, 'coordinator'), { recursive: true, force: true });
  await rm(join(out, 'audit'), { recursive: true, force: true });
  // DIR/sites/<site>/ keeps the site's data (manifest + images, regenerated identically from the
  // seed); its agent state (pinned log key, co-signatures, frozen models) belongs to one study run.
  await rm(join(out, 'sites'), { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const siteNames = Array.from({ length: o.sites }, (_, i) => `site-${i + 1}`);

  const seedStudy = o.study && o.study !== 'ddfn' ? DEMO_STUDIES[o.study] : null;
  say(`demo: ${seedStudy ? `study ${o.study} (seed ${STUDY_PROFILES[o.study!].seed}): ${seedStudy.title}; ` : ''}generating synthetic data for ${o.sites} hospitals (${o.casesPerSite} cases each) in ${join(out, 'sites')}`);
  await generateSites({ out: join(out, 'sites'), sites: o.sites, casesPerSite: o.casesPerSite, seed: o.seed, imageSize: Math.max(64, o.imageSize), ...(seedStudy ? { study: o.study! } : {}) });

  say('demo: provisioning a study CA and startup kits (mutual TLS)');
  const studyId = seedStudy ? `${o.study}-demo` : 'sln-demo';
  await provisionStudy({ study: studyId, sites: siteNames, admins: ['auditor'], coordinatorHost: 'localhost', out: join(out, 'pki') });

  // Architecture config (shared/models/config.ts); single-modality models pick their modality.
  const modelConfig = () => ({ inputSize: o.imageSize, seed: o.seed });
  const models = seedStudy
    ? seedStudy.models(o.imageSize, o.seed, o.sizes ?? { nlambda: 40, folds: 5, trees: 60 })
    : o.models.map((m) => ({ name: m, architecture: m, config: modelConfig() }));
  const reference = seedStudy ? seedStudy.reference : o.models[0];
  const file = coordinatorFileSchema.parse({
    study: {
      id: studyId, title: seedStudy ? `Demo (synthetic): ${seedStudy.title}` : 'Demo: SLN metastasis from CEUS + grayscale ultrasound (synthetic)', rounds: o.rounds, min_sites: Math.min(2, o.sites),
      sites: siteNames, round_deadline_s: 900, join_timeout_s: 300,
      models,
      ...(seedStudy ? seedStudy.endpoint : {}),
      training: { epochs: o.epochs, batch_size: 16, learning_rate: 0.002, seed: o.seed },
      strategy: { name: 'fedavg' },
      // Secure aggregation: T = ceil(2n/3) (the README's bound), clip 1 per element (CNN deltas of
      // a round stay far below), the most bits that cannot wrap the 32-bit ring for n sites.
      ...(o.secureAggregation ? {
        outlier_norm_factor: 0,
        secure_aggregation: { enabled: true, threshold: minimumThreshold(o.sites), quantization: { clip: 1, bits: maxBits(o.sites) } },
      } : {}),
      evaluation: { selection: 'final', threshold: seedStudy ? { rule: 'youden' } : { rule: 'target_sensitivity', value: 0.9 }, bootstrap: 1000, reference_model: reference, privacy: o.privacy ?? 'predictions' },
    },
    coordinator: {
      listen: '127.0.0.1:0', data_dir: join(out, 'coordinator'), audit_dir: join(out, 'audit'),
      tls: { ca: join(out, 'pki/coordinator/ca.pem'), cert: join(out, 'pki/coordinator/cert.pem'), key: join(out, 'pki/coordinator/key.pem') },
    },
  });
  await writeFile(join(out, 'study.yaml'), stringifyYaml(file));
  const log = createLogger('coordinator', process.env.FL_LOG_LEVEL ?? 'warn');
  const handle = await startCoordinator(file, {
    log, initialModels,
  });
  const detach = attachProgress(handle.events, { study: file.study, write: say });
  const http = dashboardConfig(undefined, o.http, o.httpToken);
  const dashboard = http ? await startDashboard(handle, http, { log }).catch(async (err: Error) => {
    await handle.close();
    throw new CliError(err.message, 2);
  }) : null;
  if (dashboard) say(`demo: dashboard ${dashboard.url}${http?.token ? ' (bearer token required; in a browser add ?token=...)' : ''}`);
  say(`demo: coordinator on 127.0.0.1:${handle.port}; starting ${o.sites} site agents`);

  const children: ChildProcess[] = [];
  for (const site of siteNames) {
    const kit = join(out, 'pki', 'sites', site);
    const cfg = {
      study_id: studyId, site_id: site, coordinator: `localhost:${handle.port}`,
      manifest: join(out, 'sites', site, 'manifest.csv'), work_dir: join(out, 'sites', site, 'agent-state'), backend: o.backend,
      tls: { ca: join(kit, 'ca.pem'), cert: join(kit, 'cert.pem'), key: join(kit, 'key.pem') },
      pseudonym_secret: `demo-secret-${site}-${o.seed}-0123456789`,
      ...(seedStudy?.tabularColumns.length ? { tabular_columns: [...seedStudy.tabularColumns] } : {}),
    };
    const cfgPath = join(kit, 'site.demo.yaml');
    await writeFile(cfgPath, stringifyYaml(cfg), { mode: 0o600 });
    const child = spawn(process.execPath, [FL_BIN, 'site', '--config', cfgPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, FL_LOG_LEVEL: process.env.FL_LOG_LEVEL ?? 'warn' },
    });
    child.stderr!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) say(`  [${site}] ${summariseLogLine(line)}`);
    });
    children.push(child);
  }
  let outcome;
  try {
    outcome = await handle.done;
  } finally {
    detach();
    await dashboard?.close();
    await Promise.all(children.map((c) => new Promise<void>((r) => {
      if (c.exitCode !== null) return r();
      const t = setTimeout(() => c.kill('SIGTERM'), 10_000);
      c.once('exit', () => {
        clearTimeout(t);
        r();
      });
    })));
    await handle.close();
  }
  const reportPath = join(out, 'report.json');
  await writeFile(reportPath, JSON.stringify(outcome.report, null, 2) + '\n');
  // The study's outputs side by side: report, predictions, the frozen models.
  for (const f of ['report.html', 'predictions.csv']) {
    if (existsSync(join(out, 'coordinator', f))) await copyFile(join(out, 'coordinator', f), join(out, f));
  }
  const frozen = outcome.report.frozen_models ?? [];
  await mkdir(join(out, 'models'), { recursive: true });
  for (const f of frozen) {
    await copyFile(handle.store.checkpointPath(f.model, f.version), join(out, 'models', `${f.model}.flt`));
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  say('');
  say(summaryTable(outcome.report));
  // A hierarchical endpoint: one table per level from the report's level sections (n and positives
  // of the level's own population; its models compared with the level's first model).
  for (const t of headlineTables(outcome.report)) say(`\n${t}`);
  say(`demo: ${outcome.state} in ${secs}s; report ${reportPath}${existsSync(join(out, 'report.html')) ? `, ${join(out, 'report.html')}` : ''}`);
  if (outcome.state !== 'completed') throw new CliError(`demo study failed: ${outcome.reason}`, 1);
  return outcome.report;
}

function summariseLogLine(line: string): string {
  try {
    const j = JSON.parse(line) as { msg?: string; level?: number } & Record<string, unknown>;
    const { msg, level, time: _t, pid: _p, hostname: _h, name: _n, ...rest } = j;
    const lv = level !== undefined && level >= 50 ? 'ERROR ' : level !== undefined && level >= 40 ? 'warn ' : '';
    return `${lv}${msg ?? ''} ${Object.keys(rest).length ? JSON.stringify(rest) : ''}`.trim();
  } catch {
    return line;
  }
}

export function summaryTable(report: Pick<StudyReport, 'rounds'>): string {
  const rounds = report.rounds;
  const lines = ['round  state                         model        sites  train_loss  val_loss  val_auc'];
  for (const r of rounds) {
    for (const [m, v] of Object.entries(r.models)) {
      const f = (x: number | null | undefined) => (x === undefined || x === null || Number.isNaN(x) ? '      -' : x.toFixed(4).padStart(7));
      lines.push(`${String(r.round).padEnd(6)} ${r.state.padEnd(29)} ${m.padEnd(12)} ${String(v.sites.length).padStart(5)}  ${f(v.metrics.train_loss)}     ${f(v.metrics.val_loss)}   ${f(v.metrics.val_auc)}`);
    }
  }
  return lines.join('\n');
}

/**
 * The headline tables a demo prints: the report's paper table, or for a hierarchical endpoint one
 * per level (report.levels: the level's cohorts, so n is the level's population).
 */
export function headlineTables(report: Pick<StudyReport, 'cohorts' | 'reference_model' | 'levels'>): string[] {
  if (report.levels?.length) {
    return report.levels.map((l) => {
      const t = paperTable({ cohorts: l.cohorts, ...(l.reference_model ? { reference_model: l.reference_model } : {}) }, { models: l.models, reference: l.reference_model ?? l.models[0] ?? '' });
      return `level ${l.level} ${l.name} (${l.title}; outcome ${l.endpoint.outcome}; population: ${l.endpoint.population})\n${t ?? 'no held-out case was scored'}`;
    });
  }
  const t = paperTable(report);
  return t ? [t] : [];
}

/** The lead study's table: per held-out cohort and model, AUC (95% CI), NPV, specificity, accuracy, P vs the reference. */
export function paperTable(report: Pick<StudyReport, 'cohorts' | 'reference_model'>, only?: { models: readonly string[]; reference: string }): string | null {
  const cohorts = report.cohorts;
  if (!cohorts) return null;
  const ref = only?.reference ?? report.reference_model ?? Object.keys(Object.values(cohorts)[0]?.models ?? {})[0] ?? '';
  const f = (e: Estimate | undefined) => (e && e.estimate !== null ? `${e.estimate.toFixed(3)} (${e.ci ? `${e.ci[0].toFixed(3)}-${e.ci[1].toFixed(3)}` : '-'})` : '-').padEnd(22);
  const shown = Object.values(cohorts).flatMap((co) => Object.keys(co.models)).filter((m) => !only || only.models.includes(m));
  const w = Math.max(11, ...shown.map((m) => m.length));
  const lines = [`cohort                 ${'model'.padEnd(w)} n    AUC (95% CI)           NPV (95% CI)           Specificity (95% CI)   Accuracy (95% CI)      P (DeLong vs ${ref})`];
  const order = reportCohortOrder(Object.keys(cohorts));
  for (const c of order) {
    const co = cohorts[c]!;
    for (const [m, r] of Object.entries(co.models)) {
      if (only && !only.models.includes(m)) continue;
      const cmp = (co.comparisons ?? []).find((x) => (x.a === ref && x.b === m) || (x.b === ref && x.a === m));
      const p = m === ref ? '' : cmp?.delong.p === null || cmp?.delong.p === undefined ? '-' : cmp.delong.p < 0.001 ? '<0.001' : cmp.delong.p.toFixed(3);
      lines.push(`${c.padEnd(22)} ${m.padEnd(w)} ${String(r.n ?? co.n).padStart(4)} ${f(r.auc)} ${f(r.npv)} ${f(r.specificity)} ${f(r.accuracy)} ${p}`);
    }
  }
  return lines.join('\n');
}
