// `fl site --config site.yaml`: runs a site agent (dials out to the coordinator).
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import * as grpc from '@grpc/grpc-js';
import { loadConfigFile, ConfigError, resolveTls, resolveFrom } from '../../shared/config/load.js';
import { siteSchema, backendSchema } from '../../shared/config/site.js';
import { createLogger } from '../../shared/util/log.js';
import { clientCredentials, insecureClientCredentials } from '../../shared/security/tls.js';
import { clientOptions } from '../../shared/security/limits.js';
import { SiteAgent } from '../../site-agent/agent.js';
import { createLocalTrainer } from '../../site-agent/local-trainer.js';
import { SiteSecAgg } from '../../site-agent/secagg-handler.js';
import { CliError } from '../errors.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { PrivacyGuard } from '../../site-agent/privacy-guard.js';
import { PermanentConnectionError } from '../../site-agent/connection-errors.js';
import { createTabularHandler } from '../../site-agent/tabular-handler.js';
import { createTable1Handler } from '../../site-agent/table1-handler.js';
import { downloadModel } from '../../site-agent/transfer.js';

export function register(program: Command): void {
  program
    .command('site')
    .description('run a site agent: trains locally and sends only model updates and metrics to the coordinator')
    .requiredOption('-c, --config <file>', 'site config (YAML), e.g. the site.yaml of a startup kit')
    .option('--backend <name>', 'tfjs backend: auto|tensorflow-gpu|tensorflow|wasm|cpu (overrides the config)')
    .option('--insecure', 'plain-text gRPC without certificates (prints a warning; local experiments only)')
    .option('--coordinator <host:port>', 'override the coordinator address')
    .option('--threads <n>', 'training threads (data-parallel replicas on wasm/cpu; default: site.yaml threads, else the cores this process may use)')
    .option('--work-dir <dir>', 'override work_dir (frozen-model records, co-signing state), e.g. when the kit is read-only')
    .action(async (o: { config: string; backend?: string; insecure?: boolean; coordinator?: string; workDir?: string; threads?: string }) => {
      let cfg;
      try {
        cfg = loadConfigFile(siteSchema, o.config);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message, 2);
        throw err;
      }
      if (o.backend) {
        const b = backendSchema.safeParse(o.backend);
        if (!b.success) throw new CliError(`--backend: expected one of ${backendSchema.options.join(', ')}, got "${o.backend}"`, 2);
        cfg.backend = b.data;
      }
      if (o.threads !== undefined) {
        const t = Number(o.threads);
        if (!Number.isInteger(t) || t < 1 || t > 256) throw new CliError(`--threads: expected a whole number from 1 to 256, got "${o.threads}"`, 2);
        cfg.threads = t;
      }
      if (o.coordinator) cfg.coordinator = o.coordinator;
      if (o.insecure) cfg.insecure = true;
      const log = createLogger(`site:${cfg.site_id}`);
      const tls = resolveTls(o.config, cfg.tls);
      let credentials: grpc.ChannelCredentials;
      try {
        credentials = cfg.insecure || !tls ? insecureClientCredentials(log) : clientCredentials(tls, log);
      } catch (err) {
        throw new CliError((err as Error).message, 2);
      }
      // A tabular model may read other models' scores: the trainer downloads them through the agent.
      let agentRef: SiteAgent | null = null;
      const trainer = await createLocalTrainer({
        siteId: cfg.site_id, tabularColumns: cfg.tabular_columns, minCell: cfg.min_cell,
        fetchModel: async (ref) => {
          if (!agentRef) throw new Error('the site agent is not connected yet');
          return (await downloadModel(agentRef.client, { studyId: cfg.study_id, model: ref.model, version: ref.version, expectDigest: ref.digest })).set;
        },
        manifest: resolveFrom(o.config, cfg.manifest), backend: cfg.backend, log, modalities: cfg.modalities,
        threads: cfg.threads ?? availableParallelism(),
        ...(cfg.data_root ? { dataRoot: resolveFrom(o.config, cfg.data_root) } : {}),
        ...(cfg.cache_dir ? { cacheDir: resolveFrom(o.config, cfg.cache_dir) } : {}),
        ...(cfg.pseudonym_secret ? { pseudonymSecret: cfg.pseudonym_secret } : {}),
      });
      log.info({ backend: trainer.backend, coordinator: cfg.coordinator }, 'site agent starting');
      const workDir = o.workDir ?? resolveFrom(o.config, cfg.work_dir);
      // Secure aggregation (issue 17): answers the "secagg.*" phases and masks updates when a task asks.
      const secagg = new SiteSecAgg({ studyId: cfg.study_id, siteId: cfg.site_id, examples: () => trainer.cohortCounts().train ?? 0 });
      const agent = new SiteAgent({
        // Phase handlers: secure aggregation (secagg.*), the sums of tabular models (tabular.*) and
        // the aggregates of Table 1 (table1.*).
        phaseHandlers: {
          secagg: secagg.handler, tabular: createTabularHandler(trainer, log, cfg.policy.training),
          table1: createTable1Handler({ siteId: cfg.site_id, manifest: resolveFrom(o.config, cfg.manifest), tabularColumns: cfg.tabular_columns, minCell: cfg.min_cell, log }),
        },
        secureAggregation: secagg,
        studyId: cfg.study_id, siteId: cfg.site_id, address: cfg.coordinator, credentials,
        channelOptions: clientOptions(), backoff: cfg.backoff,
        ...(cfg.pseudonym_secret ? { pseudonymSecret: cfg.pseudonym_secret } : {}),
        freezeFile: join(workDir, 'frozen-models.jsonl'),
        stateDir: workDir,
        ...(tls && !cfg.insecure ? { siteKey: createPrivateKey(readFileSync(tls.key)) } : {}),
        guard: new PrivacyGuard({ studyId: cfg.study_id, siteId: cfg.site_id, log }),
        policy: cfg.policy,
      }, trainer, log);
      agentRef = agent;
      let signal: string | null = null;
      const onSignal = (s: string) => () => {
        signal = s;
        agent.shutdown();
      };
      process.once('SIGINT', onSignal('SIGINT'));
      process.once('SIGTERM', onSignal('SIGTERM'));
      // Every exit is logged with its reason. Exit status (deploy/README.md "Exit codes"):
      // 0 the study ended (completed, stopped by an admin, failed); 2 a permanent configuration or
      // credential problem; 128+n stopped by signal n; 1 anything unexpected (systemd restarts it).
      const end = await agent.runUntilEnd().catch((err: unknown) => {
        // A certificate, CA or membership problem: say what to do, exit 2 (systemd does not restart).
        if (err instanceof PermanentConnectionError) {
          log.error({ exit: 2, reason: err.message }, 'site agent exiting: permanent connection problem');
          throw new CliError(`site ${cfg.site_id}: ${err.message}`, 2, { cause: err });
        }
        log.error({ exit: 1, err: (err as Error).message }, 'site agent exiting: unexpected error');
        throw err;
      });
      if (end.ended === 'shutdown') {
        const code = signal === 'SIGINT' ? 130 : 143;
        log.warn({ exit: code, signal, ...agent.stats }, 'site agent exiting: stopped by a signal before the study ended (start it again to continue)');
        process.exitCode = code;
        return;
      }
      log.info({ exit: 0, ended: end.ended, reason: end.reason, ...agent.stats }, `site agent exiting: the study ${end.ended === 'completed' ? 'completed' : end.ended === 'failed' ? 'failed' : 'was stopped'} (${end.reason})`);
    });
}
