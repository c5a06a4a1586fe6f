// Model download and update upload over gRPC streams of raw byte chunks. A dropped download
// resumes from the last verified chunk; an upload is retried with the same update id, which
// the coordinator counts once.
import type { Duplex } from 'node:stream';
import type { FederationClient, ModelDownloadStream, ModelPart, UpdateHeader, UploadReceipt, UploadStream } from '../shared/protocol/index.js';
import { ChunkAssembler, chunkViews, sha256Hex, sha256HexAsync, DEFAULT_CHUNK_BYTES, type WireChunk } from '../shared/transport/chunks.js';
import { writeBlocks, BlockReader, type BulkOffer } from '../shared/transport/bulk-wire.js';
import { TensorSetHasher, bytesOf, totalElements, digestedBlockHashes, DIGEST_BLOCK_BYTES, type TensorInfo, type TensorSet } from '../shared/tensor/tensor-set.js';

/** The outbound check the privacy guard provides (site-agent/privacy-guard.ts). */
export interface OutboundGuard {
  guardOutbound(kind: 'update-header' | 'update-chunk', payload: unknown): void;
}

export class TransferError extends Error {
  override name = 'TransferError';
}

export interface DownloadedModel {
  readonly set: TensorSet;
  readonly digest: string;
  readonly version: number;
}

/**
 * Downloads a model version. On a dropped stream it re-requests from the last verified byte
 * (up to `retries` times without progress). Verifies the final digest against `expectDigest`.
 */
