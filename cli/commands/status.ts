// `fl status --config admins/NAME/admin.yaml [--json]`: asks the coordinator (StudyAdmin.GetStatus,
// mutual TLS with the admin certificate) for the study's state, its sites and its rounds.
import type { Command } from 'commander';
import type { StatusResponse } from '../../shared/protocol/index.js';
import { ADMIN_OPTIONS, callAdmin, connectAdmin } from '../admin-client.js';
import { CliError } from '../errors.js';

/** Left-aligned columns separated by two spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function ago(unixMs: number, now: number): string {
  if (!unixMs) return 'never';
  const s = Math.max(0, Math.round((now - unixMs) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return new Date(unixMs).toISOString();
}

function metricText(metrics: Readonly<Record<string, number>>): string {
  const keys = Object.keys(metrics).sort();
  if (keys.length === 0) return '-';
  return keys.map((k) => `${k}=${Number.isInteger(metrics[k]) ? metrics[k] : metrics[k]!.toFixed(4)}`).join(' ');
}

/** Exit status of `fl status` when a site refused to co-sign the study log (the status is still shown). */
export const COSIGN_REFUSED_EXIT = 3;

/**
 * Sites whose latest answer to a co-signing request was a refusal: the coordinator showed them a
 * study log they cannot accept (a rewritten history, a fork) - one line each, with what to do.
 */
export function cosignProblems(s: StatusResponse): string[] {
  return [...s.sites].sort((a, b) => a.siteId.localeCompare(b.siteId)).filter((x) => x.cosignRefused).map((x) =>
    `site "${x.siteId}" REFUSED to co-sign the study log: ${x.cosignRefused}. Do not trust this study's results until it is explained: ` +
    'compare the heads the sites recorded with the log (fl audit verify DIR --ca study-ca.pem --strict --cosign-state SITE_WORK_DIR...) and ask the site\'s team what its agent logged');
}

/** The human-readable status: a header line, a table of sites, a table of the last `maxRounds` rounds (0 = all). */
export function formatStatus(s: StatusResponse, opts: { now?: number; maxRounds?: number } = {}): string {
  const now = opts.now ?? Date.now();
  const connected = s.sites.filter((x) => x.connected).length;
  const out = [`study ${s.studyId}: ${s.state}, round ${s.round}, ${connected}/${s.sites.length} sites connected`, ''];
  const sites = [...s.sites].sort((a, b) => a.siteId.localeCompare(b.siteId));
  out.push(sites.length === 0
    ? '(no site has connected yet)'
    : formatTable(['SITE', 'CONNECTED', 'BACKEND', 'LAST SEEN'], sites.map((x) => [x.siteId, x.connected ? 'yes' : 'no', x.backend || '-', ago(x.lastSeenUnixMs, now)])));
  out.push('');
  const max = opts.maxRounds ?? 20;
  const rounds = max > 0 ? s.rounds.slice(-max) : s.rounds;
  if (rounds.length === 0) {
    out.push('(no round finished yet)');
  } else {
    if (rounds.length < s.rounds.length) out.push(`(${s.rounds.length - rounds.length} earlier rounds not shown; --rounds 0 shows all)`);
    out.push(formatTable(['ROUND', 'STATE', 'SITES', 'METRICS'], rounds.map((r) => [String(r.round), r.state, r.sites.join(',') || '-', metricText(r.metrics)])));
  }
  const problems = cosignProblems(s);
  if (problems.length > 0) out.push('', ...problems.map((p) => `!! ${p}`));
  return out.join('\n');
}

export function register(program: Command): void {
  program
    .command('status')
    .description("show a running study's state, sites and rounds (asks the coordinator with an admin certificate)")
    .requiredOption(...ADMIN_OPTIONS.config)
    .option(...ADMIN_OPTIONS.coordinator)
    .option(...ADMIN_OPTIONS.timeout)
    .option('--rounds <n>', 'show only the last N rounds (0 = all)', '20')
    .option('--json', 'print the status as JSON')
    .option('--watch [seconds]', 'refresh every N seconds (default 5) until the study ends or Ctrl-C; with --json, one JSON object per line')
    .action(async (o: { config: string; coordinator?: string; timeout?: string; rounds: string; json?: boolean; watch?: string | boolean }) => {
      const maxRounds = Number(o.rounds);
      if (!Number.isInteger(maxRounds) || maxRounds < 0) throw new CliError(`--rounds "${o.rounds}": expected a whole number >= 0`, 2);
      const every = o.watch === undefined ? 0 : o.watch === true ? 5 : Number(o.watch);
      if (!Number.isFinite(every) || every < 0 || (o.watch !== undefined && every < 0.2)) throw new CliError(`--watch "${o.watch}": expected seconds >= 0.2`, 2);
      const conn = connectAdmin(o);
      try {
        for (;;) {
          const status = await callAdmin(conn, 'GetStatus', (c, opts) => c.getStatus(opts));
          // A site refusing to co-sign is never a quiet line in a table: non-zero exit, reason, what to do.
          const refused = () => {
            const problems = cosignProblems(status);
            if (problems.length > 0) throw new CliError(problems.join('\n'), COSIGN_REFUSED_EXIT);
          };
          if (!every) {
            console.log(o.json ? JSON.stringify(status, null, 2) : formatStatus(status, { maxRounds }));
            refused();
            return;
          }
          if (o.json) console.log(JSON.stringify(status));
          else {
            // On a terminal the screen is redrawn; piped, each refresh follows the last.
            if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
            console.log(`${formatStatus(status, { maxRounds })}\n\n(refreshing every ${every} s; Ctrl-C to quit)`);
          }
          if (['completed', 'failed', 'stopped'].includes(status.state)) {
            refused();
            return;
          }
          await new Promise((r) => setTimeout(r, every * 1000));
        }
      } finally {
        conn.close();
      }
    });
}
