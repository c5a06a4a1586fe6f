// Removing the masks from the sum of the surviving sites' masked inputs, chunk by chunk:
//   sum_u y_u - sum_u PRG(b_u) - sum_{u survived, v dropped} sign(u,v) * PRG(s_uv)  (mod 2^32)
// where y_u = x_u + PRG(b_u) + sum_{v in U2, v != u} sign(u,v) PRG(s_uv). Pairwise masks between two
// survivors cancel in the sum; those a survivor shares with a dropped site are recomputed from the
// dropped site's reconstructed mask key. Used by the server and, from the logged revealed secrets
// and the spooled masked uploads, by an audit replay.
import { createHash, type Hash } from 'node:crypto';
import { FlError } from '../errors/index.js';
import { PrgStream } from './crypto.js';
import type { Session } from './session.js';

/** Reads `count` ring elements (4*count bytes, little-endian) of a site's masked upload from element `start`. */
export type MaskedReader = (site: string, start: number, count: number) => Uint8Array | Promise<Uint8Array>;

export interface UnmaskInputs {
  readonly session: Session;
  /** U3: sites whose masked input is in the sum. */
  readonly survivors: readonly string[];
  /** Advertised X25519 mask public keys (s_u^PK) of every site of U2. */
  readonly maskKeys: ReadonlyMap<string, Uint8Array>;
  /** Reconstructed self-mask seeds b_u, one per survivor. */
  readonly selfSeeds: ReadonlyMap<string, Uint8Array>;
  /** Reconstructed mask secret keys s_v^SK of the sites of U2 that dropped before their masked input. */
  readonly droppedKeys: ReadonlyMap<string, Uint8Array>;
  /** SHA-256 (hex) each survivor declared for its masked upload; checked while reading. */
  readonly digests?: ReadonlyMap<string, string>;
}

function toRing(bytes: Uint8Array, count: number, site: string, start: number): Uint32Array {
  if (bytes.length !== count * 4) {
    throw new FlError('secagg.upload', `masked upload of site ${site}: expected ${count * 4} bytes at element ${start}, got ${bytes.length}`);
  }
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, count);
  const copy = new Uint32Array(count);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

/** Yields the unmasked sum chunk by chunk (each chunk a fresh array). Memory: O(chunk). */
export async function* unmaskChunks(inp: UnmaskInputs, read: MaskedReader): AsyncGenerator<{ start: number; sum: Uint32Array }> {
  const s = inp.session;
  const survivors = s.ordered(inp.survivors);
  const survivorSet = new Set(survivors);
  const streams: PrgStream[] = [];
  for (const u of survivors) {
    const seed = inp.selfSeeds.get(u);
    if (!seed) throw new FlError('secagg.unmask', `no self-mask seed for surviving site ${u}`, { user: false });
    streams.push(new PrgStream(s.selfMaskKey(seed), -1));
  }
  for (const [v, secret] of inp.droppedKeys) {
    if (survivorSet.has(v)) throw new FlError('secagg.unmask', `site ${v} is both a survivor and dropped; refusing to unmask`, { user: false });
    for (const u of survivors) {
      const pub = inp.maskKeys.get(u);
      if (!pub) throw new FlError('secagg.unmask', `no advertised mask key for site ${u}`, { user: false });
      // u added sign(u,v) * PRG(s_uv); remove it.
      streams.push(new PrgStream(s.pairSeed(secret, pub, v, u), s.pairSign(u, v) === 1 ? -1 : 1));
    }
  }
  const hashes = new Map<string, Hash>(survivors.map((u) => [u, createHash('sha256')]));
  const zeros = Buffer.alloc(Math.min(s.chunkElements, s.elements) * 4);
  for (let start = 0; start < s.elements; start += s.chunkElements) {
    const count = Math.min(s.chunkElements, s.elements - start);
    const acc = new Uint32Array(count);
    for (const u of survivors) {
      const bytes = await read(u, start, count);
      const y = toRing(bytes, count, u, start);
      hashes.get(u)!.update(bytes);
      for (let i = 0; i < count; i++) acc[i] = acc[i]! + y[i]!;
    }
    for (const p of streams) p.addInto(acc, start, zeros);
    yield { start, sum: acc };
  }
  if (inp.digests) {
    for (const u of survivors) {
      const want = inp.digests.get(u);
      const got = hashes.get(u)!.digest('hex');
      if (want !== got) {
        throw new FlError('secagg.upload', `masked upload of site ${u} does not match the digest it declared (${want ?? 'none'} vs ${got}); the spooled file was altered or truncated`);
      }
    }
  }
}

/** The whole unmasked sum (length `session.elements`). */
export async function unmaskSum(inp: UnmaskInputs, read: MaskedReader): Promise<Uint32Array> {
  const out = new Uint32Array(inp.session.elements);
  for await (const c of unmaskChunks(inp, read)) out.set(c.sum, c.start);
  return out;
}
