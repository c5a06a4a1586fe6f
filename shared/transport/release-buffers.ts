// Frees the memory of ArrayBuffers that nothing will read again now, instead of at the garbage
// collection that would eventually find them. A socket's reads each arrive in an ArrayBuffer of
// their own; once their bytes are copied into a block (bulk-wire.ts) they are garbage, and on a
// busy coordinator that garbage, not anything it holds, was most of its buffer memory: with 50
// sites uploading at once it held ~50 MB of live buffers but reached 140-190 MB between collections
// (bench/study-scale.ts). An ArrayBuffer moved into a message of a channel that is closed at once
// is freed when the close completes (freeArrayBuffers, which block-worker.ts uses for its chunks too); the buffers
// are collected and moved in batches, so the cost is one channel per batch.
import { MessageChannel } from 'node:worker_threads';

/** Bytes collected before a batch is freed at once (otherwise at the end of this turn of the event loop). */
const BATCH_BYTES = 4 << 20;

let batch: ArrayBuffer[] = [];
let bytes = 0;
let scheduled = false;

/**
 * Frees these ArrayBuffers' memory now (when the channel's close completes, on this thread's next
 * turn) without a garbage collection: they are moved into a message of a channel closed at once,
 * so they never become JavaScript objects again. Each must be detachable and listed once.
 */
export function freeArrayBuffers(buffers: ArrayBuffer[]): void {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, buffers);
  port1.close();
  port2.close();
}

function flush(): void {
  scheduled = false;
  if (batch.length === 0) return;
  freeArrayBuffers(batch);
  batch = [];
  bytes = 0;
}

/**
 * True when `b` is the whole of an ArrayBuffer of its own (as a socket read delivers it), so that
 * freeing the ArrayBuffer frees nothing else. Node's pooled small allocations and views into a
 * larger buffer are never released.
 */
export function ownsArrayBuffer(b: Uint8Array): boolean {
  const ab = b.buffer;
  return ab instanceof ArrayBuffer && b.byteOffset === 0 && ab.byteLength === b.length && b.length >= 4096;
}

/**
 * Frees `b`'s ArrayBuffer soon (it reads as empty at once) when it owns it alone; returns whether
 * it did. The caller must hold the only reference that will ever read it again.
 */
export function releaseBuffer(b: Uint8Array): boolean {
  if (!ownsArrayBuffer(b)) return false;
  const ab = b.buffer as ArrayBuffer;
  bytes += ab.byteLength;
  batch.push(ab);
  if (bytes >= BATCH_BYTES) flush();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(flush).unref();
  }
  return true;
}
