// The site's own record of frozen models. The coordinator announces the final models'
// digests and thresholds (FreezeNotice) before it may ask for held-out evaluation; the site
// records each notice in a local file (atomically replaced, fsync'ed) and refuses to score a held-out cohort with a
// model digest it has not recorded as frozen. The check does not depend on trusting the
// coordinator's word at evaluation time.
import { existsSync, readFileSync } from 'node:fs';
import { atomicWriteFile } from '../shared/util/atomic-write.js';

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

  /**
   * Records a notice durably (shared/util/atomic-write.ts: the whole file is replaced, verified
   * and fsync'ed) before the site acknowledges it. A notice already recorded (sent again after a
   * coordinator restart) is not added twice.
   */
  async record(entries: readonly Omit<FrozenEntry, 'receivedAt'>[]): Promise<void> {
    const fresh = entries.filter((e) => !this.entries.some((x) => x.model === e.model && x.digest === e.digest && x.logSeq === e.logSeq));
    if (fresh.length === 0) return;
    const stamped = fresh.map((e) => ({ ...e, receivedAt: new Date().toISOString() }));
    const all = [...this.entries, ...stamped];
    if (this.path) await atomicWriteFile(this.path, all.map((e) => JSON.stringify(e) + '\n').join(''));
    this.entries.push(...stamped);
  }

  frozen(model: string, digest: string): FrozenEntry | undefined {
    return this.entries.find((e) => e.model === model && e.digest === digest);
  }

  all(): readonly FrozenEntry[] {
    return this.entries;
  }
}
