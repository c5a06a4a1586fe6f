// Download chunks of a global model version, computed once and shared by every site that fetches
// it: the SHA-256 of each chunk is taken once (on the thread pool, not the event loop) and each
// chunk's wire encoding is memoised (shared/protocol/chunk-codec.ts). Without this, every site's
// download hashed and encoded the whole model again on the coordinator's event loop: with 50
// sites and a 10 MB model that was 500 MB of hashing and 1 GB of copies per round.
//
// The cache hangs off the model's data array (a WeakMap): it lives exactly as long as the version
// is held in memory (the current version by the model store; an older version read from its
// checkpoint for one download), so it holds at most one encoded copy per live version.
import { chunkViews, sha256HexAsync, type WireChunk } from '../shared/transport/chunks.js';
import { memoChunk } from '../shared/protocol/chunk-codec.js';

const cache = new WeakMap<Float32Array, Map<number, Promise<readonly WireChunk[]>>>();

/** Chunks of `bytes` (a view of `data`) in `chunkBytes` pieces from offset 0, hashed and encoded once. */
export function modelChunks(data: Float32Array, bytes: Uint8Array, chunkBytes: number): Promise<readonly WireChunk[]> {
  let bySize = cache.get(data);
  if (!bySize) cache.set(data, (bySize = new Map()));
  let chunks = bySize.get(chunkBytes);
  if (!chunks) {
    chunks = Promise.all(chunkViews(bytes, chunkBytes).map(async (v) => {
      const c: WireChunk = { offset: v.offset, data: v.data, sha256: await sha256HexAsync(v.data) };
      memoChunk(c);
      return c;
    }));
    bySize.set(chunkBytes, chunks);
    chunks.catch(() => bySize.delete(chunkBytes));
  }
  return chunks;
}

/** The chunks from byte `offset` on (a resumed download); null when `offset` is not on a chunk boundary. */
export function chunksFrom(chunks: readonly WireChunk[], offset: number): readonly WireChunk[] | null {
  if (offset === 0) return chunks;
  const i = chunks.findIndex((c) => c.offset === offset);
  return i < 0 ? null : chunks.slice(i);
}
