// Crash-safe study state: after every round the coordinator durably stores (temp file, fsync,
// rename, fsync of the folder) the finished rounds, strategy state and the config digest, with a
// SHA-256 over the content. `fl coordinator` restarted on the same data_dir resumes after the
// last completed round; the global models come from their checkpoints (digests cross-checked).
import { createHash } from 'node:crypto';
import { open, readFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fsyncDir } from '../shared/tensor/file.js';
import type { RoundResult } from './round-engine.js';
import type { StrategyState } from '../shared/strategies/types.js';
import { FlError } from '../shared/errors/index.js';

export interface StudyState {
  readonly version: 1;
  readonly study_digest: string;
  readonly rounds: RoundResult[];
  readonly strategy_state: Record<string, StrategyState>;
}

export class StudyStateError extends FlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('study.state', message, options);
  }
}

export async function saveStudyState(path: string, state: StudyState): Promise<void> {
  const body = JSON.stringify(state);
  const text = JSON.stringify({ sha256: createHash('sha256').update(body).digest('hex'), state: JSON.parse(body) as unknown }) + '\n';
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Loads the state; null when there is none. Throws StudyStateError when it is corrupt. */
export async function loadStudyState(path: string): Promise<StudyState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let parsed: { sha256: string; state: StudyState };
  try {
    parsed = JSON.parse(text) as { sha256: string; state: StudyState };
  } catch {
    throw new StudyStateError(`${path}: not valid JSON (torn write?)`);
  }
  const body = JSON.stringify(parsed.state);
  if (createHash('sha256').update(body).digest('hex') !== parsed.sha256) throw new StudyStateError(`${path}: checksum mismatch`);
  return parsed.state;
}
