// Server side of fl.v1: the coordinator implements FederationHandlers / StudyAdminHandlers over
// domain types; these adapters decode every incoming message (a malformed one is refused with
// INVALID_ARGUMENT naming the site and the field), encode every outgoing one, and register the
// services on a grpc-js server. No generated type leaves this file.
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import {
  StudyAdminService, type FederatedLearningServer, type StudyAdminServer,
} from './gen/fl/v1/federation.js';
import { ProtocolError, type GrpcStatus } from './errors.js';
import { FastFederatedLearningService } from './chunk-codec.js';
import { BULK_ACCEPT_HEADER, BULK_HEADER, formatBulkOffer } from '../transport/bulk-wire.js';
import {
  decodeEvaluationReport, decodeSiteMessage, decodeUploadPart, encodeCoordinatorMessage, encodeModelPart, encodeStatusResponse,
} from './convert.js';
import type {
  Ack, CoordinatorMessage, DownloadRequest, ModelPart, ReceivedEvaluationReport, SiteMessage, StartRequest, StatusResponse,
  UploadPart, UploadReceipt, UploadStatusRequest, UploadStatusResponse,
} from './types.js';

/** What a handler may ask of any call: the peer's TLS identity (see shared/security/identity.ts). */
export type PeerCall = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext'>;

/** Answer of a unary or client-streaming call: a refusal, or the response. */
export type Respond<T> = (err: GrpcStatus | null, value?: T) => void;

export interface UnaryCall<Req> extends PeerCall {
  readonly request: Req;
}

/** A site's long-lived session. Undecodable messages are refused here (the error listener fires). */
export interface SiteSessionCall extends PeerCall {
  onMessage(listener: (message: SiteMessage) => void): void;
  onEnd(listener: () => void): void;
  onCancelled(listener: () => void): void;
  onError(listener: (err: Error) => void): void;
  send(message: CoordinatorMessage): void;
  end(): void;
  /** Ends the session with this status (the error listener fires too). */
  refuse(status: GrpcStatus): void;
}

export interface ModelDownloadCall extends UnaryCall<DownloadRequest> {
  readonly cancelled: boolean;
  /** The site can take the bytes on the bulk channel (request header `fl-bulk-accept`). */
  readonly acceptsBulk: boolean;
  /** Sends the response headers with the bulk channel offer; call it before the first send(). */
  offerBulk(port: number, token: Buffer): void;
  /** False when the transport buffer is full: wait for `drained()`. */
  send(part: ModelPart): boolean;
  drained(): Promise<unknown>;
  end(): void;
  /** Resolves once everything sent has left this process for the socket (or the call ended otherwise). */
  finished(): Promise<void>;
  refuse(status: GrpcStatus): void;
}

/** A client stream: iterating yields decoded messages; an undecodable one throws ProtocolError. */
export interface ClientStreamCall<T> extends PeerCall, AsyncIterable<T> {}

/** An upload call: a client stream whose go-ahead (response headers) may offer the bulk channel. */
export interface UploadCall extends ClientStreamCall<UploadPart> {
  /**
   * Adds the bulk channel offer (`fl-bulk: <port> <token>`) to the go-ahead, which goes out when the
   * handler next reads after the update header; call it before that read.
   */
  offerBulk(port: number, token: Buffer): void;
}

export interface FederationHandlers {
  session(call: SiteSessionCall): void;
  downloadModel(call: ModelDownloadCall): void;
  uploadUpdate(call: UploadCall, respond: Respond<UploadReceipt>): void;
  /**
   * Multi-range uploads (UpdateHeader.range_end): the most streams one update may use at once,
   * announced in every upload's go-ahead (response header UPLOAD_RANGES_HEADER); absent or < 2: not offered.
   */
  readonly uploadRanges?: number;
  uploadStatus(call: UnaryCall<UploadStatusRequest>, respond: Respond<UploadStatusResponse>): void;
  submitEvaluation(call: ClientStreamCall<ReceivedEvaluationReport>, respond: Respond<Ack>): void;
}

