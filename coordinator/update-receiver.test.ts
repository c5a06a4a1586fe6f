// The upload receiver: single streams (accepted, refused, resumed) and multi-range uploads (blocks
// arriving out of order on several streams, a cut range resumed, a corrupt block refused by name).
// The expected digest comes from TensorSetHasher over the whole update, computed independently of
// the receiver's block bookkeeping; the spooled file is compared byte for byte with the update.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { receiveUpload, partialState, type Admission } from './update-receiver.js';
import { TensorSetHasher, DIGEST_BLOCK_BYTES, type TensorInfo } from '../shared/tensor/tensor-set.js';
import { readTensorSetFile } from '../shared/tensor/file.js';
import { sumOfSquares } from '../shared/aggregate/norms.js';
import type { UpdateHeader, UploadPart } from '../shared/protocol/index.js';

const B = DIGEST_BLOCK_BYTES;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'receiver-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An update of `n` float32 values (the last block shorter when n*4 is not a multiple of 1 MiB). */
function update(n: number): { infos: TensorInfo[]; data: Float32Array; bytes: Buffer; digest: string } {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i) * 0.01;
  const infos: TensorInfo[] = [{ name: 'w', shape: [n], dtype: 'float32' }];
  const bytes = Buffer.from(data.buffer);
  return { infos, data, bytes, digest: new TensorSetHasher(infos).update(bytes).digest() };
}