export async function downloadModel(
  client: FederationClient,
  req: { studyId: string; model: string; version: number; expectDigest?: string },
  opts: {
    retries?: number; chunkBytes?: number; idleTimeoutMs?: number; bulk?: boolean; onBulkFallback?: (reason: string) => void;
    /** After each verified chunk: bytes verified so far and the model's size. */
    onProgress?: (receivedBytes: number, totalBytes: number) => void;
  } = {},
): Promise<DownloadedModel> {
  // `blocks`: the verified SHA-256 of each chunk while every chunk is one whole digest block (the
  // default chunking), so the digest is computed from them without hashing the model again.
  const st: { assembler: ChunkAssembler | null; infos: TensorInfo[]; digest: string; blocks: { sha256: string; length: number }[] | null } = { assembler: null, infos: [], digest: '', blocks: [] };
  let stalls = 0;
  const retries = opts.retries ?? 5;
  for (;;) {
    const offset = st.assembler?.receivedBytes ?? 0;
    const before = offset;
    try {
      const bulk = (opts.bulk ?? true) && client.openBulk !== null && bulkReachable(client);
      const stream = client.downloadModel({
        studyId: req.studyId, model: req.model, version: req.version, offset, chunkBytes: opts.chunkBytes ?? DEFAULT_CHUNK_BYTES,
      }, { bulk });
      await consume(stream, opts.idleTimeoutMs ?? 60_000, bulk ? (o) => client.openBulk!(o.port, o.token, BULK_CONNECT_TIMEOUT_MS) : null, (part) => {
        if (part.type === 'header') {
          const h = part.header;
          const hInfos = [...h.tensors];
          if (!st.assembler) {
            if (h.totalBytes !== totalElements(hInfos) * 4) throw new TransferError(`model "${req.model}": header size does not match its tensors`);
            st.assembler = new ChunkAssembler(h.totalBytes);
            st.infos = hInfos;
            st.digest = h.ref.digest;
          } else if (h.ref.digest !== st.digest) {
            throw new TransferError(`model "${req.model}" v${req.version} changed during the download`);
          }
        } else {
          if (!st.assembler) throw new TransferError('chunk before header');
          st.assembler.add(part.chunk); // checks the chunk's SHA-256
          opts.onProgress?.(st.assembler.receivedBytes, st.assembler.totalBytes);
          const c = part.chunk;
          const last = c.offset + c.data.length === st.assembler.totalBytes;
          if (st.blocks && c.offset % DIGEST_BLOCK_BYTES === 0 && (c.data.length === DIGEST_BLOCK_BYTES || last)) st.blocks.push({ sha256: c.sha256, length: c.data.length });
          else st.blocks = null;
        }
      });
      const done = st.assembler;
      if (done?.complete) break;
      throw new TransferError(`model "${req.model}": stream ended after ${done?.receivedBytes ?? 0} of ${done?.totalBytes ?? '?'} bytes`);
    } catch (err) {
      if (err instanceof TransferError && /changed|header size|chunk before/.test(err.message)) throw err;
      if (err instanceof BulkUnavailable) {
        // Asked again at once, on the call alone (no stall counted).
        bulkUnavailable(client, err.message);
        opts.onBulkFallback?.(err.message);
        continue;
      }
      const progressed = st.assembler?.receivedBytes ?? 0;
      stalls = progressed > before ? 0 : stalls + 1;
      if (stalls > retries) throw new TransferError(`download of "${req.model}" v${req.version} failed: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** stalls)));
    }
  }
  const a = st.assembler!;
  const data = new Float32Array(a.bytes.buffer, a.bytes.byteOffset, a.totalBytes / 4);
  const hasher = new TensorSetHasher(st.infos);
  if (st.blocks) for (const b of st.blocks) hasher.addBlockHash(b.sha256, b.length);
  else hasher.update(a.bytes);
  const actual = hasher.digest();
  if (actual !== st.digest || (req.expectDigest && actual !== req.expectDigest)) {
    throw new TransferError(`model "${req.model}" v${req.version}: digest mismatch (expected ${req.expectDigest ?? st.digest}, got ${actual})`);
  }
  return { set: { infos: st.infos, data }, digest: actual, version: req.version };
}

/** The offered bulk channel could not be opened: the download is asked for again on the call alone. */
class BulkUnavailable extends Error {
  override name = 'BulkUnavailable';
}

/**
 * Reads a download: its messages on the call and, when the coordinator offered the bulk channel
 * and `openBulk` is given, its chunks on that channel (done when both the call and the channel
 * ended). Fails when nothing arrives for `idleMs` (progress-based timeout). A bulk stream that
 * breaks counts as ended: the caller finds the download short and resumes it.
 */
function consume(
  stream: ModelDownloadStream, idleMs: number, openBulk: ((offer: BulkOffer) => Promise<Duplex>) | null,
  onMessage: (m: ModelPart) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let callEnded = false;
    let bulk: 'none' | 'open' | 'done' = 'none';
    let sock: Duplex | null = null;
    let timer = setTimeout(onIdle, idleMs);
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(onIdle, idleMs);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.cancel();
      sock?.destroy();
      reject(err);
    };
    const maybeDone = () => {
      if (settled || !callEnded || bulk === 'open') return;
      settled = true;
      clearTimeout(timer);
      resolve();
    };
    function onIdle() {
      fail(new TransferError(`no data for ${idleMs} ms`));
    }
    const take = (m: ModelPart) => {
      if (settled) return;
      touch();
      try {
        onMessage(m);
      } catch (err) {
        fail(err);
      }
    };
    stream.onPart(take);
    stream.onError((err) => fail(err));
    stream.onEnd(() => {
      callEnded = true;
      maybeDone();
    });
    if (openBulk) {
      void stream.offer.then(async (offer) => {
        if (!offer || settled) return;
        bulk = 'open'; // before the call's end can be seen (the offer comes in its response headers)
        const s = await openBulk(offer).catch((e: Error) => e);
        if (s instanceof Error) return fail(new BulkUnavailable(s.message));
        sock = s;
        const reader = new BlockReader(s);
        for (;;) {
          const r = await reader.next().catch(() => ({ done: true as const, value: undefined }));
          if (r.done || settled) break;
          take({ type: 'chunk', chunk: r.value });
        }
        bulk = 'done';
        maybeDone();
      });
    }
  });
}

/** The wire chunks of `bytes` with their SHA-256s, hashed off the event loop (a few at a time). */
export async function hashedChunks(bytes: Uint8Array, size: number, from = 0): Promise<WireChunk[]> {
  const views = chunkViews(bytes, size, from);
  const out: WireChunk[] = new Array(views.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < views.length; i = next++) out[i] = { ...views[i]!, sha256: await sha256HexAsync(views[i]!.data) };
  };
  await Promise.all(Array.from({ length: Math.min(HASH_LANES, views.length) }, lane));
  return out;
}

/** Concurrent hashes per transfer (libuv's default pool has 4 threads). */
const HASH_LANES = 4;

/**
 * Streams one update uses by default. A multi-range upload (`streams` > 1) sends contiguous ranges
 * of whole 1 MiB blocks on parallel streams when the coordinator offers it: that helps where one
 * HTTP/2 stream is limited by its flow-control window per round trip (a long fat network), not on
 * a CPU-bound link, where the transport bench measured no gain (bench/transport.ts); so one stream
 * by default, and a resumed single stream continues from its verified prefix as before.
 */
export const DEFAULT_UPLOAD_STREAMS = 1;
/** Blocks per range at least: smaller updates go as one stream. */
const MIN_BLOCKS_PER_RANGE = 4;

export interface UploadOptions {
  chunkBytes?: number;
  /** The update's digest when already known (the agent signs it): chunks are then hashed as they are sent. */
  digest?: string;
  guard?: OutboundGuard;
  /** Continue an interrupted upload from this verified byte (UploadStatus). */
  resumeOffset?: number;
  /** Streams for a multi-range upload (default DEFAULT_UPLOAD_STREAMS; 1: a single stream). */
  streams?: number;
  /**
   * Send the bytes on the bulk channel when the coordinator offers it (default true): one plain
   * (mutual-TLS) stream beside the call, the same blocks and hashes without HTTP/2 framing. False:
   * always on the gRPC call.
   */
  bulk?: boolean;
  /** Called when an offered bulk channel could not be opened and the bytes went on the gRPC call instead. */
  onBulkFallback?: (reason: string) => void;
}

/** How long to wait for the bulk channel to connect and accept the token before sending on the call. */
export const BULK_CONNECT_TIMEOUT_MS = 5_000;
/** After a bulk channel could not be opened, transfers of this client use the gRPC call for this long. */
export const BULK_RETRY_AFTER_MS = 10 * 60_000;
const bulkUnreachableUntil = new WeakMap<FederationClient, number>();
function bulkReachable(client: FederationClient): boolean {
  return (bulkUnreachableUntil.get(client) ?? 0) <= Date.now();
}
/** Unreachable (a firewall, no route): the call for a while. Refused (the token expired while this connected): just this once. */
function bulkUnavailable(client: FederationClient, reason: string): void {
  if (!/: refused: /.test(reason)) bulkUnreachableUntil.set(client, Date.now() + BULK_RETRY_AFTER_MS);
}

/**
 * Uploads one update as a header followed by raw chunks; resolves with the coordinator's receipt.
 * With `streams` > 1 and a coordinator that offers multi-range uploads (its go-ahead says how many
 * streams), the blocks are split into contiguous ranges sent on parallel streams of the same
 * update id; the first stream's header announces its range, and when the coordinator does not
 * offer ranges (an older one) that stream simply carries the whole update.
 */
export async function uploadUpdate(
  client: FederationClient,
  header: Omit<UpdateHeader, 'tensors' | 'totalBytes' | 'digest' | 'resumeOffset' | 'rangeEnd'>,
  set: TensorSet,
  opts: UploadOptions = {},
): Promise<UploadReceipt> {
  const bytes = bytesOf(set.data);
  const resumeOffset = opts.resumeOffset ?? 0;
  const size = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  // With the digest given (the agent computes it to sign the update), each chunk is hashed just
  // before it is sent, on this thread: no pass over the update before the first byte goes out, and
  // no copy (WebCrypto copies its input). Without it, one hashing pass first, on the thread pool
  // and in parallel: the 1 MiB chunks' SHA-256s are also the digest's block hashes.
  let digest = opts.digest;
  let known: Map<number, string> | null = null;
  // The agent's digest pass (tensorSetDigest) kept its 1 MiB block hashes: they are the chunks' SHA-256s.
  const digested = digest && size === DIGEST_BLOCK_BYTES ? digestedBlockHashes(set.data, digest) : null;
  if (digested) known = new Map(digested.map((h, i) => [i * DIGEST_BLOCK_BYTES, h]));
  if (!digest) {
    const hashed = await hashedChunks(bytes, size);
    const h = new TensorSetHasher(set.infos);
    if (hashed.every((c, i) => c.data.length === DIGEST_BLOCK_BYTES || i === hashed.length - 1)) {
      for (const c of hashed) h.addBlockHash(c.sha256, c.data.length);
    } else {
      h.update(bytes);
    }
    digest = h.digest();
    known = new Map(hashed.map((c) => [c.offset, c.sha256]));
  }
  const chunksIn = (from: number, to: number): Iterator<WireChunk> => {
    const views = chunkViews(bytes.subarray(0, to), size, from);
    return (function* () {
      for (const v of views) yield { ...v, sha256: known?.get(v.offset) ?? sha256Hex(v.data) };
    })();
  };
  const full: UpdateHeader = {
    ...header, digest, totalBytes: bytes.length, resumeOffset,
    tensors: set.infos.map((t) => ({ name: t.name, shape: [...t.shape], dtype: t.dtype })),
  };
  const guard = opts.guard;

  // Ranges of whole blocks: only with the default chunking (a chunk is a block) and enough blocks.
  const streams = Math.max(1, Math.floor(opts.streams ?? DEFAULT_UPLOAD_STREAMS));
  const blocks = Math.ceil((bytes.length - resumeOffset) / DIGEST_BLOCK_BYTES);
  const k = size === DIGEST_BLOCK_BYTES && resumeOffset % DIGEST_BLOCK_BYTES === 0 ? Math.min(streams, Math.floor(blocks / MIN_BLOCKS_PER_RANGE)) : 1;
  if (k < 2) {
    const bulk = opts.bulk ?? true ? { onFallback: opts.onBulkFallback } : null;
    return sendStream(client, full, () => chunksIn(resumeOffset, bytes.length), guard, digest, bulk).receipt;
  }

  const per = Math.ceil(blocks / k);
  const ranges: [number, number][] = [];
  for (let r = 0; r < k; r++) {
    const from = resumeOffset + r * per * DIGEST_BLOCK_BYTES;
    if (from < bytes.length) ranges.push([from, Math.min(bytes.length, from + per * DIGEST_BLOCK_BYTES)]);
  }
  const [first, ...rest] = ranges;
  const open: UploadStream[] = [];
  const cancelAll = () => open.forEach((c) => c.cancel());
  // Stream 0 announces its range; the go-ahead says whether the coordinator takes ranges, and if
  // not, this stream carries everything (its range_end is ignored by such a coordinator).
  const s0 = sendStream(client, { ...full, resumeOffset: first![0], rangeEnd: first![1] }, (ranges) => {
    return ranges >= 2 ? chunksIn(first![0], first![1]) : chunksIn(resumeOffset, bytes.length);
  }, guard, digest);
  open.push(s0.call);
  const receipts: Promise<UploadReceipt>[] = [s0.receipt];
  const lanes = (async () => {
    const { ranges: n } = await s0.call.ready;
    if (n < 2) return;
    const queue = [...rest];
    const lane = async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        const st = sendStream(client, { ...full, resumeOffset: r[0], rangeEnd: r[1] }, () => chunksIn(r[0], r[1]), guard, digest);
        open.push(st.call);
        receipts.push(st.receipt);
        await st.receipt;
      }
    };
    // Stream 0 counts against the coordinator's limit too.
    await Promise.all(Array.from({ length: Math.max(1, Math.min(n, k) - 1) }, lane));
  })();
  try {
    await Promise.all([s0.receipt, lanes]);
    const all = await Promise.all(receipts);
    const accepted = all.find((r) => r.accepted);
    if (!accepted) throw new TransferError(`upload of update ${header.updateId}: every range was received but no stream reported the update accepted (${all.map((r) => r.message).join('; ')})`);
    return accepted;
  } catch (err) {
    cancelAll();
    throw err;
  }
}

/**
 * One upload stream: the header, then - once the coordinator's go-ahead arrives (it has admitted
 * the header and holds a transfer slot, so an upload waiting in line leaves no chunk data in its
 * buffers) - the chunks `chunks(ranges)` yields, `ranges` being the range streams the coordinator
 * offers. A refusal ends the call instead (the receipt rejects). With `bulk` and a go-ahead that
 * offers the bulk channel, the chunks go there (the call is half-closed and waits for the receipt);
 * a channel that cannot be opened leaves them on the call.
 */
function sendStream(
  client: FederationClient, header: UpdateHeader, chunks: (ranges: number) => Iterator<WireChunk>, guard: OutboundGuard | undefined, digest: string,
  bulk: { onFallback?: ((reason: string) => void) | undefined } | null = null,
): { call: UploadStream; receipt: Promise<UploadReceipt> } {
  const call = client.uploadUpdate();
  const receipt = new Promise<UploadReceipt>((resolve, reject) => {
    call.receipt.then(resolve, reject);
    try {
      guard?.guardOutbound('update-header', header);
    } catch (err) {
      call.cancel();
      reject(err);
      return;
    }
    call.write({ type: 'header', header });
    call.ready.then(async ({ ranges, bulk: offer }) => {
      const it = chunks(ranges);
      if (bulk && offer && client.openBulk && bulkReachable(client)) {
        const sock = await client.openBulk(offer.port, offer.token, BULK_CONNECT_TIMEOUT_MS).catch((e: Error) => e);
        if (!(sock instanceof Error)) {
          call.end(); // nothing more on the call: the receipt comes back on it
          let refused: unknown = null;
          try {
            await writeBlocks(sock, it, guard ? (chunk) => {
              try {
                guard.guardOutbound('update-chunk', { update: digest, chunk });
              } catch (err) {
                refused = err;
                throw err;
              }
            } : undefined);
          } catch (err) {
            sock.destroy();
            // The privacy guard's refusal ends the upload here. A broken stream does not: the
            // coordinator answers on the call (ABORTED, its verified blocks kept for a resume).
            if (refused) {
              call.cancel();
              reject(refused);
            }
          }
          return;
        }
        bulkUnavailable(client, sock.message);
        bulk.onFallback?.(sock.message);
      }
      const writeChunks = () => {
        for (;;) {
          const next = it.next();
          if (next.done) {
            call.end();
            return;
          }
          try {
            guard?.guardOutbound('update-chunk', { update: digest, chunk: next.value });
          } catch (err) {
            call.cancel();
            reject(err);
            return;
          }
          if (!call.write({ type: 'chunk', chunk: next.value })) {
            call.onceDrain(writeChunks);
            return;
          }
        }
      };
      writeChunks();
    }, () => undefined);
  });
  receipt.catch(() => undefined); // observed by the caller
  return { call, receipt };
}
