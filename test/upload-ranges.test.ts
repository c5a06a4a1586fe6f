// Multi-range uploads over real gRPC (loopback): the site's uploadUpdate with several streams
// against a receiver that offers ranges (the update arrives on that many streams, each with its
// range, and is accepted once), and against one that does not (an older coordinator: the first
// stream carries the whole update). The spooled file must equal the update byte for byte.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { addFederationServices, connectFederation, type UpdateHeader } from '../shared/protocol/index.js';
import { receiveUpload } from '../coordinator/update-receiver.js';
import { uploadUpdate } from '../site-agent/transfer.js';
import { TensorSetHasher, type TensorSet } from '../shared/tensor/tensor-set.js';
import { readTensorSetFile } from '../shared/tensor/file.js';

let server: grpc.Server | null = null;
let dir = '';
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.tryShutdown(() => r()) : r()));
  server = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function start(ranges: number | undefined): Promise<{ port: number; headers: UpdateHeader[] }> {
  dir = mkdtempSync(join(tmpdir(), 'upload-ranges-'));
  const headers: UpdateHeader[] = [];
  server = new grpc.Server();
  addFederationServices(server, {
    ...(ranges ? { uploadRanges: ranges } : {}),
    uploadUpdate(call, respond) {
      receiveUpload(call, (h) => {
        headers.push(h);
        return { round: 1, model: 'm', site: 'site-1', spec: h.tensors, spoolPath: join(dir, `${h.updateId}.flt`) };
      }, { transferChunks: true, ranges: ranges !== undefined }).then(
        ({ update }) => respond(null, update
          ? { accepted: true, updateId: update.header.updateId, digest: update.digest, message: 'accepted' }
          : { accepted: false, updateId: '', digest: '', message: 'range received' }),
        (err: Error & { code?: number }) => respond({ code: err.code ?? grpc.status.INTERNAL, details: err.message }),
      );
    },
  });
  const port = await new Promise<number>((res, rej) => server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { port, headers };
}

function testUpdate(): { set: TensorSet; digest: string } {
  const n = 10 * (1 << 18) + 77; // ten whole 1 MiB blocks and a short eleventh
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.cos(i) * 0.1;
  const set: TensorSet = { infos: [{ name: 'w', shape: [n], dtype: 'float32' }], data };
  return { set, digest: new TensorSetHasher(set.infos).update(new Uint8Array(data.buffer)).digest() };
}

const head = { studyId: 's', siteId: 'site-1', model: 'm', round: 1, modelVersion: 0, numExamples: 5, updateId: 'site-1-ranges', metrics: {}, taskId: 't', signature: '' };

describe('multi-range upload over gRPC', () => {
  it('sends the update on two range streams when offered, and it is accepted once, intact', async () => {
    const { port, headers } = await start(4);
    const { set, digest } = testUpdate();
    const client = connectFederation(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const receipt = await uploadUpdate(client, head, set, { digest, streams: 2 });
      expect(receipt).toMatchObject({ accepted: true, digest });
    } finally {
      client.close();
    }
    // Two streams, contiguous ranges of whole blocks covering the update.
    expect(headers.map((h) => [h.resumeOffset, h.rangeEnd])).toEqual([[0, 6 << 20], [6 << 20, set.data.byteLength]]);
    const file = await readTensorSetFile(join(dir, 'site-1-ranges.flt'));
    expect(file.digest).toBe(digest);
    expect(Buffer.from(file.set.data.buffer).equals(Buffer.from(set.data.buffer))).toBe(true);
  });

  it('against a receiver that offers no ranges, the first stream carries the whole update', async () => {
    const { port, headers } = await start(undefined);
    const { set, digest } = testUpdate();
    const client = connectFederation(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const receipt = await uploadUpdate(client, head, set, { digest, streams: 3 });
      expect(receipt).toMatchObject({ accepted: true, digest });
    } finally {
      client.close();
    }
    expect(headers.length).toBe(1);
    const file = await readTensorSetFile(join(dir, 'site-1-ranges.flt'));
    expect(file.digest).toBe(digest);
  });
});
