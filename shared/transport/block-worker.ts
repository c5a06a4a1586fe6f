// Worker thread of the block pool (block-pool.ts): receives a chunk's buffer by transfer (no copy),
// checks it, writes it to the spool file, answers with the outcome and frees the buffer.
import { parentPort } from 'node:worker_threads';
import { checkAndWrite, type BlockResult } from './block-check.js';
import type { ToBlockWorker } from './block-pool.js';
import { freeArrayBuffers } from './release-buffers.js';

const scratch = new Uint32Array((4 << 20) / 4);

parentPort!.on('message', (m: ToBlockWorker) => {
  let result: BlockResult;
  try {
    result = checkAndWrite({ data: new Uint8Array(m.buffer, m.byteOffset, m.length), sha256: m.sha256, finite: m.finite, fd: m.fd, position: m.position, ...(m.cells ? { cells: true } : {}) }, scratch);
  } catch (err) {
    result = { kind: 'io', code: 'EIO', message: (err as Error).message };
  }
  parentPort!.postMessage({ id: m.id, result });
  // The chunk's memory is freed now, without a garbage collection (release-buffers.ts). Handed back
  // to the coordinator's thread (as before), every chunk became a fresh ArrayBuffer there whose
  // memory only a full (mark-compact) collection of that thread's heap released: ~5 per 80 MB upload,
  // the largest CPU cost of an upload after the checks themselves (bench/transport.ts). Left here,
  // it would wait for this thread's collector, which runs seldom (it allocates almost nothing), so
  // buffers would pile up.
  freeArrayBuffers([m.buffer]);
});
