// Client side of fl.v1 over domain types: the site agent's federation client and the admin client
// behind `fl status` / `fl study`. Incoming messages are decoded (and validated) here; a message
// the coordinator should never have sent is reported as a ProtocolError naming the field.
import * as grpc from '@grpc/grpc-js';
import { FastFederatedLearningClient } from './chunk-codec.js';
import { StudyAdminClient as GenStudyAdminClient, type UploadMessage } from './gen/fl/v1/federation.js';
import { ProtocolError } from './errors.js';
import { UPLOAD_RANGES_HEADER } from './service.js';
import { BULK_ACCEPT_HEADER, BULK_HEADER, parseBulkOffer, type BulkOffer } from '../transport/bulk-wire.js';
import { bulkIdentityOf, openBulkStream, targetHost } from '../transport/bulk-connect.js';
import type { Duplex } from 'node:stream';
import {
  decodeCoordinatorMessage, decodeModelPart, decodeStatusResponse, encodeEvaluationReport, encodeSiteMessage, encodeUploadPart,
} from './convert.js';
import type {
  Ack, CoordinatorMessage, DownloadRequest, EvaluationReport, ModelPart, SiteMessage, StartRequest, StatusResponse, UploadPart,
  UploadReceipt, UploadStatusRequest, UploadStatusResponse,
} from './types.js';

/** True for the error a gRPC call fails with (it carries `code` and `details`). */
export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number';
}

/** The site's end of its session with the coordinator. */
export interface SessionStream {
  /** Decoded messages; one that does not decode goes to `onInvalid` (the session stays open). */
  onMessage(listener: (message: CoordinatorMessage) => void, onInvalid: (err: ProtocolError) => void): void;
  onError(listener: (err: grpc.ServiceError) => void): void;
  onEnd(listener: () => void): void;
  send(message: SiteMessage): void;
  end(): void;
  cancel(): void;
}

export interface ModelDownloadStream {
  /** The coordinator's bulk channel offer (response headers), or null (none, or the call ended first). */
  readonly offer: Promise<BulkOffer | null>;
  onPart(listener: (part: ModelPart) => void): void;
  /** A transport error, or a ProtocolError for a message that does not decode (the stream is cancelled). */
  onError(listener: (err: Error) => void): void;
  onEnd(listener: () => void): void;
  cancel(): void;
}

export interface UploadStream {
  /** The coordinator's answer (rejects with a grpc.ServiceError). */
  readonly receipt: Promise<UploadReceipt>;
  /**
   * Resolves when the coordinator has admitted the header and reads chunks (its response headers),
   * with the number of range streams it accepts per update (1: no multi-range uploads).
   */
  readonly ready: Promise<UploadGoAhead>;
  /** False when the transport buffer is full: wait for `onceDrain`. */
  write(part: UploadPart): boolean;
  onceDrain(listener: () => void): void;
  end(): void;
  cancel(): void;
}

/** The coordinator's go-ahead for an upload (its response headers). */
export interface UploadGoAhead {
  /** Range streams it accepts per update (1: no multi-range uploads). */
  readonly ranges: number;
  /** Its offer of the bulk channel for this upload's bytes (null: send them on the call). */
  readonly bulk: BulkOffer | null;
}

export interface FederationClient {
  /**
   * Opens the bulk channel to the coordinator's host with this client's identity (null when its
   * credentials have none registered: the bytes then go on the gRPC call).
   */
  readonly openBulk: ((port: number, token: Buffer, timeoutMs: number) => Promise<Duplex>) | null;
  session(): SessionStream;
  /** `bulk`: ask for the bytes on the bulk channel (request header `fl-bulk-accept: 1`). */
  downloadModel(request: DownloadRequest, opts?: { bulk?: boolean }): ModelDownloadStream;
  uploadUpdate(): UploadStream;
  uploadStatus(request: UploadStatusRequest): Promise<UploadStatusResponse>;
  /** Streams the batches of one evaluation submission. */
  submitEvaluation(batches: readonly EvaluationReport[]): Promise<Ack>;
  close(): void;
}

function unary<T>(start: (cb: (err: grpc.ServiceError | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err || value === undefined ? reject(err) : resolve(value))));
}

/** The bulk channel offer in a call's response headers, or null. */
function bulkOfferIn(md: grpc.Metadata): BulkOffer | null {
  const b = md.get(BULK_HEADER)[0];
  return parseBulkOffer(typeof b === 'string' ? b : undefined);
}

