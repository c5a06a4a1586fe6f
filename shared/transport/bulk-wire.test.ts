// The bulk channel's wire format (bulk-wire.ts) and the site's address parsing (bulk-connect.ts):
// block framing read back in any split of the byte stream, malformed and cut streams, the reader's
// backpressure, the go-ahead's offer header, and writeBlocks -> BlockReader over a real TCP socket.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { PassThrough } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import {
  BlockReader, BulkProtocolError, BULK_BLOCK_HEADER_BYTES, BULK_READ_AHEAD, encodeBlockHeader, formatBulkOffer, parseBulkOffer, writeBlocks,
} from './bulk-wire.js';
import { targetHost } from './bulk-connect.js';
import { MAX_CHUNK_BYTES, type WireChunk } from './chunks.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Blocks with distinct, deterministic contents (offsets as a sender would give them, one beyond 2^32). */
function makeBlocks(sizes: number[], firstOffset = 0): WireChunk[] {
  let offset = firstOffset;
  return sizes.map((n, k) => {
    const data = Buffer.alloc(n);
    for (let i = 0; i < n; i++) data[i] = (i * 31 + k * 7 + 1) & 0xff;
    const c = { offset, data, sha256: sha(data) };
    offset += n;
    return c;
  });
}

/** The bytes a sender puts on the stream for `blocks` (header, then data, per block). */
function encode(blocks: WireChunk[]): Buffer {
  return Buffer.concat(blocks.flatMap((c) => [encodeBlockHeader(c.offset, c.data.length, c.sha256), c.data]));
}

/** Feeds `bytes` in pieces of `piece` bytes, honouring the stream's backpressure, then ends it (unless `end` is false). */
async function feed(src: PassThrough, bytes: Buffer, piece: number, end = true): Promise<void> {
  for (let p = 0; p < bytes.length; p += piece) {
    if (!src.write(bytes.subarray(p, p + piece))) await new Promise((r) => src.once('drain', r));
  }
  if (end) src.end();
}

async function collect(reader: AsyncIterable<WireChunk>): Promise<WireChunk[]> {
  const out: WireChunk[] = [];
  for await (const c of reader) out.push(c);
  return out;
}

const summary = (blocks: WireChunk[]) => blocks.map((c) => ({ offset: c.offset, sha256: c.sha256, length: c.data.length, bytesSha: sha(c.data) }));

