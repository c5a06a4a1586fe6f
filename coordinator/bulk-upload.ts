// An upload call whose bytes may come on the bulk channel (coordinator/bulk-listener.ts): the
// messages the receiver reads (coordinator/update-receiver.ts) are the call's header and then
// either the call's chunk messages or the bulk stream's blocks, whichever the site starts first.
// A site that cannot reach the bulk port simply sends chunks on the call (its go-ahead's offer is
// withdrawn); once the bulk stream is attached the call may carry nothing but its end, and a call
// that is cancelled or fails ends the bulk stream with it.
import * as grpc from '@grpc/grpc-js';
import type { PeerCall, UploadCall, UploadPart } from '../shared/protocol/index.js';
import { BlockReader, BulkProtocolError } from '../shared/transport/bulk-wire.js';
import type { WireChunk } from '../shared/transport/chunks.js';
import type { AttachedStream, BulkGrant } from './bulk-listener.js';
import { RejectError, invalid } from './errors.js';

/**
 * The messages of an upload call, the chunks possibly from the bulk channel. `grant()` is asked
 * once, when the receiver reads after the header (the header is admitted by then and holds its
 * slot); it returns the grant offered in the go-ahead, or null to use the call alone.
 */
export function bulkAwareUpload(call: UploadCall, grant: () => BulkGrant | null, who: () => string): AsyncIterable<UploadPart> {
  return {
    [Symbol.asyncIterator]() {
      const it = call[Symbol.asyncIterator]();
      let reads = 0;
      let mode: 'undecided' | 'call' | 'bulk' = 'undecided';
      let reader: BlockReader | null = null;
      let callFailure: Error | null = null;
      return {
        async next(): Promise<IteratorResult<UploadPart>> {
          if (reads++ === 0 || mode === 'call') return it.next();
          if (mode === 'undecided') {
            const g = grant();
            if (!g) {
              mode = 'call';
              return it.next();
            }
            call.offerBulk(g.port, g.token);
            const onCall = it.next(); // sends the go-ahead, with the offer
            const first = await Promise.race([
              onCall.then((r) => ({ on: 'call' as const, r })),
              g.attached.then((a) => ({ on: 'bulk' as const, rd: new BlockReader(a.socket, a.leftover) })),
            ]);
            if (first.on === 'call') {
              g.revoke();
              mode = 'call';
              return first.r;
            }
            mode = 'bulk';
            reader = first.rd;
            // From now on the call carries only its end; anything else, or its failure, ends the bulk stream.
            onCall.then(
              (r) => {
                if (!r.done) {
                  callFailure = invalid(`${who()}: a ${r.value.type} message on the upload call after its bytes went to the bulk channel`);
                  g.revoke();
                }
              },
              (err: Error) => {
                callFailure = err;
                g.revoke();
              },
            );
          }
          let r: IteratorResult<WireChunk>;
          try {
            r = await reader!.next();
          } catch (err) {
            if (callFailure) throw callFailure;
            if (err instanceof BulkProtocolError) throw invalid(`${who()}: ${err.message}`);
            // The stream broke (reset, TLS error): an interrupted upload, its verified blocks kept for a resume.
            return { done: true, value: undefined };
          }
          if (callFailure) throw callFailure;
          return r.done ? r : { done: false, value: { type: 'chunk', chunk: r.value } };
        },
      };
    },
  };
}

/**
 * The bulk stream of a download once the site attached it; null when the call was cancelled (the
 * site could not open the channel and asks again without it) or nothing came within `ms`.
 */
export async function waitForAttach(grant: BulkGrant, call: { readonly cancelled: boolean }, ms: number): Promise<AttachedStream | null> {
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
    // grpc-js reports a cancelled server stream through a property (no promise to wait on).
    poll = setInterval(() => call.cancelled && resolve(null), 100);
  });
  try {
    return await Promise.race([grant.attached, gaveUp]);
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
  }
}

/** The fingerprint a bulk stream must present: the upload call's certificate (null without TLS). */
export function callFingerprint(call: PeerCall, secure: boolean): string | null {
  if (!secure) return null;
  const fp = call.getAuthContext()?.sslPeerCertificate?.fingerprint256;
  if (!fp) throw new RejectError(grpc.status.UNAUTHENTICATED, 'the upload call has no client certificate');
  return fp;
}
