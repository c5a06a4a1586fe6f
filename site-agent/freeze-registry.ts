// The site's own record of frozen models. The coordinator announces the final models'
// digests and thresholds (FreezeNotice) before it may ask for held-out evaluation; the site
// appends each notice to a local file (fsync'ed) and refuses to score a held-out cohort with a
// model digest it has not recorded as frozen. The check does not depend on trusting the
// coordinator's word at evaluation time.
import { appendFileSync, existsSync, mkdirSync, openSync, fsyncSync, closeSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface FrozenEntry {
  readonly model: string;
  readonly digest: string;
  readonly threshold: number;
  readonly logSeq: number;
  readonly recordHash: string;
  readonly receivedAt: string;
}

export class FreezeRegistry {
  private readonly entries: FrozenEntry[] = [];
  constructor(private readonly path: string | null) {
    if (path && existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          this.entries.push(JSON.parse(line) as FrozenEntry);
        } catch {
          // a torn last line after a crash: the notice was not acknowledged, so it will be resent
        }
      }
    }
  }

  record(entries: readonly Omit<FrozenEntry, 'receivedAt'>[]): void {
    const stamped = entries.map((e) => ({ ...e, receivedAt: new Date().toISOString() }));
    if (this.path) {
      mkdirSync(dirname(this.path), { recursive: true });
      appendFileSync(this.path, stamped.map((e) => JSON.stringify(e) + '\n').join(''));
      const fd = openSync(this.path, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.entries.push(...stamped);
  }

  frozen(model: string, digest: string): FrozenEntry | undefined {
    return this.entries.find((e) => e.model === model && e.digest === digest);
  }

  all(): readonly FrozenEntry[] {
    return this.entries;
  }
}
