import { describe, expect, it } from 'vitest';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  decodeChunkMessage, deserializeModelChunk, generatedChunkCodec as G, deserializeUploadMessage, encodeChunkMessage, memoChunk, serializeModelChunk, serializeUploadMessage,
} from './chunk-codec.js';

const sha = 'ab'.repeat(32);
const cases = [
  { offset: 0, data: Buffer.from([1, 2, 3, 4]), sha256: sha },
  { offset: 1 << 20, data: Buffer.alloc(1 << 20, 7), sha256: sha },
  { offset: 2 ** 40 + 12, data: Buffer.alloc(300, 1), sha256: sha }, // offset beyond 32 bits
  { offset: 5, data: Buffer.alloc(0), sha256: '' }, // empty fields are omitted, as proto3 does
  { offset: 0, data: Buffer.alloc(0), sha256: 'é' }, // non-ASCII string
];

describe('chunk codec', () => {
  it('encodes a chunk byte for byte as the generated (ts-proto / bufbuild) encoder does', () => {
    for (const c of cases) {
      const ref = G.encodeModelChunk({ part: { $case: 'chunk', value: c } });
      expect(encodeChunkMessage(c).equals(ref)).toBe(true);
      expect(serializeUploadMessage({ part: { $case: 'chunk', value: c } }).equals(G.encodeUploadMessage({ part: { $case: 'chunk', value: c } }))).toBe(true);
    }
  });

  it('decodes what the generated encoder writes, the data as a view of the message (no copy)', () => {
    for (const c of cases) {
      const buf = G.encodeUploadMessage({ part: { $case: 'chunk', value: c } });
      const d = decodeChunkMessage(buf)!;
      expect(d.offset).toBe(c.offset);
      expect(d.sha256).toBe(c.sha256);
      expect(Buffer.compare(d.data, c.data)).toBe(0);
      if (c.data.length > 0) expect(d.data.buffer).toBe(buf.buffer);
      expect(deserializeUploadMessage(buf)).toEqual(G.decodeUploadMessage(buf));
    }
  });

  it('leaves headers, unknown fields, reordered and repeated members to the generated decoder', () => {
    const header = { part: { $case: 'header' as const, value: { ref: undefined, tensors: [{ name: 'w', shape: [2], dtype: 'float32' }], totalBytes: 8 } } };
    const hb = serializeModelChunk(header);
    expect(hb.equals(G.encodeModelChunk(header))).toBe(true);
    expect(deserializeModelChunk(hb)).toEqual(G.decodeModelChunk(hb));
    // Fields in another order (allowed by protobuf): sha256, data, offset.
    const inner = new BinaryWriter().uint32(26).string(sha).uint32(18).bytes(Buffer.from([9, 9, 9, 9])).uint32(8).uint64(4).finish();
    const reordered = Buffer.from(new BinaryWriter().uint32(18).bytes(inner).finish());
    expect(decodeChunkMessage(reordered)).toEqual({ offset: 4, data: Buffer.from([9, 9, 9, 9]), sha256: sha });
    // An unknown field inside the chunk: the fast path declines, the generic one skips it.
    const unknown = new BinaryWriter().uint32(8).uint64(4).uint32(40).uint32(1).finish();
    const withUnknown = Buffer.from(new BinaryWriter().uint32(18).bytes(unknown).finish());
    expect(decodeChunkMessage(withUnknown)).toBeNull();
    expect(deserializeUploadMessage(withUnknown)).toEqual(G.decodeUploadMessage(withUnknown));
    // Two chunk members (last one wins in protobuf): generic path.
    const one = encodeChunkMessage(cases[0]!);
    const two = Buffer.concat([one, encodeChunkMessage(cases[1]!)]);
    expect(decodeChunkMessage(two)).toBeNull();
    expect(deserializeUploadMessage(two).part).toEqual(G.decodeUploadMessage(two).part);
    // Truncated: declined, and the generic decoder throws as before.
    const cut = one.subarray(0, one.length - 3);
    expect(decodeChunkMessage(cut)).toBeNull();
    expect(() => deserializeUploadMessage(cut)).toThrow();
  });

  it('reuses a memoised encoding only for the same data buffer, offset and hash', () => {
    const c = { offset: 1 << 20, data: Buffer.alloc(1024, 3), sha256: sha };
    memoChunk(c);
    const a = serializeModelChunk({ part: { $case: 'chunk', value: { ...c } } });
    const b = serializeModelChunk({ part: { $case: 'chunk', value: { ...c } } });
    expect(a).toBe(b); // the same bytes object: encoded once
    expect(a.equals(encodeChunkMessage(c))).toBe(true);
    const other = serializeModelChunk({ part: { $case: 'chunk', value: { ...c, offset: 0 } } });
    expect(other).not.toBe(a);
    expect(other.equals(encodeChunkMessage({ ...c, offset: 0 }))).toBe(true);
    const copy = serializeModelChunk({ part: { $case: 'chunk', value: { ...c, data: Buffer.from(c.data) } } });
    expect(copy).not.toBe(a);
  });
});
