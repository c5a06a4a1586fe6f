// `fl study start|stop --config admins/NAME/admin.yaml`: starts a coordinator that waits for an
// admin (autoStart off), or stops a running study after its current round (StudyAdmin, mutual
// TLS with the admin certificate).
import type { Command } from 'commander';
import type { Ack } from '../../shared/protocol/index.js';
import { ADMIN_OPTIONS, callAdmin, connectAdmin, type AdminConnectOptions } from '../admin-client.js';
import { CliError } from '../errors.js';

async function run(action: 'start' | 'stop', o: AdminConnectOptions & { json?: boolean; evaluate?: boolean }): Promise<void> {
  const conn = connectAdmin(o);
  let ack: Ack;
  try {
    ack = action === 'start'
      ? await callAdmin(conn, 'StartStudy', (c, opts) => c.startStudy({ rounds: 0 }, opts))
      : await callAdmin(conn, 'StopStudy', (c, opts) => c.stopStudy({ ...opts, evaluate: Boolean(o.evaluate) }));
  } finally {
    conn.close();
  }
  if (o.json) console.log(JSON.stringify({ action, coordinator: conn.target, ...ack }));
  else console.log(`${conn.target}: ${ack.message}`);
  if (!ack.ok) throw new CliError(`study ${action} refused by ${conn.target}: ${ack.message}`, 1);
}

export function register(program: Command): void {
  const study = program.command('study').description('control a running study (admin certificate required)');
  for (const [action, what] of [['start', 'start the rounds of a coordinator that waits for an admin'], ['stop', 'stop the study (state "stopped", the admin named in the study log; the coordinator writes a report of what was completed and exits; the sites exit 0)']] as const) {
    const cmd = study.command(action);
    if (action === 'stop') cmd.option('--evaluate', 'freeze the last completed round and run the held-out evaluation before the report');
    cmd
      .description(what)
      .requiredOption(...ADMIN_OPTIONS.config)
      .option(...ADMIN_OPTIONS.coordinator)
      .option(...ADMIN_OPTIONS.timeout)
      .option('--json', 'print the acknowledgement as JSON')
      .action((o: AdminConnectOptions & { json?: boolean; evaluate?: boolean }) => run(action, o));
  }
}
