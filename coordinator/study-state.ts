// Crash-safe study state (DATA/state.json, written by shared/util/atomic-write.ts): the phase of
// the study, the finished rounds, the strategy state, the config digest and, after training, the
// evaluation's progress (sites asked, the frozen models). Every phase is a state here, so
// `fl coordinator` restarted on the same data_dir continues where it stopped: after the last
// completed round, at validation scoring, at held-out scoring (asking only the sites whose results
// are not saved) or at reporting; an ended study (completed, failed, stopped by an admin) is never
// run again. The content carries its SHA-256: a flipped byte or a truncation is an error that names
// the file and both digests, never a silent restart.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from '../shared/util/atomic-write.js';
import type { RoundResult } from './round-engine.js';
import type { StrategyState } from '../shared/strategies/types.js';
import { FlError } from '../shared/errors/index.js';

/**
 * training → evaluating → reporting → completed; `failed` (a round or the evaluation missed its
 * quorum) and `stopped` (by an admin) end the study too. A stop by a signal (SIGTERM, a restart)
 * does not change the phase: the study resumes when the coordinator starts again.
 */
export type StudyPhase = 'training' | 'evaluating' | 'reporting' | 'completed' | 'failed' | 'stopped';

export const ENDED_PHASES: ReadonlySet<StudyPhase> = new Set(['completed', 'failed', 'stopped']);

/** What the held-out evaluation has done so far (results per site are files beside it). */
export interface EvaluationProgress {
  /** The sites asked to score, fixed at the first attempt (a resumed run asks the same ones). */
  readonly sites: string[];
  /** Set once the models are frozen (the models_frozen record is in the study log). */
  readonly frozen?: {
    readonly models: unknown[];
    readonly validation_sites: string[];
    readonly record: { seq: number; hash: string };
  };
}

export interface StudyEnd {
  readonly state: 'completed' | 'failed' | 'stopped';
  readonly reason: string | null;
  /** Who stopped it (an admin's name) when stopped. */
  readonly by: string | null;
  readonly report: string;
  readonly report_sha256: string;
  readonly at: string;
}

export interface StudyState {
  readonly version: 1 | 2;
  readonly study_digest: string;
  /** Absent in version 1 files (then: training). */
  readonly phase?: StudyPhase;
  readonly rounds: RoundResult[];
  readonly strategy_state: Record<string, StrategyState>;
  readonly evaluation?: EvaluationProgress;
  readonly ended?: StudyEnd;
}

export class StudyStateError extends FlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('study.state', message, options);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex');

export async function saveStudyState(path: string, state: StudyState): Promise<void> {
  const body = JSON.stringify(state);
  const text = JSON.stringify({ sha256: digest(body), state: JSON.parse(body) as unknown }) + '\n';
  await atomicWriteFile(path, text);
}

const RECOVER = 'restore it from a backup (the study log and the checkpoints are untouched; nothing was overwritten)';

/** Loads the state; null when there is none. Throws StudyStateError (naming the file and the digests) when it is corrupt. */
export async function loadStudyState(path: string): Promise<StudyState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StudyStateError(`${path}: cannot read the study state: ${(err as Error).message}`, { cause: err });
  }
  let parsed: { sha256?: unknown; state?: StudyState };
  try {
    parsed = JSON.parse(text) as { sha256: string; state: StudyState };
  } catch {
    throw new StudyStateError(`${path}: the study state is not valid JSON (${text.length} bytes, sha256 ${digest(text).slice(0, 16)}…; truncated or altered); ${RECOVER}`);
  }
  if (typeof parsed.sha256 !== 'string' || typeof parsed.state !== 'object' || parsed.state === null) {
    throw new StudyStateError(`${path}: not a study state file (no sha256/state); ${RECOVER}`);
  }
  const found = digest(JSON.stringify(parsed.state));
  if (found !== parsed.sha256) {
    throw new StudyStateError(`${path}: the study state does not match its digest (expected sha256 ${parsed.sha256}, found ${found}); the file was altered or damaged; ${RECOVER}`);
  }
  return parsed.state;
}

/** How a held-out result's `evaluation_result` record in the study log is known: its site and results digest. */
export function recordedResultKey(site: string, resultsDigest: string): string {
  return `${site} ${resultsDigest}`;
}

/** Per-site evaluation results saved as they arrive, so a restart asks only for what is missing. */
export class EvaluationResultStore {
  constructor(private readonly dir: string) {}

  private path(kind: 'validation' | 'held-out', site: string): string {
    return join(this.dir, 'evaluation', kind, `${site}.json`);
  }

  async save(kind: 'validation' | 'held-out', site: string, value: unknown): Promise<void> {
    const body = JSON.stringify(value);
    await atomicWriteFile(this.path(kind, site), JSON.stringify({ sha256: digest(body), value: JSON.parse(body) as unknown }) + '\n');
  }

  /** The saved result, or null; a damaged file is an error naming it (it is never silently re-asked). */
  async load<T>(kind: 'validation' | 'held-out', site: string): Promise<T | null> {
    const p = this.path(kind, site);
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let parsed: { sha256?: string; value?: T };
    try {
      parsed = JSON.parse(text) as { sha256: string; value: T };
    } catch {
      throw new StudyStateError(`${p}: saved evaluation results are not valid JSON; delete the file to ask site "${site}" again`);
    }
    const found = digest(JSON.stringify(parsed.value));
    if (found !== parsed.sha256) throw new StudyStateError(`${p}: saved evaluation results do not match their digest (expected sha256 ${parsed.sha256}, found ${found}); delete the file to ask site "${site}" again`);
    return parsed.value as T;
  }
}