describe('BlockReader', () => {
  // Sizes around the header length and a block as large as allowed; offsets past 2^32.
  const sizes = [1, 17, BULK_BLOCK_HEADER_BYTES - 1, BULK_BLOCK_HEADER_BYTES, BULK_BLOCK_HEADER_BYTES + 1, 4096, 65_537, 100_003];
  const blocks = makeBlocks(sizes, 5 * 0x1_0000_0000 + 7);
  const wire = encode(blocks);

  it('gives the same blocks (offset, SHA-256, bytes) whether fed 1 byte at a time or in large pieces', async () => {
    const results: WireChunk[][] = [];
    for (const piece of [1, 7, 4093, wire.length]) {
      const src = new PassThrough();
      const reader = new BlockReader(src);
      const [got] = await Promise.all([collect(reader), feed(src, wire, piece)]);
      results.push(got);
      expect(reader.received).toBe(sizes.reduce((a, b) => a + b, 0));
    }
    const expected = summary(blocks);
    for (const got of results) {
      expect(summary(got)).toEqual(expected);
      for (let i = 0; i < got.length; i++) {
        expect(got[i]!.data.equals(blocks[i]!.data)).toBe(true);
        // Each block in an ArrayBuffer of its own (transferable to a worker), not a slice of a pool.
        expect(got[i]!.data.byteOffset).toBe(0);
        expect(got[i]!.data.buffer.byteLength).toBe(got[i]!.data.length);
      }
    }
    // No two blocks share memory.
    const buffers = new Set(results.flat().map((c) => c.data.buffer));
    expect(buffers.size).toBe(results.flat().length);
  });

  it('reads bytes that arrived with the preamble (leftover) before the stream\'s own', async () => {
    const src = new PassThrough();
    const cut = BULK_BLOCK_HEADER_BYTES + 10; // inside the first block's data
    const reader = new BlockReader(src, wire.subarray(0, cut));
    const [got] = await Promise.all([collect(reader), feed(src, wire.subarray(cut), 1000)]);
    expect(summary(got)).toEqual(summary(blocks));
  });

  it.each([
    ['0 bytes', 0],
    ['MAX_CHUNK_BYTES + 1 bytes', MAX_CHUNK_BYTES + 1],
    ['4 GiB - 1 bytes', 0xffff_ffff],
  ])('a block header announcing %s fails with BulkProtocolError before anything is allocated for it', async (_, length) => {
    const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const src = new PassThrough();
    const reader = new BlockReader(src);
    const good = makeBlocks([10]);
    const bad = Buffer.alloc(BULK_BLOCK_HEADER_BYTES);
    bad.writeUInt32LE(10, 0);
    bad.writeUInt32LE(length, 8);
    const it = reader[Symbol.asyncIterator]();
    const first = it.next();
    src.write(Buffer.concat([encode(good), bad, Buffer.alloc(64, 1)]));
    expect((await first).value?.offset).toBe(0);
    const err = await it.next().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(BulkProtocolError);
    expect((err as Error).message).toBe(`bulk block at offset 10 announces ${length} bytes (must be 1 to ${MAX_CHUNK_BYTES})`);
    // Only the good block's buffer was allocated.
    expect(alloc.mock.calls.map((c) => c[0])).toEqual([10]);
    // The stream is given up, and the reader stays failed.
    expect(src.destroyed).toBe(true);
    await expect(it.next()).rejects.toBeInstanceOf(BulkProtocolError);
  });

  it('a malformed header fails a reader that is already waiting', async () => {
    const src = new PassThrough();
    const reader = new BlockReader(src);
    const pending = reader[Symbol.asyncIterator]().next();
    src.write(Buffer.alloc(BULK_BLOCK_HEADER_BYTES)); // length 0
    await expect(pending).rejects.toBeInstanceOf(BulkProtocolError);
  });

  it.each([
    // blocks of 100, 200 and 300 bytes: the first two end at 2 headers + 300 bytes
    ['in a block\'s data', 3 * BULK_BLOCK_HEADER_BYTES + 300 + 50],
    ['in a block header', 2 * BULK_BLOCK_HEADER_BYTES + 300 + 5],
    ['right after a block', 2 * BULK_BLOCK_HEADER_BYTES + 300],
  ])('a stream that ends %s ends the iteration without the cut block', async (_, at) => {
    const three = makeBlocks([100, 200, 300]);
    const bytes = encode(three).subarray(0, at);
    for (const piece of [1, bytes.length]) {
      const src = new PassThrough();
      const reader = new BlockReader(src);
      const [got] = await Promise.all([collect(reader), feed(src, bytes, piece)]);
      expect(summary(got)).toEqual(summary(three.slice(0, 2)));
    }
  });

  it('a stream destroyed with an error fails the iteration', async () => {
    const src = new PassThrough();
    const reader = new BlockReader(src);
    const pending = collect(reader);
    src.write(encode(makeBlocks([10])));
    src.destroy(new Error('ECONNRESET'));
    await expect(pending).rejects.toThrow('ECONNRESET');
  });

  it(`pauses the source once ${BULK_READ_AHEAD} blocks wait for a consumer that does not read, and resumes when it reads`, async () => {
    const src = new PassThrough();
    const reader = new BlockReader(src);
    const n = BULK_READ_AHEAD + 3;
    const many = makeBlocks(Array.from({ length: n }, () => 1000));
    const flush = () => new Promise((r) => setImmediate(r));
    for (let i = 0; i < n; i++) {
      src.write(encode([many[i]!]));
      await flush();
      // Blocks 1..READ_AHEAD are read off the source; after the READ_AHEAD-th it is paused.
      expect(src.isPaused()).toBe(i + 1 >= BULK_READ_AHEAD);
      expect(reader.received).toBe(Math.min(i + 1, BULK_READ_AHEAD) * 1000);
    }
    src.end();
    // The rest waited in the source; reading drains everything in order.
    const got = await collect(reader);
    expect(summary(got)).toEqual(summary(many));
    expect(reader.received).toBe(n * 1000);
  });
});