/** Connects to a coordinator's FederatedLearning service. */
export function connectFederation(address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions): FederationClient {
  const client = new FastFederatedLearningClient(address, credentials, options);
  const party = `the coordinator at ${address}`;
  const kit = bulkIdentityOf(credentials);
  const host = targetHost(address);
  const override = options?.['grpc.ssl_target_name_override'];
  return {
    openBulk: kit && host ? (port, token, timeoutMs) => openBulkStream(kit, host, port, token, {
      timeoutMs, ...(typeof override === 'string' ? { servername: override } : {}),
    }) : null,
    session() {
      const raw = client.session();
      return {
        onMessage(listener, onInvalid) {
          raw.on('data', (w) => {
            let m: CoordinatorMessage;
            try {
              m = decodeCoordinatorMessage(w, party);
            } catch (err) {
              onInvalid(err instanceof ProtocolError ? err : new ProtocolError(`${party}: undecodable session message`, { cause: err }));
              return;
            }
            listener(m);
          });
        },
        onError: (l) => void raw.on('error', l),
        onEnd: (l) => void raw.on('end', l),
        send: (m) => void raw.write(encodeSiteMessage(m)),
        end: () => void raw.end(),
        cancel: () => raw.cancel(),
      };
    },
    downloadModel(request, opts) {
      const md = new grpc.Metadata();
      if (opts?.bulk) md.set(BULK_ACCEPT_HEADER, '1');
      const raw = client.downloadModel({ ...request }, md);
      const offer = new Promise<BulkOffer | null>((resolve) => {
        raw.once('metadata', (m: grpc.Metadata) => resolve(bulkOfferIn(m)));
        for (const ev of ['end', 'error', 'close']) raw.once(ev, () => resolve(null));
      });
      const errorListeners: ((err: Error) => void)[] = [];
      raw.on('error', (err: Error) => errorListeners.forEach((l) => l(err)));
      let partListener: ((p: ModelPart) => void) | null = null;
      raw.on('data', (w) => {
        let p: ModelPart;
        try {
          p = decodeModelPart(w, party);
        } catch (err) {
          raw.cancel();
          errorListeners.forEach((l) => l(err instanceof Error ? err : new Error(String(err))));
          return;
        }
        partListener?.(p);
      });
      return {
        offer,
        onPart: (l) => void (partListener = l),
        onError: (l) => void errorListeners.push(l),
        onEnd: (l) => void raw.on('end', l),
        cancel: () => raw.cancel(),
      };
    },
    uploadUpdate() {
      let raw!: grpc.ClientWritableStream<UploadMessage>;
      const receipt = new Promise<UploadReceipt>((resolve, reject) => {
        raw = client.uploadUpdate((err, r) => (err || !r ? reject(err) : resolve(r)));
      });
      receipt.catch(() => undefined); // the caller may give up (cancel) without awaiting the receipt
      const call = raw;
      const ready = new Promise<UploadGoAhead>((resolve) => call.once('metadata', (md: grpc.Metadata) => {
        const v = Number(md.get(UPLOAD_RANGES_HEADER)[0] ?? 1);
        resolve({ ranges: Number.isInteger(v) && v >= 1 && v <= 64 ? v : 1, bulk: bulkOfferIn(md) });
      }));
      return {
        receipt,
        ready,
        write: (p) => call.write(encodeUploadPart(p)),
        onceDrain: (l) => void call.once('drain', l),
        end: () => void call.end(),
        cancel: () => call.cancel(),
      };
    },
    uploadStatus: (request) => unary((cb) => client.uploadStatus({ ...request }, cb)),
    submitEvaluation(batches) {
      return new Promise((resolve, reject) => {
        const stream = client.submitEvaluation((err, ack) => (err || !ack ? reject(err) : resolve(ack)));
        for (const b of batches) stream.write(encodeEvaluationReport(b));
        stream.end();
      });
    },
    close: () => client.close(),
  };
}

export interface AdminCallOptions {
  readonly deadline?: Date;
  /** StopStudy only: freeze the last completed round and run the held-out evaluation (metadata fl-stop-evaluate). */
  readonly evaluate?: boolean;
}

/** The coordinator's StudyAdmin service (needs an admin certificate). Failures reject with grpc.ServiceError. */
export interface StudyAdminClient {
  getStatus(options?: AdminCallOptions): Promise<StatusResponse>;
  startStudy(request: StartRequest, options?: AdminCallOptions): Promise<Ack>;
  stopStudy(options?: AdminCallOptions): Promise<Ack>;
  close(): void;
}

export function connectStudyAdmin(address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions): StudyAdminClient {
  const client = new GenStudyAdminClient(address, credentials, options);
  const party = `the coordinator at ${address}`;
  const callOptions = (o?: AdminCallOptions): Partial<grpc.CallOptions> => (o?.deadline ? { deadline: o.deadline } : {});
  return {
    getStatus: async (o) => decodeStatusResponse(await unary((cb) => client.getStatus({}, new grpc.Metadata(), callOptions(o), cb)), party),
    startStudy: (req, o) => unary((cb) => client.startStudy({ ...req }, new grpc.Metadata(), callOptions(o), cb)),
    stopStudy: (o) => {
      const md = new grpc.Metadata();
      if (o?.evaluate) md.set('fl-stop-evaluate', '1');
      return unary((cb) => client.stopStudy({}, md, callOptions(o), cb));
    },
    close: () => client.close(),
  };
}
