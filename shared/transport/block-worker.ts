// Worker thread of the block pool (block-pool.ts): receives a chunk's buffer by transfer (no copy),
// checks it, writes it to the spool file, answers with the outcome and frees the buffer.
import { MessageChannel, parentPort } from 'node:worker_threads';
import { checkAndWrite, type BlockResult } from './block-check.js';
import type { ToBlockWorker } from './block-pool.js';

const scratch = new Uint32Array((4 << 20) / 4);

/**
 * Frees a chunk's memory without a garbage collection: the buffer is moved into a message of a
 * channel that is closed at once, so Node drops it when the close completes (on this thread's next
 * turn), and it never becomes a JavaScript object again. Handed back to the coordinator's thread
 * (as before), every chunk became a fresh ArrayBuffer there whose memory only a full (mark-compact)
 * collection of that thread's heap released: ~5 per 80 MB upload, the largest CPU cost of an upload
 * after the checks themselves (bench/transport.ts). Left here, it would wait for this thread's
 * collector, which runs seldom (it allocates almost nothing), so buffers would pile up.
 */
function release(buffer: ArrayBuffer): void {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, [buffer]);
  port1.close();
  port2.close();
}

parentPort!.on('message', (m: ToBlockWorker) => {
  let result: BlockResult;
  try {
    result = checkAndWrite({ data: new Uint8Array(m.buffer, m.byteOffset, m.length), sha256: m.sha256, finite: m.finite, fd: m.fd, position: m.position, ...(m.cells ? { cells: true } : {}) }, scratch);
  } catch (err) {
    result = { kind: 'io', code: 'EIO', message: (err as Error).message };
  }
  parentPort!.postMessage({ id: m.id, result });
  release(m.buffer);
});
