// Revocations reloaded without a restart: `coordinator.revoked_fingerprints_file` (one SHA-256
// fingerprint per line, `#` comments) is re-read when it changes (polled) and on SIGHUP; its
// entries are added to `coordinator.revoked_fingerprints`. A malformed file keeps the previous
// list and says which line is wrong.
import { readFileSync, watchFile, unwatchFile } from 'node:fs';
import type { Logger } from 'pino';
import { normaliseFingerprint, type DenyList } from '../shared/security/fingerprint.js';
import { ConfigError } from '../shared/config/load.js';

/** Parses a revocation file; throws ConfigError naming the file and line. */
export function parseRevocationFile(text: string, path: string): string[] {
  const out: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    try {
      out.push(normaliseFingerprint(line));
    } catch (err) {
      throw new ConfigError(`${path} line ${i + 1}: ${(err as Error).message}; fix the line (the previous revocation list stays in force)`);
    }
  }
  return out;
}

/**
 * Loads the file into `deny` now (a malformed file throws), then on every change and SIGHUP;
 * `onReload` runs after each successful reload (the coordinator closes sessions of revoked certificates).
 */
export function watchRevocations(path: string, base: readonly string[], deny: DenyList, log: Logger, intervalMs = 1000, onReload?: () => void): { reload(): void; close(): void } {
  const reload = (initial = false) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.error({ path, err: (err as Error).message }, 'cannot read the revocation file; the previous list stays in force');
        return;
      }
      text = '';
    }
    try {
      const extra = parseRevocationFile(text, path);
      deny.replace([...base, ...extra]);
      if (!initial) {
        log.warn({ path, revoked: deny.size }, 'revocation list reloaded');
        onReload?.();
      }
    } catch (err) {
      if (initial) throw err;
      log.error({ path, err: (err as Error).message }, 'revocation file not reloaded');
    }
  };
  reload(true);
  watchFile(path, { interval: intervalMs }, () => reload());
  const onHup = () => reload();
  process.on('SIGHUP', onHup);
  return {
    reload: () => reload(),
    close() {
      unwatchFile(path);
      process.off('SIGHUP', onHup);
    },
  };
}
