// Receiving side of the transport benchmark, run in its own worker thread so that the sender
// and the receiver do not share one event loop (as coordinator and site do not).
import { parentPort, workerData } from 'node:worker_threads';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { addFederationServices } from '../shared/protocol/index.js';
import { receiveUpload } from '../coordinator/update-receiver.js';
import { enlargeServerWindows } from '../shared/transport/http2-window.js';
import { uploadBlockPool } from '../shared/transport/block-pool.js';
import { echoDefinition } from './transport-echo.js';

const { kind, dir, total, ranges } = workerData as { kind: 'tcp' | 'grpc' | 'grpc-wide' | 'echo'; dir: string; total: number; ranges?: number };


if (kind === 'tcp') {
  const server = createServer((sock) => {
    let n = 0;
    sock.on('data', (d) => {
      n += d.length;
      if (n >= total) sock.end('ok');
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort!.postMessage({ port: (server.address() as AddressInfo).port }));
} else if (kind === 'echo') {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 8 << 20 });
  server.addService(echoDefinition, {
    upload(call: grpc.ServerReadableStream<Buffer, Buffer>, respond: grpc.sendUnaryData<Buffer>) {
      let n = 0;
      call.on('data', (m: Buffer) => void (n += m.length));
      call.on('end', () => respond(null, Buffer.from(String(n))));
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    enlargeServerWindows(server);
    parentPort!.postMessage({ port });
  });
} else {
  // A coordinator's upload check threads are started (and warm) before any site uploads.
  await uploadBlockPool().warm();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 8 << 20 });
  addFederationServices(server, {
    uploadRanges: ranges,
    uploadUpdate(call, respond) {
      const e0 = performance.eventLoopUtilization();
      receiveUpload(call, (h) => ({ round: h.round, model: h.model, site: h.siteId, spec: h.tensors, spoolPath: join(dir, `${h.updateId}.flt`) }), { transferChunks: true, ranges: true })
        .then(({ update }) => {
          // How busy this (receiving) thread was during the upload.
          parentPort!.postMessage({ rss: process.memoryUsage().rss, elu: performance.eventLoopUtilization(e0).utilization });
          if (!update) respond(null, { accepted: false, updateId: '', digest: '', message: 'range received' });
          else respond(null, { accepted: true, updateId: update.header.updateId, digest: update.digest, message: '' });
        })
        .catch((err: Error) => respond({ code: grpc.status.INTERNAL, details: err.message }));
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    if (kind === "grpc-wide") enlargeServerWindows(server);
    parentPort!.postMessage({ port });
  });
}
