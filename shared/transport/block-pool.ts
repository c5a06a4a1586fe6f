// A small pool of worker threads that check and spool upload chunks (block-check.ts): the
// finiteness check, the SHA-256 and the file write of every received byte run off the event loop,
// and a chunk that owns its memory (each message grpc-js decodes has a buffer of its own) is moved
// to the worker by transfer, not copied. Other chunks (views of a larger buffer) are copied once
// into a buffer of their own first. Jobs go to the least busy worker; results come back per job,
// and the worker frees the chunk's memory itself (block-worker.ts: no garbage collection of the
// coordinator's heap has to find it).
//
// Without the compiled worker (tests run from the .ts sources) or after the workers failed, the
// same check runs in-process, synchronously: same results, the event loop just does the work.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { checkAndWrite, type BlockJob, type BlockResult } from './block-check.js';

/** A job as posted to a worker (the buffer is transferred). */
export interface ToBlockWorker {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
  readonly length: number;
  readonly sha256: string;
  readonly finite: boolean;
  readonly fd: number;
  readonly position: number;
  readonly cells?: boolean;
}

function workerPath(): string | null {
  const here = fileURLToPath(new URL('./block-worker.js', import.meta.url));
  if (!import.meta.url.endsWith('.ts')) return existsSync(here) ? here : null;
  const root = here.slice(0, here.lastIndexOf('/shared/transport/'));
  const built = `${root}/dist/shared/transport/block-worker.js`;
  return existsSync(built) ? built : null;
}

/** True when `data` is the only thing in its ArrayBuffer (give or take a message's framing), so moving it frees nothing else. */
function ownsBuffer(data: Uint8Array): boolean {
  const b = data.buffer;
  // Node's shared allocation pool serves only allocations under 4 KiB; a buffer at most 1 KiB larger
  // than its data of >= 4 KiB is a message buffer of its own.
  return b instanceof ArrayBuffer && data.length >= 4096 && b.byteLength <= data.length + 1024;
}

interface Slot {
  readonly worker: Worker;
  busy: number;
}

export class BlockPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { slot: Slot; resolve: (r: BlockResult) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private readonly scratch = new Uint32Array((4 << 20) / 4);

  constructor(size: number, path: string | null = workerPath()) {
    if (path === null) return;
    for (let k = 0; k < size; k++) {
      const worker = new Worker(path);
      const slot: Slot = { worker, busy: 0 };
      // An idle pool never keeps the process alive. (An unref() before the thread is online does not
      // hold in Node 20: the process then never exits; so again once it is online.)
      worker.unref();
      worker.once('online', () => {
        if (slot.busy === 0) worker.unref();
      });
      worker.on('message', (m: { id: number; result: BlockResult }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        slot.busy--;
        p.resolve(m.result);
      });
      const fail = (err: Error) => {
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
        for (const [id, p] of this.pending) {
          if (p.slot !== slot) continue;
          this.pending.delete(id);
          p.reject(new Error(`upload check worker failed: ${err.message}`, { cause: err }));
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
      this.slots.push(slot);
    }
  }

  /** Worker threads in use (0: checks run in-process). */
  get threads(): number {
    return this.slots.length;
  }

  /**
   * Checks `job.data` (finite, SHA-256) and writes it at `job.position` of `job.fd` when it checks
   * out. With `transfer`, a chunk that owns its buffer is moved to the worker: the caller must not
   * touch `job.data` afterwards (it reads as empty).
   */
  run(job: BlockJob, transfer = false): Promise<BlockResult> {
    if (this.slots.length === 0) return Promise.resolve(checkAndWrite(job, this.scratch));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.busy < slot.busy) slot = s;
    let { data } = job;
    if (!(transfer && ownsBuffer(data))) data = new Uint8Array(data); // a buffer of its own to move
    const id = ++this.seq;
    const msg: ToBlockWorker = {
      id, buffer: data.buffer as ArrayBuffer, byteOffset: data.byteOffset, length: data.length,
      sha256: job.sha256, finite: job.finite, fd: job.fd, position: job.position, ...(job.cells ? { cells: true } : {}),
    };
    return new Promise<BlockResult>((resolve, reject) => {
      this.pending.set(id, { slot, resolve, reject });
      slot.busy++;
      if (slot.busy === 1) slot.worker.ref();
      slot.worker.postMessage(msg, [msg.buffer]);
    }).finally(() => {
      if (slot.busy === 0) slot.worker.unref();
    });
  }

  /**
   * Starts every worker and has each check one small chunk, so the first upload does not pay for
   * thread start-up, module loading and the first (unoptimised) runs of the check: a coordinator
   * calls it when it starts. Resolves when all are warm; a worker that fails is dropped as in run().
   */
  async warm(): Promise<void> {
    const data = new Uint8Array(64 << 10);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const jobs: Promise<BlockResult>[] = [];
    for (let round = 0; round < 4; round++) {
      // One job per worker and round (run() picks the least busy worker, so each gets its share).
      for (let k = 0; k < this.slots.length; k++) jobs.push(this.run({ data: new Uint8Array(data), sha256, finite: true, fd: -1, position: 0 }, true));
    }
    const results = await Promise.allSettled(jobs);
    const bad = results.find((r) => r.status === 'fulfilled' && r.value.kind !== 'ok');
    if (bad) throw new Error(`upload check pool: the warm-up check failed (${JSON.stringify((bad as PromiseFulfilledResult<BlockResult>).value)})`);
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

let shared: BlockPool | null = null;

/** The process-wide pool for upload chunks: one worker per core, 2 to 4. */
export function uploadBlockPool(): BlockPool {
  shared ??= new BlockPool(Math.max(2, Math.min(4, availableParallelism())));
  return shared;
}
