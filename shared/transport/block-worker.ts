// Worker thread of the block pool (block-pool.ts): receives a chunk's buffer by transfer (no copy),
// checks it, writes it to the spool file and answers with the outcome (returning the buffer).
import { parentPort } from 'node:worker_threads';
import { checkAndWrite, type BlockResult } from './block-check.js';
import type { ToBlockWorker } from './block-pool.js';

const scratch = new Uint32Array((4 << 20) / 4);
parentPort!.on('message', (m: ToBlockWorker) => {
  let result: BlockResult;
  try {
    result = checkAndWrite({ data: new Uint8Array(m.buffer, m.byteOffset, m.length), sha256: m.sha256, finite: m.finite, fd: m.fd, position: m.position }, scratch);
  } catch (err) {
    result = { kind: 'io', code: 'EIO', message: (err as Error).message };
  }
  // The buffer goes back with the answer and is dropped there: the coordinator's thread collects its
  // garbage often, this one seldom (it allocates almost nothing), so buffers left here would pile up.
  parentPort!.postMessage({ id: m.id, result }, [m.buffer]);
});
