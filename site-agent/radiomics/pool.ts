// Worker-thread pool for radiomics: one job per case (or per in-memory region), handed to the next
// idle worker; results keep job order. With one worker, or when the compiled worker is not
// available (tests run from the .ts sources without a build), jobs run in-process, same results.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FlError } from '../../shared/errors/index.js';
import { extractRegion, type ExtractionSettings, type RegionInput, type RegionResult } from '../../shared/radiomics/extract.js';
import { extractCase, type CaseJob, type CaseResult } from './extract-case.js';

export type WorkerRequest =
  | { id: number; kind: 'case'; job: CaseJob }
  | { id: number; kind: 'region'; input: RegionInput; settings: ExtractionSettings };
export type WorkerReply =
  | { id: number; ok: true; result?: CaseResult; region?: RegionResult & { ms: number } }
  | { id: number; ok: false; message: string; code: string; user: boolean };

function workerPath(): string | null {
  const here = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (!import.meta.url.endsWith('.ts')) return existsSync(here) ? here : null;
  const root = here.slice(0, here.lastIndexOf('/site-agent/radiomics/'));
  const built = `${root}/dist/site-agent/radiomics/worker.js`;
  return existsSync(built) ? built : null;
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

export class RadiomicsPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  private seq = 0;
  /** Jobs run in-process (one worker requested, or no compiled worker). */
  readonly inProcess: boolean;

  constructor(size = defaultWorkers()) {
    const path = size > 1 ? workerPath() : null;
    this.inProcess = path === null;
    if (path === null) return;
    for (let k = 0; k < size; k++) {
      const w = new Worker(path);
      w.on('message', (m: WorkerReply) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        this.release(w);
        p?.resolve(m);
      });
      w.on('error', (err) => {
        for (const p of this.pending.values()) p.reject(new Error(`radiomics worker failed: ${err.message}`, { cause: err }));
        this.pending.clear();
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  get size(): number {
    return this.inProcess ? 1 : this.workers.length;
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  private acquire(): Promise<Worker> {
    const w = this.idle.pop();
    return w ? Promise.resolve(w) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private async send(req: { kind: 'case'; job: CaseJob } | { kind: 'region'; input: RegionInput; settings: ExtractionSettings }): Promise<WorkerReply> {
    const w = await this.acquire();
    const id = ++this.seq;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...req, id });
    });
  }

  private static unwrap(r: WorkerReply): WorkerReply & { ok: true } {
    if (!r.ok) throw new FlError(r.code, r.message, { user: r.user });
    return r;
  }

  async extractCase(job: CaseJob): Promise<CaseResult> {
    if (this.inProcess) return extractCase(job);
    return RadiomicsPool.unwrap(await this.send({ kind: 'case', job })).result!;
  }

  async extractRegion(input: RegionInput, settings: ExtractionSettings): Promise<RegionResult> {
    if (this.inProcess) return extractRegion(input, settings);
    return RadiomicsPool.unwrap(await this.send({ kind: 'region', input, settings })).region!;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
