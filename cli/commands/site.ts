// `fl site --config site.yaml`: runs a site agent (dials out to the coordinator).
import type { Command } from 'commander';
import * as grpc from '@grpc/grpc-js';
import { loadConfigFile, ConfigError, resolveTls, resolveFrom } from '../../shared/config/load.js';
import { siteSchema, backendSchema } from '../../shared/config/site.js';
import { createLogger } from '../../shared/util/log.js';
import { clientCredentials, insecureClientCredentials } from '../../shared/security/tls.js';
import { clientOptions } from '../../shared/security/limits.js';
import { SiteAgent } from '../../site-agent/agent.js';
import { createLocalTrainer } from '../../site-agent/local-trainer.js';
import { CliError } from '../errors.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { PrivacyGuard } from '../../site-agent/privacy-guard.js';
import { PermanentConnectionError } from '../../site-agent/connection-errors.js';
import { createTabularHandler } from '../../site-agent/tabular-handler.js';
import { downloadModel } from '../../site-agent/transfer.js';

export function register(program: Command): void {
  program
    .command('site')
    .description('run a site agent: trains locally and sends only model updates and metrics to the coordinator')
    .requiredOption('-c, --config <file>', 'site config (YAML), e.g. the site.yaml of a startup kit')
    .option('--backend <name>', 'tfjs backend: auto|tensorflow-gpu|tensorflow|wasm|cpu (overrides the config)')
    .option('--insecure', 'plain-text gRPC without certificates (prints a warning; local experiments only)')
    .option('--coordinator <host:port>', 'override the coordinator address')
    .option('--work-dir <dir>', 'override work_dir (frozen-model records, co-signing state), e.g. when the kit is read-only')
    .action(async (o: { config: string; backend?: string; insecure?: boolean; coordinator?: string; workDir?: string }) => {
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
        ...(cfg.data_root ? { dataRoot: resolveFrom(o.config, cfg.data_root) } : {}),
        ...(cfg.cache_dir ? { cacheDir: resolveFrom(o.config, cfg.cache_dir) } : {}),
        ...(cfg.pseudonym_secret ? { pseudonymSecret: cfg.pseudonym_secret } : {}),
      });
      log.info({ backend: trainer.backend, coordinator: cfg.coordinator }, 'site agent starting');
      const workDir = o.workDir ?? resolveFrom(o.config, cfg.work_dir);
      const agent = new SiteAgent({
        studyId: cfg.study_id, siteId: cfg.site_id, address: cfg.coordinator, credentials,
        channelOptions: clientOptions(), backoff: cfg.backoff,
        ...(cfg.pseudonym_secret ? { pseudonymSecret: cfg.pseudonym_secret } : {}),
        freezeFile: join(workDir, 'frozen-models.jsonl'),
        stateDir: workDir,
        ...(tls && !cfg.insecure ? { siteKey: createPrivateKey(readFileSync(tls.key)) } : {}),
        guard: new PrivacyGuard({ studyId: cfg.study_id, siteId: cfg.site_id, log }),
        phaseHandlers: { tabular: createTabularHandler(trainer, log) },
      }, trainer, log);
      agentRef = agent;
      process.once('SIGINT', () => agent.shutdown());
      process.once('SIGTERM', () => agent.shutdown());
      const reason = await agent.run().catch((err: unknown) => {
        // A certificate, CA or membership problem: say what to do, exit 2 (systemd does not restart).
        if (err instanceof PermanentConnectionError) throw new CliError(`site ${cfg.site_id}: ${err.message}`, 2, { cause: err });
        throw err;
      });
      log.info({ reason, ...agent.stats }, 'site agent finished');
    });
}
