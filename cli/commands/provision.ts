// `fl provision`: a study root CA and one startup kit per coordinator, site and admin.
import type { Command } from 'commander';
import { DEFAULT_COORDINATOR_PORT, ProvisionError, provisionStudy } from '../../shared/security/provision.js';
import { CliError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} ${value}: expected a positive integer`, 2);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command('provision')
    .description('create a study CA and startup kits (certificate, key, CA, config) for the coordinator, sites and admins')
    .option('--study <name>', 'study name (with --add: read from the existing CA in --out when omitted)')
    .option('--sites <a,b,c>', 'site names (lowercase letters, digits, "-")', list, [])
    .option('--admins <x,y>', 'admin names', list, [])
    .option('--coordinator-host <host>', 'host name or IP the sites dial (required for a new study)')
    .option('--port <n>', `coordinator port (default ${DEFAULT_COORDINATOR_PORT})`, positiveInt('--port'))
    .requiredOption('--out <dir>', 'output directory (CA in <dir>/ca, kits in coordinator/, sites/<name>/, admins/<name>/)')
    .option('--days <n>', 'certificate validity in days', positiveInt('--days'), 365)
    .option('--add', 'issue kits for new sites/admins with the existing CA in --out')
    .option('--force', 'replace an existing CA and all kits in --out (every existing kit stops working)')
    .option('--json', 'print the result as JSON')
    .action(async (o: {
      study?: string;
      sites: string[];
      admins: string[];
      coordinatorHost?: string;
      port?: number;
      out: string;
      days: number;
      add?: boolean;
      force?: boolean;
      json?: boolean;
    }) => {
      let study = o.study;
      if (study === undefined) {
        if (!o.add) throw new CliError('--study <name> is required (with --add it is read from the existing CA in --out)', 2);
        const record = join(o.out, 'ca', 'study.json');
        try {
          study = (JSON.parse(readFileSync(record, 'utf8')) as { study: string }).study;
        } catch (err) {
          throw new CliError(`--add without --study: cannot read the study name from ${record} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is --out the folder of an existing study CA?`, 2);
        }
        if (typeof study !== 'string') throw new CliError(`${record}: no "study" field; pass --study`, 2);
      }
      let result;
      try {
        result = await provisionStudy({
          study,
          sites: o.sites,
          admins: o.admins,
          coordinatorHost: o.coordinatorHost,
          port: o.port,
          out: o.out,
          days: o.days,
          add: o.add ?? false,
          force: o.force ?? false,
        });
      } catch (err) {
        if (err instanceof ProvisionError) throw new CliError(err.message, 2, { cause: err });
        throw err;
      }
      if (o.json) {
        console.log(JSON.stringify(result, null, 2));
        return;
      }
      console.log(`${result.createdCa ? 'created' : 'used existing'} study CA ${result.caCert}`);
      console.log(`  sha256 ${result.caFingerprint}`);
      console.log(`coordinator address ${result.coordinatorAddress}`);
      for (const k of result.kits) {
        console.log(`${k.role.padEnd(11)} ${k.name.padEnd(24)} ${k.config}`);
        console.log(`${''.padEnd(11)} sha256 ${k.fingerprint}  valid until ${k.notAfter}`);
      }
      console.log('Copy each kit folder to its party; keep the ca/ folder (CA key) offline.');
      console.log('Revoke a party by adding its sha256 to coordinator.revoked_fingerprints.');
    });
}
