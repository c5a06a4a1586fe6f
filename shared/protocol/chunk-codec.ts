// Wire codec for the two bulk messages (ModelChunk of DownloadModel, UploadMessage of
// UploadUpdate) when they carry a Chunk: the generated ts-proto code copies every chunk twice on
// encode (BinaryWriter.finish() concatenates, Buffer.from() copies that again) and once on decode
// (Buffer.from(reader.bytes())). Here a chunk is encoded with one allocation and one copy of its
// data, and decoded without copying (the data is a view of the message buffer grpc-js allocated
// for this message alone). Every other message (headers) goes through the generated code, and so
// does any chunk message this parser does not recognise in its plain form (unknown fields,
// repeated oneof members): the result is the same message either way.
//
// Encoded chunks can also be memoised (`memoChunk`): a download of a model version that many
// sites fetch encodes each 1 MiB chunk once, not once per site.
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import { FederatedLearningClient, FederatedLearningService, ModelChunk, UploadMessage, type Chunk as WireChunk } from './gen/fl/v1/federation.js';

const TAG_OFFSET = 0x08; // field 1, varint
const TAG_DATA = 0x12; // field 2, length-delimited
const TAG_SHA = 0x1a; // field 3, length-delimited
const TAG_OUTER_CHUNK = 0x12; // oneof member 2 (chunk), length-delimited

function varintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Reads a varint at `pos`; returns [value, next position] or null when malformed or beyond 2^53. */
function readVarint(buf: Uint8Array, pos: number, end: number): [number, number] | null {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 8 && pos < end; i++) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return value <= Number.MAX_SAFE_INTEGER ? [value, pos] : null;
    mul *= 128;
  }
  return null;
}

/** The protobuf bytes of `{ chunk: c }` (outer oneof member 2), as the generated encoder writes them. */
export function encodeChunkMessage(c: WireChunk): Buffer {
  const shaLen = Buffer.byteLength(c.sha256, 'utf8');
  let inner = 0;
  if (c.offset !== 0) inner += 1 + varintSize(c.offset);
  if (c.data.length !== 0) inner += 1 + varintSize(c.data.length) + c.data.length;
  if (shaLen !== 0) inner += 1 + varintSize(shaLen) + shaLen;
  const out = Buffer.allocUnsafe(1 + varintSize(inner) + inner);
  let p = 0;
  out[p++] = TAG_OUTER_CHUNK;
  p = writeVarint(out, p, inner);
  if (c.offset !== 0) {
    out[p++] = TAG_OFFSET;
    p = writeVarint(out, p, c.offset);
  }
  if (c.data.length !== 0) {
    out[p++] = TAG_DATA;
    p = writeVarint(out, p, c.data.length);
    out.set(c.data, p);
    p += c.data.length;
  }
  if (shaLen !== 0) {
    out[p++] = TAG_SHA;
    p = writeVarint(out, p, shaLen);
    p += out.write(c.sha256, p, 'utf8');
  }
  if (p !== out.length) throw new Error(`chunk encoder wrote ${p} of ${out.length} bytes`);
  return out;
}

/**
 * Parses `{ chunk: { offset, data, sha256 } }` with the data as a view of `buf` (no copy). Returns
 * null for anything else (a header, unknown fields, a repeated member): the caller then uses the
 * generated decoder.
 */
export function decodeChunkMessage(buf: Buffer): WireChunk | null {
  if (buf.length < 2 || buf[0] !== TAG_OUTER_CHUNK) return null;
  const len = readVarint(buf, 1, buf.length);
  if (!len || len[1] + len[0] !== buf.length) return null; // a second top-level field: generic path
  let pos = len[1];
  const end = buf.length;
  let offset = 0;
  let data: Buffer = Buffer.alloc(0);
  let sha256 = '';
  while (pos < end) {
    const tag = buf[pos++]!;
    if (tag === TAG_OFFSET) {
      const v = readVarint(buf, pos, end);
      if (!v) return null;
      [offset, pos] = v;
    } else if (tag === TAG_DATA || tag === TAG_SHA) {
      const v = readVarint(buf, pos, end);
      if (!v || v[1] + v[0] > end) return null;
      const view = buf.subarray(v[1], v[1] + v[0]);
      if (tag === TAG_DATA) data = view;
      else sha256 = view.toString('utf8');
      pos = v[1] + v[0];
    } else {
      return null;
    }
  }
  return { offset, data, sha256 };
}

/** Chunks whose encoding is kept while their data buffer lives (a model version's download chunks). */
const memo = new WeakMap<Buffer, { offset: number; sha256: string; bytes: Buffer }>();

/**
 * Marks `c` as worth keeping encoded: the next encodings of a chunk with this very data buffer
 * (same object, same offset and hash) reuse the bytes. The memo lives as long as `c.data`.
 */
export function memoChunk(c: WireChunk): void {
  memo.set(c.data, { offset: c.offset, sha256: c.sha256, bytes: encodeChunkMessage(c) });
}

function encodeChunkFast(c: WireChunk): Buffer {
  const m = memo.get(c.data);
  if (m && m.offset === c.offset && m.sha256 === c.sha256) return m.bytes;
  return encodeChunkMessage(c);
}

export function serializeModelChunk(value: ModelChunk): Buffer {
  return value.part?.$case === 'chunk' ? encodeChunkFast(value.part.value) : Buffer.from(ModelChunk.encode(value).finish());
}

export function deserializeModelChunk(buf: Buffer): ModelChunk {
  const c = decodeChunkMessage(buf);
  return c ? { part: { $case: 'chunk', value: c } } : ModelChunk.decode(buf);
}

export function serializeUploadMessage(value: UploadMessage): Buffer {
  return value.part?.$case === 'chunk' ? encodeChunkFast(value.part.value) : Buffer.from(UploadMessage.encode(value).finish());
}

export function deserializeUploadMessage(buf: Buffer): UploadMessage {
  const c = decodeChunkMessage(buf);
  return c ? { part: { $case: 'chunk', value: c } } : UploadMessage.decode(buf);
}

/** The generated FederatedLearning service definition with the bulk chunk codec above (server and client). */
export const FastFederatedLearningService = {
  ...FederatedLearningService,
  downloadModel: { ...FederatedLearningService.downloadModel, responseSerialize: serializeModelChunk, responseDeserialize: deserializeModelChunk },
  uploadUpdate: { ...FederatedLearningService.uploadUpdate, requestSerialize: serializeUploadMessage, requestDeserialize: deserializeUploadMessage },
} as const;

/** Client constructor over FastFederatedLearningService (same methods as the generated client). */
export const FastFederatedLearningClient = makeGenericClientConstructor(
  FastFederatedLearningService, 'fl.v1.FederatedLearning',
) as unknown as typeof FederatedLearningClient;

/** The generated (ts-proto / @bufbuild) codec of the same two messages: the reference the tests compare with. */
export const generatedChunkCodec = {
  encodeModelChunk: (v: ModelChunk): Buffer => Buffer.from(ModelChunk.encode(v).finish()),
  decodeModelChunk: (b: Uint8Array): ModelChunk => ModelChunk.decode(b),
  encodeUploadMessage: (v: UploadMessage): Buffer => Buffer.from(UploadMessage.encode(v).finish()),
  decodeUploadMessage: (b: Uint8Array): UploadMessage => UploadMessage.decode(b),
};