function headerOf(u: ReturnType<typeof update>, extra: Partial<UpdateHeader> = {}): UpdateHeader {
  return {
    studyId: 's', siteId: 'site-1', model: 'm', round: 1, modelVersion: 0, numExamples: 10, updateId: 'site-1-u1',
    metrics: {}, taskId: 't', signature: '', digest: u.digest, tensors: u.infos, totalBytes: u.bytes.length, resumeOffset: 0, ...extra,
  };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Block `i` of the update as a wire chunk, in a buffer of its own (as grpc-js delivers it). */
function block(u: ReturnType<typeof update>, i: number, corrupt = false): UploadPart {
  const data = Buffer.from(u.bytes.subarray(i * B, Math.min(u.bytes.length, (i + 1) * B)));
  const digest = sha(data);
  if (corrupt) data[17] = data[17]! ^ 0x40;
  return { type: 'chunk', chunk: { offset: i * B, data, sha256: digest } };
}

function admit(spoolPath: string) {
  return (h: UpdateHeader): Admission => ({ round: 1, model: 'm', site: 'site-1', spec: h.tensors, spoolPath });
}

/** An upload stream whose messages are released one at a time by `step()`, or all with `open()`. */
class Stream implements AsyncIterable<UploadPart> {
  private released = 0;
  private waiter: (() => void) | null = null;
  constructor(private readonly parts: UploadPart[], private readonly endAfter = parts.length) {}
  step(n = 1): void {
    this.released += n;
    this.waiter?.();
  }
  open(): void {
    this.step(Number.MAX_SAFE_INTEGER);
  }
  [Symbol.asyncIterator](): AsyncIterator<UploadPart> {
    let i = 0;
    return {
      next: async () => {
        while (i >= this.released && i < this.endAfter) await new Promise<void>((r) => (this.waiter = r));
        if (i >= this.endAfter) return { done: true, value: undefined };
        return { done: false, value: this.parts[i++]! };
      },
    };
  }
}

function opened(parts: UploadPart[]): Stream {
  const s = new Stream(parts);
  s.open();
  return s;
}

/** Until the coordinator's block log holds block `i` (no timing assumption: it polls). */
async function verified(spool: string, i: number): Promise<void> {
  for (;;) {
    if ((await partialState(spool))?.blocks.has(i)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

function filesIn(d: string): string[] {
  return existsSync(d) ? readdirSync(d).sort() : [];
}

describe('single-stream upload', () => {
  it('spools a verified update whose file reads back as the update, with the announced digest', async () => {
    const u = update(700_000); // 2.67 MiB: two whole blocks and a short one
    const spool = join(dir, 'u.flt');
    const parts = [{ type: 'header', header: headerOf(u) } as UploadPart, block(u, 0), block(u, 1), block(u, 2)];
    const got = await receiveUpload(opened(parts), admit(spool), { transferChunks: true });
    expect(got.update!.digest).toBe(u.digest);
    const file = await readTensorSetFile(spool);
    expect(Buffer.from(file.set.data.buffer).equals(u.bytes)).toBe(true);
    expect(filesIn(dir)).toEqual(['u.flt']);
    // The sum of squares was summed on receipt, bit for bit what a later read of the file gives.
    expect(got.update!.sumOfSquares).toBe(sumOfSquares(file.set.data));
  });

  it('leaves the sum of squares unknown for chunks off the norms grid and for masked updates', async () => {
    const u = update(100_000);
    const odd = [{ type: 'header', header: headerOf(u) } as UploadPart, ...[0, 1000, 300_000].map((from, k, all): UploadPart => {
      const data = Buffer.from(u.bytes.subarray(from, all[k + 1] ?? u.bytes.length));
      return { type: 'chunk', chunk: { offset: from, data, sha256: sha(data) } };
    })];
    const got = await receiveUpload(opened(odd), admit(join(dir, 'odd.flt')));
    expect(got.update!.digest).toBe(u.digest);
    expect(got.update!.sumOfSquares).toBeUndefined();
    const masked = (h: UpdateHeader): Admission => ({ ...admit(join(dir, 'masked.flt'))(h), masked: true });
    const m = await receiveUpload(opened([{ type: 'header', header: headerOf(u) } as UploadPart, block(u, 0)]), masked);
    expect(m.update!.sumOfSquares).toBeUndefined();
  });

  it('refuses a non-finite value naming its element and leaves nothing', async () => {
    const u = update(300_000);
    u.data[262_200] = Number.NaN; // in block 1
    const bad = { ...u, digest: new TensorSetHasher(u.infos).update(u.bytes).digest() };
    const spool = join(dir, 'u.flt');
    const parts = [{ type: 'header', header: headerOf(bad) } as UploadPart, block(bad, 0), block(bad, 1)];
    await expect(receiveUpload(opened(parts), admit(spool))).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT, message: expect.stringContaining('non-finite value at element 262200'),
    });
    expect(filesIn(dir)).toEqual([]);
  });
});

describe('multi-range upload', () => {
  const n = 6 * (B / 4) + 1000; // six whole blocks and a short seventh
  const rangeHeader = (u: ReturnType<typeof update>, from: number, to: number) =>
    ({ type: 'header', header: headerOf(u, { resumeOffset: from * B, rangeEnd: Math.min(u.bytes.length, to * B) }) }) as UploadPart;

  it('accepts blocks arriving out of order on two streams: the stream with the last block returns the update', async () => {
    const u = update(n);
    const spool = join(dir, 'u.flt');
    // Range [4, 7) delivers all its blocks before range [0, 4) delivers any.
    const a = new Stream([rangeHeader(u, 0, 4), block(u, 0), block(u, 1), block(u, 2), block(u, 3)]);
    const b = new Stream([rangeHeader(u, 4, 7), block(u, 4), block(u, 5), block(u, 6)]);
    a.step(1);
    b.open();
    const rb = receiveUpload(b, admit(spool), { ranges: true, transferChunks: true });
    const pa = receiveUpload(a, admit(spool), { ranges: true, transferChunks: true });
    const gotB = await rb;
    expect(gotB.update).toBeNull(); // its range is in; the update is not complete yet
    const st = await partialState(spool);
    expect([...st!.blocks.keys()].sort()).toEqual([4, 5, 6]);
    expect(st!.bytes).toBe(0); // no leading block yet: a single stream would start at 0
    a.open();
    const gotA = await pa;
    expect(gotA.update!.digest).toBe(u.digest);
    const file = await readTensorSetFile(spool);
    expect(Buffer.from(file.set.data.buffer).equals(u.bytes)).toBe(true);
    expect(gotA.update!.sumOfSquares).toBe(sumOfSquares(file.set.data));
    expect(filesIn(dir)).toEqual(['u.flt']);
  });

  it('a cut range is resumed by a new stream that sends only the missing blocks; the file is verified from disk', async () => {
    const u = update(n);
    const spool = join(dir, 'u.flt');
    // Range [0, 4) is cut after two blocks (the stream ends early), range [4, 7) completes.
    const cut = new Stream([rangeHeader(u, 0, 4), block(u, 0), block(u, 1), block(u, 2), block(u, 3)], 3);
    cut.open();
    await expect(receiveUpload(cut, admit(spool), { ranges: true })).rejects.toMatchObject({
      code: status.ABORTED, message: expect.stringContaining('ended with block 2 missing'),
    });
    const other = new Stream([rangeHeader(u, 4, 7), block(u, 4), block(u, 5), block(u, 6)]);
    other.open();
    expect((await receiveUpload(other, admit(spool), { ranges: true })).update).toBeNull();
    const st = await partialState(spool);
    expect(st!.bytes).toBe(2 * B);
    expect([...st!.blocks.keys()].sort()).toEqual([0, 1, 4, 5, 6]);
    // The resumed range sends blocks 2 and 3 only.
    const again = new Stream([rangeHeader(u, 0, 4), block(u, 2), block(u, 3)]);
    again.open();
    const got = await receiveUpload(again, admit(spool), { ranges: true });
    expect(got.update!.digest).toBe(u.digest);
    expect(got.update!.sumOfSquares).toBeUndefined(); // blocks of a cut stream: not summed by this one
    const file = await readTensorSetFile(spool);
    expect(Buffer.from(file.set.data.buffer).equals(u.bytes)).toBe(true);
    expect(filesIn(dir)).toEqual(['u.flt']);
  });

  it('a corrupt block is refused naming the block; the other stream ends with the same refusal and nothing is left', async () => {
    const u = update(n);
    const spool = join(dir, 'u.flt');
    const a = new Stream([rangeHeader(u, 0, 4), block(u, 0), block(u, 1), block(u, 2, true), block(u, 3)]);
    const b = new Stream([rangeHeader(u, 4, 7), block(u, 4), block(u, 5), block(u, 6)]);
    b.step(2); // b holds block 4, then waits
    const pb = receiveUpload(b, admit(spool), { ranges: true, transferChunks: true });
    await verified(spool, 4); // b is attached to the transfer
    a.open();
    await expect(receiveUpload(a, admit(spool), { ranges: true, transferChunks: true })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT, message: expect.stringContaining('block 2 (offset 2097152) fails its SHA-256 check'),
    });
    b.open();
    await expect(pb).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, message: expect.stringContaining('block 2') });
    expect(filesIn(dir)).toEqual([]);
  });

  it('refuses a range off block boundaries and a stream whose header differs from the running ones', async () => {
    const u = update(n);
    const spool = join(dir, 'u.flt');
    const off = new Stream([{ type: 'header', header: headerOf(u, { resumeOffset: 1000, rangeEnd: 3 * B }) }]);
    off.open();
    await expect(receiveUpload(off, admit(spool), { ranges: true })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT, message: expect.stringContaining('block boundaries'),
    });
    const a = new Stream([rangeHeader(u, 0, 4), block(u, 0), block(u, 1)], 3);
    a.step(2); // header and block 0 in; the stream stays open
    const pa = receiveUpload(a, admit(spool), { ranges: true });
    await verified(spool, 0); // a is attached to the transfer
    const other = new Stream([{ type: 'header', header: headerOf(u, { resumeOffset: 4 * B, rangeEnd: u.bytes.length, numExamples: 11 }) }]);
    other.open();
    await expect(receiveUpload(other, admit(spool), { ranges: true })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT, message: expect.stringContaining('another header'),
    });
    a.open();
    await expect(pa).rejects.toMatchObject({ code: status.ABORTED });
  });

  it('without ranges offered, range_end is ignored: the stream carries the whole update', async () => {
    const u = update(n);
    const spool = join(dir, 'u.flt');
    const s = new Stream([rangeHeader(u, 0, 2), ...Array.from({ length: 7 }, (_, i) => block(u, i))]);
    s.open();
    const got = await receiveUpload(s, admit(spool));
    expect(got.update!.digest).toBe(u.digest);
    expect(readFileSync(spool).length).toBeGreaterThan(u.bytes.length);
  });
});