export interface StudyAdminHandlers {
  getStatus(call: PeerCall, respond: Respond<StatusResponse>): void;
  startStudy(call: UnaryCall<StartRequest>, respond: Respond<Ack>): void;
  stopStudy(call: PeerCall, respond: Respond<Ack>): void;
}

/** The status for a thrown error: ProtocolError keeps its code and message, anything else is INTERNAL. */
export function protocolStatus(err: unknown): GrpcStatus {
  if (err instanceof ProtocolError) return { code: err.grpcCode, details: err.message };
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

/**
 * A request that protobuf could not decode (truncated bytes, a declared length beyond the buffer,
 * a 64-bit size or count beyond 2^53). grpc-js would answer such a request with INTERNAL "Error
 * deserializing request"; the definitions below decode into this marker instead, so the adapters
 * refuse it as INVALID_ARGUMENT naming the party and the call.
 */
const UNDECODABLE = Symbol('undecodable');
interface Undecodable {
  readonly [UNDECODABLE]: string;
}

function undecodable(w: unknown): string | null {
  return typeof w === 'object' && w !== null && UNDECODABLE in w ? (w as Undecodable)[UNDECODABLE] : null;
}

/** The service definition with request decoding that never throws (see UNDECODABLE). */
function tolerantDefinition<D extends grpc.ServiceDefinition>(def: D): D {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    const method = m.path.slice(m.path.lastIndexOf('/') + 1);
    out[name] = {
      ...m,
      requestDeserialize: (b: Buffer) => {
        try {
          return m.requestDeserialize(b);
        } catch (err) {
          const why = (err as Error).message.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200);
          return { [UNDECODABLE]: `${method}: undecodable message of ${b.length} bytes (${why}); sizes and counts must be below 2^53 and the bytes a complete protobuf message` } satisfies Undecodable;
        }
      },
    };
  }
  return out as D;
}

/** Throws INVALID_ARGUMENT for a request that did not decode. */
function assertDecoded(w: unknown, party: () => string): void {
  const why = undecodable(w);
  if (why !== null) throw new ProtocolError(`${party()}: ${why}`);
}

function serviceError(s: GrpcStatus): Partial<grpc.StatusObject> & Error {
  return Object.assign(new Error(s.details), { code: s.code, details: s.details });
}

/** The party name from the client certificate's CN ('' without mutual TLS). */
function certName(call: PeerCall): string {
  const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
  return Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? '');
}

function respondTo<T, W>(cb: grpc.sendUnaryData<W>, encode: (v: T) => W): Respond<T> {
  return (err, value) => {
    if (err) return cb(serviceError(err), null);
    if (value === undefined) return cb(serviceError({ code: grpc.status.INTERNAL, details: 'internal error' }), null);
    let wire: W;
    try {
      wire = encode(value);
    } catch (e) {
      return cb(serviceError(protocolStatus(e)), null);
    }
    cb(null, wire);
  };
}

/**
 * Messages grpc-js may decode ahead of an upload handler: as many as the coordinator's receiver
 * pipelines (coordinator/update-receiver.ts), instead of its Readable's default high-water mark
 * of 16 (16 MiB of chunks per upload held in memory whenever the handler reads slower than the
 * wire). Beyond this the HTTP/2 stream is paused and flow control holds the sender back.
 */
export const UPLOAD_READ_AHEAD = 4;

/** Chunk messages of a download that may wait in grpc-js's write buffer (see downloadModel below). */
export const DOWNLOAD_WRITE_AHEAD = 2;

/** Response header of an upload's go-ahead: how many range streams one update may use (absent: one stream). */
export const UPLOAD_RANGES_HEADER = 'fl-upload-ranges';

/**
 * Upload streams: at most UPLOAD_READ_AHEAD messages are decoded ahead, and the response headers
 * go out when the handler first asks for a message after the update header - the go-ahead a site
 * waits for before it sends chunks (site-agent/transfer.ts), so an upload waiting for its slot
 * holds no chunk data on the coordinator (only its header).
 */
