// Worker thread: extracts cases (from files) or in-memory regions on request.
import { parentPort } from 'node:worker_threads';
import { FlError } from '../../shared/errors/index.js';
import { extractRegion } from '../../shared/radiomics/extract.js';
import { extractCase } from './extract-case.js';
import type { WorkerRequest, WorkerReply } from './pool.js';

parentPort!.on('message', (m: WorkerRequest) => {
  void (async () => {
    let reply: WorkerReply;
    try {
      if (m.kind === 'case') reply = { id: m.id, ok: true, result: await extractCase(m.job) };
      else {
        const r = extractRegion(m.input, m.settings);
        reply = { id: m.id, ok: true, region: { values: r.values, warnings: r.warnings, pixels: r.pixels, ms: 0 } };
      }
    } catch (err) {
      reply = { id: m.id, ok: false, message: err instanceof Error ? err.message : String(err), code: err instanceof FlError ? err.code : 'radiomics.internal', user: err instanceof FlError && err.user };
    }
    parentPort!.postMessage(reply);
  })();
});
