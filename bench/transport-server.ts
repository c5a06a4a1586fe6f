// Receiving side of the transport benchmark, run in its own worker thread so that the sender
// and the receiver do not share one event loop (as coordinator and site do not).
import { parentPort, workerData } from 'node:worker_threads';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { addFederationServices } from '../shared/protocol/index.js';
import { receiveUpload } from '../coordinator/update-receiver.js';
import { enlargeServerWindows } from '../shared/transport/http2-window.js';
import { uploadBlockPool } from '../shared/transport/block-pool.js';
import { echoDefinition } from './transport-echo.js';
import { BulkListener } from '../coordinator/bulk-listener.js';
import { bulkAwareUpload } from '../coordinator/bulk-upload.js';
import { pino } from 'pino';

const { kind, dir, total, ranges, kit } = workerData as {
  kind: 'tcp' | 'tls' | 'grpc' | 'grpc-wide' | 'grpc-tls' | 'echo' | 'bulk' | 'bulk-tls'; dir: string; total: number; ranges?: number;
  /** The coordinator's kit (ca.pem, cert.pem, key.pem) for the TLS variants. */
  kit?: string;
};
const tlsKit = kit ? { ca: readFileSync(join(kit, 'ca.pem')), cert: readFileSync(join(kit, 'cert.pem')), key: readFileSync(join(kit, 'key.pem')) } : null;


if (kind === 'tcp' || kind === 'tls') {
  const onSocket = (sock: import('node:net').Socket) => {
    let n = 0;
    sock.on('data', (d: Buffer) => {
      n += d.length;
      if (n >= total) sock.end('ok');
    });
  };
  const server = kind === 'tls' ? createTlsServer({ ...tlsKit!, requestCert: true, rejectUnauthorized: true }, onSocket) : createServer(onSocket);
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
  // The bulk variants: the coordinator's bulk channel beside the call (plain TCP, or mutual TLS as gRPC).
  const secure = kind === 'bulk-tls' || kind === 'grpc-tls';
  const bulk = kind === 'bulk' || kind === 'bulk-tls'
    ? await BulkListener.listen('127.0.0.1', 0, secure ? tlsKit : null, { headerMs: 5000, log: pino({ level: 'silent' }) })
    : null;
  addFederationServices(server, {
    uploadRanges: ranges,
    uploadUpdate(call, respond) {
      const e0 = performance.eventLoopUtilization();
      let grant: ReturnType<BulkListener['grant']> | null = null;
      const source = bulk
        ? bulkAwareUpload(call, () => (grant = bulk.grant(secure ? call.getAuthContext().sslPeerCertificate!.fingerprint256 : null)), () => 'bench site')
        : call;
      receiveUpload(source, (h) => ({ round: h.round, model: h.model, site: h.siteId, spec: h.tensors, spoolPath: join(dir, `${h.updateId}.flt`) }), { transferChunks: true, ranges: true })
        .then(({ update }) => {
          // How busy this (receiving) thread was during the upload.
          parentPort!.postMessage({ rss: process.memoryUsage().rss, elu: performance.eventLoopUtilization(e0).utilization });
          if (!update) respond(null, { accepted: false, updateId: '', digest: '', message: 'range received' });
          else respond(null, { accepted: true, updateId: update.header.updateId, digest: update.digest, message: '' });
        })
        .catch((err: Error) => respond({ code: grpc.status.INTERNAL, details: err.message }))
        .finally(() => (grant as { revoke(): void } | null)?.revoke());
    },
  });
  const creds = secure ? grpc.ServerCredentials.createSsl(tlsKit!.ca, [{ private_key: tlsKit!.key, cert_chain: tlsKit!.cert }], true) : grpc.ServerCredentials.createInsecure();
  server.bindAsync('127.0.0.1:0', creds, (err, port) => {
    if (err) throw err;
    if (kind !== 'grpc') enlargeServerWindows(server);
    parentPort!.postMessage({ port });
  });
}