function uploadStream<W>(raw: grpc.ServerReadableStream<W, unknown>, decode: (w: W) => UploadPart, ranges = 0): UploadCall {
  const state = (raw as unknown as { _readableState?: { highWaterMark?: number } })._readableState;
  if (state && typeof state.highWaterMark === 'number') state.highWaterMark = UPLOAD_READ_AHEAD;
  let read = 0;
  let goAhead = false;
  let bulk: string | null = null;
  const inner = decodedStream(raw, decode);
  return {
    getAuthContext: () => raw.getAuthContext(),
    offerBulk(port, token) {
      bulk = formatBulkOffer(port, token);
    },
    [Symbol.asyncIterator]() {
      const it = inner[Symbol.asyncIterator]();
      return {
        next() {
          if (read++ >= 1 && !goAhead) {
            goAhead = true;
            try {
              const md = new grpc.Metadata();
              if (ranges >= 2) md.set(UPLOAD_RANGES_HEADER, String(ranges));
              if (bulk !== null) md.set(BULK_HEADER, bulk);
              raw.sendMetadata(md);
            } catch {
              // the call ended meanwhile: the read below reports it
            }
          }
          return it.next();
        },
      };
    },
  };
}

function decodedStream<W, T>(raw: AsyncIterable<W> & PeerCall, decode: (w: W) => T): ClientStreamCall<T> {
  return {
    getAuthContext: () => raw.getAuthContext(),
    // Only `next`: a consumer that stops early does not destroy the call before it has answered.
    [Symbol.asyncIterator]() {
      const it = raw[Symbol.asyncIterator]();
      return {
        async next(): Promise<IteratorResult<T>> {
          const r = await it.next();
          return r.done ? { done: true, value: undefined } : { done: false, value: decode(r.value) };
        },
      };
    },
  };
}

