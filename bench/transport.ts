// Upload of an 80 MB update over gRPC on loopback (the real receive path: chunk SHA-256,
// finiteness check, incremental digest, spool to disk), against raw TCP on loopback measured
// in the same run, each receiver in its own thread. Also shows the effect of the enlarged
// HTTP/2 receive window (grpc-js servers default to 64 KiB).
import { Worker } from 'node:worker_threads';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { connectFederation } from '../shared/protocol/index.js';
import { uploadUpdate } from '../site-agent/transfer.js';
import type { TensorSet } from '../shared/tensor/tensor-set.js';
import type { Bench } from './types.js';

const MB = 1e6;

async function receiver(kind: 'tcp' | 'grpc' | 'grpc-wide', dir: string, total: number): Promise<{ worker: Worker; port: number }> {
  const worker = new Worker(new URL('./transport-server.js', import.meta.url), { workerData: { kind, dir, total } });
  const [msg] = (await once(worker, 'message')) as [{ port: number }];
  return { worker, port: msg.port };
}

async function rawTcp(bytes: Buffer, dir: string): Promise<number> {
  const { worker, port } = await receiver('tcp', dir, bytes.length);
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => {
      const step = 1 << 20;
      let off = 0;
      const pump = () => {
        while (off < bytes.length) {
          const ok = c.write(bytes.subarray(off, off + step));
          off += step;
          if (!ok) return void c.once('drain', pump);
        }
      };
      pump();
    });
    c.on('data', () => {
      c.destroy();
      resolve();
    });
    c.on('error', reject);
  });
  const s = (performance.now() - t0) / 1000;
  await worker.terminate();
  return bytes.length / s / MB;
}

async function grpcUpload(set: TensorSet, kind: 'grpc' | 'grpc-wide', dir: string): Promise<number> {
  const { worker, port } = await receiver(kind, dir, set.data.byteLength);
  const client = connectFederation(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const t0 = performance.now();
  await uploadUpdate(client, {
    studyId: 'b', siteId: 's', model: 'm', round: 1, modelVersion: 0, numExamples: 1, updateId: `bench-${kind}-${Date.now()}`,
    metrics: {}, taskId: 't', signature: '',
  }, set, { chunkBytes: 1 << 20 });
  const s = (performance.now() - t0) / 1000;
  client.close();
  await worker.terminate();
  return set.data.byteLength / s / MB;
}

export const transportBench: Bench = {
  name: 'transport',
  description: 'upload of an 80 MB update over gRPC (loopback, receiver in its own thread) vs raw TCP',
  async run() {
    const n = 20_000_000; // 80 MB of float32
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
    const set: TensorSet = { infos: [{ name: 'w', shape: [n], dtype: 'float32' }], data };
    const bytes = Buffer.from(data.buffer);
    const dir = mkdtempSync(join(tmpdir(), 'bench-transport-'));
    try {
      const tcp = Math.max(await rawTcp(bytes, dir), await rawTcp(bytes, dir));
      const plain = await grpcUpload(set, 'grpc', dir);
      const wide = Math.max(await grpcUpload(set, 'grpc-wide', dir), await grpcUpload(set, 'grpc-wide', dir));
      console.log(`raw TCP loopback:                   ${tcp.toFixed(0)} MB/s`);
      console.log(`gRPC upload, default 64 KiB window: ${plain.toFixed(0)} MB/s (ratio ${(plain / tcp).toFixed(2)})`);
      console.log(`gRPC upload, enlarged windows (2 MiB stream, 1 MiB frames): ${wide.toFixed(0)} MB/s (ratio ${(wide / tcp).toFixed(2)})`);
      console.log(`transport: ${wide.toFixed(0)} MB/s gRPC upload, raw TCP ${tcp.toFixed(0)} MB/s, ratio ${(wide / tcp).toFixed(2)} (target >= 0.3)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
