// `fl coordinator --config coordinator.yaml`: runs a study's coordinator until the study ends.
import type { Command } from 'commander';
import { loadConfigFile, ConfigError, resolveTls, resolveFrom } from '../../shared/config/load.js';
import { coordinatorFileSchema } from '../../shared/config/study.js';
import { startDashboard } from '../../coordinator/http/server.js';
import { dashboardConfig } from '../dashboard-options.js';
import { summaryTable, paperTable } from './demo.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../shared/util/log.js';
import { startCoordinator, readStudyEnd } from '../../coordinator/coordinator.js';
import { FlError } from '../../shared/errors/index.js';
import { initialModels, validateStudyModels } from '../../coordinator/initial-models.js';
import { attachProgress } from '../progress.js';
import { CliError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('coordinator')
    .description('run the coordinator of a study (sites dial in; mutual TLS unless --insecure)')
    .requiredOption('-c, --config <file>', 'coordinator config (YAML): study + coordinator sections')
    .option('--insecure', 'plain-text gRPC without certificates (prints a warning; local experiments only)')
    .option('--listen <host:port>', 'override coordinator.listen')
    .option('--bulk-port <port|off>', 'override coordinator.bulk_port (the bulk channel for model bytes; off: everything on the gRPC port)')
    .option('--data-dir <dir>', 'override coordinator.data_dir')
    .option('--wait-for-admin', 'do not start the study until an admin runs `fl study start`')
    .option('--http <host:port>', 'serve a read-only dashboard, /api/status, /events and /metrics (PORT alone = 127.0.0.1:PORT; overrides coordinator.http.listen)')
    .option('--http-token <token>', 'require this bearer token on the dashboard (or set FL_HTTP_TOKEN; overrides coordinator.http.token)')
    .option('--json', 'print the final report as JSON on stdout')
    .action(async (o: { config: string; insecure?: boolean; listen?: string; bulkPort?: string; dataDir?: string; json?: boolean; waitForAdmin?: boolean; http?: string; httpToken?: string }) => {
      let file;
      try {
        file = loadConfigFile(coordinatorFileSchema, o.config);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message, 2);
        throw err;
      }
      file.coordinator.tls = resolveTls(o.config, file.coordinator.tls);
      file.coordinator.data_dir = resolveFrom(o.config, file.coordinator.data_dir);
      if (o.insecure) file.coordinator.insecure = true;
      if (o.listen) file.coordinator.listen = o.listen;
      if (o.bulkPort !== undefined) {
        if (o.bulkPort !== 'off' && (!/^\d{1,5}$/.test(o.bulkPort) || Number(o.bulkPort) > 65535)) throw new CliError(`--bulk-port ${o.bulkPort}: expected a port (0-65535) or "off"`, 2);
        file.coordinator.bulk_port = o.bulkPort === 'off' ? 'off' : Number(o.bulkPort);
      }
      if (o.dataDir) file.coordinator.data_dir = o.dataDir;
      if (file.coordinator.insecure) file.coordinator.tls = undefined;
      validateStudyModels(file);
      const http = dashboardConfig(file.coordinator.http, o.http, o.httpToken ?? process.env.FL_HTTP_TOKEN);
      // A study that has ended is never run again: say so, where the report is, exit 0, touch nothing.
      const ended = await readStudyEnd(file.coordinator.data_dir);
      if (ended) {
        const msg = `study ${file.study.id} is ${ended.state === 'completed' ? 'complete' : ended.state === 'failed' ? 'over (failed)' : 'over (stopped)'}${ended.by ? ` (stopped by ${ended.by})` : ''}${ended.reason && ended.state !== 'stopped' && ended.state !== 'completed' ? `: ${ended.reason}` : ''}; ended ${ended.at}; report: ${ended.report}${existsSync(join(file.coordinator.data_dir, 'report.html')) ? `, ${join(file.coordinator.data_dir, 'report.html')}` : ''}. Nothing was changed; use a new data_dir to run the study again.`;
        if (o.json) process.stdout.write(JSON.stringify({ study: file.study.id, state: ended.state, ended_at: ended.at, report: ended.report, by: ended.by, reason: ended.reason }) + '\n');
        process.stderr.write(msg + '\n');
        return;
      }
      const log = createLogger('coordinator');
      let handle;
      try {
        handle = await startCoordinator(file, {
          log, initialModels, denyFingerprints: file.coordinator.revoked_fingerprints, autoStart: !o.waitForAdmin,
        });
      } catch (err) {
        // A start that fails before the study runs (damaged state or checkpoint, port, certificates,
        // data_dir not writable): the message names the file or setting; exit 2, nothing was written.
        if (err instanceof FlError) throw new CliError(err.message, err.user ? 2 : 1, { cause: err });
        throw err;
      }
      const detach = attachProgress(handle.events, { study: file.study, quiet: Boolean(o.json) });
      const dashboard = http ? await startDashboard(handle, http, { log }).catch(async (err: Error) => {
        await handle.close();
        throw new CliError(err.message, 2);
      }) : null;
      if (dashboard && !o.json) process.stderr.write(`dashboard: ${dashboard.url}${http?.token ? ' (bearer token required; in a browser add ?token=...)' : ''}\n`);
      // A signal is a stop that the next start resumes (systemctl restart, a reboot): the sites
      // keep reconnecting and pick up the resumed round. `fl study stop` ends the study.
      const stop = (sig: string) => () => {
        log.warn(`${sig}: stopping; the study continues when the coordinator starts again`);
        handle.stop(`signal ${sig}`, { resumable: true });
      };
      process.once('SIGINT', stop('SIGINT'));
      process.once('SIGTERM', stop('SIGTERM'));
      const outcome = await handle.done;
      detach();
      await dashboard?.close();
      await handle.close();
      if (o.json) process.stdout.write(JSON.stringify(outcome.report, null, 2) + '\n');
      else {
        // The same closing summary as the demo: the round table, the paper table and where the report is.
        const report = outcome.report;
        const say = (line: string) => process.stderr.write(line + '\n');
        say('');
        say(summaryTable(report));
        const paper = paperTable(report);
        if (paper) say('\n' + paper);
        const dir = file.coordinator.data_dir;
        const html = join(dir, 'report.html');
        if (outcome.state === 'interrupted') say(`study ${file.study.id}: interrupted (${outcome.reason}); start the coordinator again to continue from the last saved state`);
        else say(`study ${file.study.id}: ${outcome.state}${outcome.reason ? ` (${outcome.reason})` : ''}${outcome.state === 'stopped' && outcome.resumable ? '; it continues when the coordinator starts again' : ''}; report ${join(dir, 'report.json')}${existsSync(html) ? `, ${html}` : ''}`);
      }
      // Exit status: 0 the study ended as planned or was stopped (admin, or a signal: resumable);
      // 1 it failed or was interrupted (disk full, I/O error: a restart continues).
      if (outcome.state === 'interrupted') throw new CliError(`study ${file.study.id} interrupted: ${outcome.reason}`, 1);
      if (outcome.state === 'failed') throw new CliError(`study ${file.study.id} failed: ${outcome.reason}`, 1);
    });
}