/** The FederatedLearning service over domain handlers (a partial set answers UNIMPLEMENTED for the rest). */
export function createFederationService(handlers: Partial<FederationHandlers>): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const unimplemented = (cb: (e: Error) => void) => cb(serviceError({ code: grpc.status.UNIMPLEMENTED, details: 'not offered by this server' }));
  const impl: FederatedLearningServer = {
    session(raw) {
      if (!handlers.session) return raw.emit('error', serviceError({ code: grpc.status.UNIMPLEMENTED, details: 'not offered by this server' }));
      let claimed = '';
      const party = () => `site "${certName(raw) || claimed || '?'}"`;
      const refuse = (s: GrpcStatus) => void raw.emit('error', serviceError(s));
      handlers.session({
        getAuthContext: () => raw.getAuthContext(),
        onMessage(listener) {
          raw.on('data', (w) => {
            let m: SiteMessage;
            try {
              assertDecoded(w, party);
              if (!claimed && w.msg?.$case === 'hello') claimed = w.msg.value.siteId;
              m = decodeSiteMessage(w, party());
            } catch (err) {
              refuse(protocolStatus(err));
              return;
            }
            listener(m);
          });
        },
        onEnd: (l) => void raw.on('end', l),
        onCancelled: (l) => void raw.on('cancelled', l),
        onError: (l) => void raw.on('error', l),
        send: (m) => void raw.write(encodeCoordinatorMessage(m)),
        end: () => void raw.end(),
        refuse,
      });
    },
    downloadModel(raw) {
      // At most DOWNLOAD_WRITE_AHEAD chunk messages wait in grpc-js's buffer before send() says wait
      // (its Writable default is 16: 16 MiB per download held while a slow site reads).
      const ws = (raw as unknown as { _writableState?: { highWaterMark?: number } })._writableState;
      if (ws && typeof ws.highWaterMark === 'number') ws.highWaterMark = DOWNLOAD_WRITE_AHEAD;
      if (!handlers.downloadModel) return raw.emit('error', serviceError({ code: grpc.status.UNIMPLEMENTED, details: 'not offered by this server' }));
      const bad = undecodable(raw.request);
      if (bad !== null) return raw.emit('error', serviceError({ code: grpc.status.INVALID_ARGUMENT, details: `${certName(raw) ? `site "${certName(raw)}"` : 'peer'}: ${bad}` }));
      handlers.downloadModel({
        request: raw.request,
        getAuthContext: () => raw.getAuthContext(),
        get cancelled() {
          return raw.cancelled;
        },
        acceptsBulk: raw.metadata.get(BULK_ACCEPT_HEADER)[0] === '1',
        offerBulk(port, token) {
          const md = new grpc.Metadata();
          md.set(BULK_HEADER, formatBulkOffer(port, token));
          raw.sendMetadata(md);
        },
        send: (p) => raw.write(encodeModelPart(p)),
        drained: () => once(raw, 'drain'),
        finished: () => new Promise<void>((resolve) => {
          if (raw.writableFinished || raw.destroyed) return resolve();
          for (const ev of ['finish', 'close', 'error']) raw.once(ev, () => resolve());
        }),
        end: () => void raw.end(),
        refuse: (s) => void raw.emit('error', serviceError(s)),
      });
    },
    uploadUpdate(raw, cb) {
      if (!handlers.uploadUpdate) return unimplemented((e) => cb(e, null));
      let claimed = '';
      handlers.uploadUpdate(uploadStream(raw, (w) => {
        assertDecoded(w, () => `site "${certName(raw) || claimed || '?'}"`);
        if (!claimed && w.part?.$case === 'header') claimed = w.part.value.siteId;
        return decodeUploadPart(w, `site "${certName(raw) || claimed || '?'}"`);
      }, handlers.uploadRanges ?? 0), respondTo(cb, (r: UploadReceipt) => ({ ...r })));
    },
    uploadStatus(raw, cb) {
      if (!handlers.uploadStatus) return unimplemented((e) => cb(e, null));
      const bad = undecodable(raw.request);
      if (bad !== null) return cb(serviceError({ code: grpc.status.INVALID_ARGUMENT, details: `site "${certName(raw) || '?'}": ${bad}` }), null);
      handlers.uploadStatus({ request: raw.request, getAuthContext: () => raw.getAuthContext() }, respondTo(cb, (r: UploadStatusResponse) => ({ ...r })));
    },
    submitEvaluation(raw, cb) {
      if (!handlers.submitEvaluation) return unimplemented((e) => cb(e, null));
      let claimed = '';
      handlers.submitEvaluation(decodedStream(raw, (w) => {
        assertDecoded(w, () => `site "${certName(raw) || claimed || '?'}"`);
        claimed ||= w.siteId;
        return decodeEvaluationReport(w, `site "${certName(raw) || claimed || '?'}"`);
      }), respondTo(cb, (a: Ack) => ({ ...a })));
    },
  };
  return { definition: tolerantDefinition(FastFederatedLearningService), implementation: impl };
}

export function createStudyAdminService(handlers: StudyAdminHandlers): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const impl: StudyAdminServer = {
    getStatus: (raw, cb) => handlers.getStatus(raw, respondTo(cb, (s: StatusResponse) => encodeStatusResponse(s))),
    startStudy: (raw, cb) => undecodable(raw.request) !== null
      ? cb(serviceError({ code: grpc.status.INVALID_ARGUMENT, details: `admin "${certName(raw) || '?'}": ${undecodable(raw.request)}` }), null)
      : handlers.startStudy({ request: raw.request, getAuthContext: () => raw.getAuthContext() }, respondTo(cb, (a: Ack) => ({ ...a }))),
    stopStudy: (raw, cb) => handlers.stopStudy(raw, respondTo(cb, (a: Ack) => ({ ...a }))),
  };
  return { definition: tolerantDefinition(StudyAdminService), implementation: impl };
}

/** Registers both services on a grpc-js server. */
export function addFederationServices(server: grpc.Server, federation: Partial<FederationHandlers>, admin?: StudyAdminHandlers): void {
  const f = createFederationService(federation);
  server.addService(f.definition, f.implementation);
  if (admin) {
    const a = createStudyAdminService(admin);
    server.addService(a.definition, a.implementation);
  }
}