describe('the go-ahead\'s bulk offer', () => {
  it('round-trips port and token', () => {
    for (const port of [1, 7444, 65535]) {
      const token = randomBytes(32);
      const text = formatBulkOffer(port, token);
      expect(text).toBe(`${port} ${token.toString('hex')}`);
      const back = parseBulkOffer(text);
      expect(back?.port).toBe(port);
      expect(back?.token.equals(token)).toBe(true);
    }
  });

  const hex = 'ab'.repeat(32);
  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['port 0', `0 ${hex}`],
    ['port 65536', `65536 ${hex}`],
    ['a 6-digit port', `100000 ${hex}`],
    ['a negative port', `-1 ${hex}`],
    ['a short token', `7444 ${hex.slice(2)}`],
    ['a long token', `7444 ${hex}00`],
    ['upper-case hex', `7444 ${hex.toUpperCase()}`],
    ['non-hex token', `7444 ${'zz'.repeat(32)}`],
    ['no token', '7444'],
    ['two spaces', `7444  ${hex}`],
    ['a trailing newline', `7444 ${hex}\n`],
    ['a leading space', ` 7444 ${hex}`],
    ['host:port', `localhost:7444 ${hex}`],
  ])('rejects %s', (_, value) => {
    expect(parseBulkOffer(value)).toBeNull();
  });

  it('a block header refuses a malformed SHA-256', () => {
    expect(() => encodeBlockHeader(0, 1, 'xyz')).toThrow(BulkProtocolError);
  });
});

describe('targetHost', () => {
  it.each([
    ['host:1', 'host'],
    ['[::1]:1', '::1'],
    ['dns:///h:1', 'h'],
    ['dns:h:1', 'h'],
    ['dns://8.8.8.8/coord.example.org:7443', 'coord.example.org'],
    ['127.0.0.1:7443', '127.0.0.1'],
    ['ipv4:10.0.0.1:7443', '10.0.0.1'],
    ['coordinator', 'coordinator'],
  ])('%s -> %s', (address, host) => {
    expect(targetHost(address)).toBe(host);
  });

  it.each(['unix:/run/fl.sock', '', 'a:b:c'])('%s -> null', (address) => {
    expect(targetHost(address)).toBeNull();
  });
});

describe('writeBlocks -> BlockReader over a loopback TCP socket pair', () => {
  it('every block arrives intact and in order, and writeBlocks resolves after the end of the stream', async () => {
    let accepted!: (s: Socket) => void;
    const serverSide = new Promise<Socket>((r) => (accepted = r));
    const server = createServer((s) => accepted(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
      await new Promise((r) => client.once('connect', r));
      const reader = new BlockReader(await serverSide);
      // 24 MiB in blocks up to the maximum: more than the sockets buffer, so writeBlocks waits for 'drain'.
      const blocks = makeBlocks([MAX_CHUNK_BYTES, 1 << 20, 3, MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, (1 << 20) - 3, 12_345]);
      const seen: number[] = [];
      const [got] = await Promise.all([
        collect(reader),
        writeBlocks(client, blocks[Symbol.iterator](), (c) => seen.push(c.offset)),
      ]);
      expect(seen).toEqual(blocks.map((c) => c.offset));
      expect(summary(got)).toEqual(summary(blocks));
      for (const c of got) expect(c.sha256).toBe(sha(c.data));
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('writeBlocks rejects when the receiver closes the stream', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
      await new Promise((r) => client.once('connect', r));
      const endless = (function* () {
        for (let offset = 0; ; offset += 1 << 20) {
          const data = Buffer.alloc(1 << 20, 7);
          yield { offset, data, sha256: sha(data) };
        }
      })();
      await expect(writeBlocks(client, endless)).rejects.toThrow();
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
