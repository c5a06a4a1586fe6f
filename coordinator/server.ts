// The coordinator's gRPC services. Exported apart from the CLI so tests bind to port 0.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  addFederationServices, type Ack, type ClientStreamCall, type CosignResponse, type FederationHandlers,
  type PeerCall, type PhaseReply, type ReceivedEvaluationReport, type Respond, type StatusResponse, type StudyAdminHandlers, type UpdateHeader,
} from '../shared/protocol/index.js';
import { chunkBytes, DEFAULT_CHUNK_BYTES } from '../shared/transport/chunks.js';
import { bytesOf } from '../shared/tensor/tensor-set.js';
import { enlargeServerWindows } from '../shared/transport/http2-window.js';
import { uploadBlockPool } from '../shared/transport/block-pool.js';
import type { Gatekeeper } from './gatekeeper.js';
import type { SiteRegistry, SiteSession } from './site-registry.js';
import type { ModelStore } from './model-store.js';
import type { RoundEngine } from './round-engine.js';
import type { EventBus } from '../shared/events/events.js';
import { receiveUpload, partialState } from './update-receiver.js';
import { join } from 'node:path';
import { RejectError } from './errors.js';
import { toStatus } from './grpc-status.js';
import { TransferSlots } from './transfer-slots.js';
import { chunksFrom, modelChunks } from './download-chunks.js';
import { AtomicWriteError } from '../shared/util/atomic-write.js';
import { CallLimiter } from '../shared/security/limits.js';
import { ResourceExhaustedError } from '../shared/security/grpc-errors.js';
import { POLICY_REFUSAL_PREFIX } from '../shared/config/site.js';
import type { Caller } from './gatekeeper.js';
import { verifyJoinSignature } from '../shared/audit/update-signature.js';
import { parsePublicKey } from '../shared/audit/keys.js';
import { RefusalLog, StalledStreamError, timedStream } from './stream-guard.js';
import type { BulkGrant, BulkListener } from './bulk-listener.js';
import { bulkAwareUpload, callFingerprint, waitForAttach } from './bulk-upload.js';
import { writeBlocks } from '../shared/transport/bulk-wire.js';

export interface ServiceDeps {
  readonly studyId: string;
  readonly allowedSites: readonly string[] | undefined;
  readonly gate: Gatekeeper;
  readonly sites: SiteRegistry;
  readonly store: ModelStore;
  readonly engine: RoundEngine;
  readonly events: EventBus;
  readonly log: Logger;
  readonly heartbeatIntervalMs: number;
  /** Model downloads (and, separately, uploads) served at the same time; the rest queue. */
  readonly maxConcurrentTransfers?: number;
  readonly admin: {
    status(): StatusResponse;
    /** `by`: the admin certificate that asked (recorded in the study log). */
    start(by: Caller): void;
    /** An admin's stop; `evaluate` runs the held-out evaluation of the last completed round. */
    stop(by: Caller, evaluate: boolean): void;
  };
  /** Header and progress timeouts of client streams (uploads, evaluation submissions). */
  readonly streamTimeouts?: { headerMs: number; progressMs: number };
  /** Concurrent upload streams one party may hold before sending a header (after it: one per model). */
  readonly maxUploadsPerParty?: number;
  /** The bulk channel for model bytes, uploads and downloads (coordinator/bulk-listener.ts); absent: only the gRPC call. */
  readonly bulk?: BulkListener | null;
  /** A site refused a task under its own policy (TaskStatus "failed" with the policy prefix). */
  readonly onTaskRefused?: (site: string, taskId: string, reason: string) => void;
  /** Co-signatures of the study log arriving on site sessions. */
  readonly onCosignature?: (site: string, r: CosignResponse) => void;
  /** Answers to phase requests (coordinator/phase-exchange.ts). */
  readonly onPhaseReply?: (site: string, r: PhaseReply) => void;
  readonly evaluation?: {
    submit(call: ClientStreamCall<ReceivedEvaluationReport>, respond: Respond<Ack>): void;
    siteFailed(taskId: string, site: string, message: string): void;
  };
}

export { toStatus } from './grpc-status.js';

/** Model downloads, and separately uploads, served at the same time unless ServiceDeps.maxConcurrentTransfers says otherwise. */
export const DEFAULT_CONCURRENT_TRANSFERS = 8;

export function federatedLearningImpl(deps: ServiceDeps): FederationHandlers {
  const { log } = deps;
  const downloads = new TransferSlots(deps.maxConcurrentTransfers ?? DEFAULT_CONCURRENT_TRANSFERS);
  const uploads = new TransferSlots(deps.maxConcurrentTransfers ?? DEFAULT_CONCURRENT_TRANSFERS);
  const timeouts = deps.streamTimeouts ?? { headerMs: 5_000, progressMs: 30_000 };
  // Per party (certificate identity): streams before their header, then one upload per model.
  const uploadStreams = new CallLimiter(deps.maxUploadsPerParty ?? 2);
  // Per site and model: the update being uploaded and its streams (several only for a multi-range upload).
  const uploadingModels = new Map<string, { updateId: string; streams: number; ranged: boolean }>();
  /** Streams one multi-range upload may use: within the per-party stream quota, at most 4. */
  const uploadRanges = Math.min(4, deps.maxUploadsPerParty ?? 2);
  const evaluationStreams = new CallLimiter(1);
  const refusals = new RefusalLog(log);
  /** The party behind a call, from its certificate alone, checked (revocation, role, study listing) before anything is given to it. */
  const partyOf = (call: PeerCall, method: string, listed: boolean): string => {
    if (!deps.gate.secure) return '';
    const caller = deps.gate.site(call, peerName(call), method);
    if (listed && deps.allowedSites && !deps.allowedSites.includes(caller.name)) {
      throw new RejectError(grpc.status.PERMISSION_DENIED, `site "${caller.name}" is not listed in the study's sites`);
    }
    return caller.name;
  };
  return {
    uploadRanges,
    session(call) {
      let session: SiteSession | null = null;
      let closed = false;
      const close = (reason: string) => {
        if (closed) return;
        closed = true;
        if (session) {
          deps.sites.disconnect(session, reason);
          deps.events.publish({ type: 'site_disconnected', site: session.site, reason });
          log.info({ site: session.site, reason }, 'site disconnected');
        }
      };
      call.onMessage((m) => {
        try {
          if (m.type === 'hello') {
            if (session) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${session.site}": second Hello on one session`);
            const h = m;
            if (h.studyId !== deps.studyId) {
              throw new RejectError(grpc.status.FAILED_PRECONDITION, `site "${h.siteId}": Hello for study "${h.studyId}", this coordinator runs "${deps.studyId}"`);
            }
            const caller = deps.gate.site(call, h.siteId, 'Session');
            if (deps.allowedSites && !deps.allowedSites.includes(caller.name)) {
              throw new RejectError(grpc.status.PERMISSION_DENIED, `site "${caller.name}" is not listed in the study's sites`);
            }
            // The declared train-cohort size bounds this site's example counts; when signed, the
            // signature must verify with the certificate's key (it goes into the study log).
            const train = h.cohortCounts.train;
            if (h.joinSignature && caller.publicKey) {
              if (train === undefined) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${caller.name}": a signed join declaration needs cohort_counts.train`);
              let ok = false;
              try {
                ok = verifyJoinSignature(parsePublicKey(caller.publicKey), { study: deps.studyId, site: caller.name, train_cases: train }, h.joinSignature);
              } catch {
                ok = false;
              }
              if (!ok) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${caller.name}": join_signature does not verify with the certificate's key`);
            }
            const s: SiteSession = {
              site: caller.name, backend: h.backend, fingerprint: caller.fingerprint, publicKey: caller.publicKey ?? null, cohortCounts: { ...h.cohortCounts },
              certificate: caller.certificate ?? null, joinSignature: h.joinSignature ?? '',
              send: (out) => {
                if (!closed) call.send(out);
              },
              close: (reason) => {
                close(reason);
                // The reason travels to the site (UNAVAILABLE: it reconnects and logs why).
                call.refuse({ code: grpc.status.UNAVAILABLE, details: reason });
              },
            };
            session = s;
            deps.sites.connect(s);
            deps.events.publish({ type: 'site_connected', site: s.site, backend: h.backend });
            log.info({ site: s.site, backend: h.backend, fingerprint: caller.fingerprint }, 'site connected');
            call.send({ type: 'welcome', studyId: deps.studyId, siteId: s.site, heartbeatIntervalMs: deps.heartbeatIntervalMs, currentRound: deps.engine.currentRound });
            return;
          }
          if (!session) throw new RejectError(grpc.status.FAILED_PRECONDITION, 'the first session message must be Hello');
          deps.sites.touch(session.site);
          if (m.type === 'status') {
            const st = m;
            deps.events.publish({
              type: 'task_progress', round: deps.engine.currentRound, site: session.site,
              state: st.state, progress: st.progress, message: st.message,
            });
            if (st.state === 'failed') {
              if (st.message.startsWith(POLICY_REFUSAL_PREFIX)) {
                log.warn({ site: session.site, task: st.taskId, reason: st.message }, 'site refused a task under its policy');
                deps.onTaskRefused?.(session.site, st.taskId, st.message);
              }
              deps.evaluation?.siteFailed(st.taskId, session.site, st.message);
            }
          } else if (m.type === 'cosignature') {
            deps.onCosignature?.(session.site, m);
          } else if (m.type === 'phase_reply') {
            deps.onPhaseReply?.(session.site, m);
          }
        } catch (err) {
          const status = toStatus(err, log);
          refusals.warn(`session/${session?.site ?? peerName(call)}/${status.code}`, { site: session?.site, reason: status.details }, 'session refused');
          close(status.details);
          call.refuse(status);
        }
      });
      call.onEnd(() => {
        close('session ended by the site');
        call.end();
      });
      call.onCancelled(() => close('connection lost'));
      call.onError((err) => close(`stream error: ${err.message}`));
    },

    async downloadModel(call) {
      try {
        const req = call.request;
        // Only sites (or, with --insecure, anyone) may download; the site id is not in the
        // request, so identity comes from the certificate alone.
        if (deps.gate.secure) deps.gate.site(call, peerName(call), 'DownloadModel');
        if (req.studyId !== deps.studyId) throw new RejectError(grpc.status.FAILED_PRECONDITION, `download for study "${req.studyId}", this is "${deps.studyId}"`);
        if (!deps.store.has(req.model)) throw new RejectError(grpc.status.NOT_FOUND, `unknown model "${req.model}"`);
        const g = await deps.store.version(req.model, req.version).catch(() => {
          throw new RejectError(grpc.status.NOT_FOUND, `model "${req.model}" has no version ${req.version}`);
        });
        const bytes = bytesOf(g.set.data);
        if (req.offset > bytes.length || req.offset % 4 !== 0) {
          throw new RejectError(grpc.status.OUT_OF_RANGE, `offset ${req.offset} is invalid for ${bytes.length} bytes`);
        }
        const release = await downloads.acquire();
        let grant: BulkGrant | null = null;
        try {
          // The bytes on the bulk channel when the site asks for it: offered in the response
          // headers, the header message on the call, then the blocks on the site's bulk stream.
          if (call.acceptsBulk && deps.bulk) {
            grant = deps.bulk.grant(callFingerprint(call, deps.gate.secure));
            call.offerBulk(grant.port, grant.token);
          }
          call.send({
            type: 'header',
            header: { ref: { studyId: deps.studyId, model: req.model, round: g.version, version: g.version, digest: g.digest }, tensors: g.set.infos, totalBytes: bytes.length },
          });
          const size = req.chunkBytes > 0 ? req.chunkBytes : DEFAULT_CHUNK_BYTES;
          // The default chunking is hashed and encoded once per model version for all sites.
          const shared = size === DEFAULT_CHUNK_BYTES ? chunksFrom(await modelChunks(g.set.data, bytes, size), Number(req.offset)) : null;
          const chunks = shared ?? chunkBytes(bytes, size, Number(req.offset));
          if (grant) {
            // The site connects within the progress timeout or cancels the call (it then asks again without the offer).
            const attached = await waitForAttach(grant, call, timeouts.progressMs);
            if (!attached) throw new StalledStreamError(`site "${peerName(call) || '?'}": did not open the offered bulk channel for its download within ${timeouts.progressMs / 1000} s`);
            // A broken bulk stream ends the call without error: the site resumes from its last verified chunk.
            await writeBlocks(attached.socket, chunks[Symbol.iterator]()).catch(() => undefined);
            if (call.cancelled) return;
          } else {
            for (const c of chunks) {
              if (call.cancelled) return;
              if (!call.send({ type: 'chunk', chunk: c })) await call.drained();
            }
          }
          call.end();
          // The slot is held until the last chunk has left for the socket: released at end(), a
          // slow site's queued chunks stayed in memory while the next download filled its own.
          await call.finished();
          deps.events.publish({ type: 'transfer', direction: 'download', site: peerName(call) || '?', model: req.model, bytes: bytes.length - Number(req.offset) });
        } finally {
          (grant as BulkGrant | null)?.revoke();
          release();
        }
      } catch (err) {
        call.refuse(toStatus(err, log));
      }
    },

    uploadUpdate(call, callback) {
      let header: UpdateHeader | undefined;
      let site = peerName(call) || '?';
      const releases: (() => void)[] = [];
      (async () => {
        // Identity, revocation and listing first: nothing (no slot, no buffer) before them.
        const party = partyOf(call, 'UploadUpdate', true);
        site = party || site;
        // Per-party quota: only with an identity (without mTLS every site would be one party "?",
        // and all uploads of the study would share its two streams).
        if (party) releases.push(uploadStreams.acquire(party));
        // The bytes may come on the bulk channel: offered in the go-ahead of an admitted single-stream
        // upload that holds its slot (bulkOk), withdrawn when the upload ends.
        let bulkOk = false;
        let grant: BulkGrant | null = null;
        releases.push(() => grant?.revoke());
        const source = bulkAwareUpload(call, () => (grant = bulkOk && deps.bulk ? deps.bulk.grant(callFingerprint(call, deps.gate.secure)) : null), () => `site "${site}"`);
        const timed = timedStream(source, { ...timeouts, who: () => `site "${site}"`, what: 'upload' });
        let accepted;
        const { admission, update } = await receiveUpload(timed, async (h) => {
          header = h;
          site = deps.gate.site(call, h.siteId, 'UploadUpdate').name;
          const a = deps.engine.admit(site, h);
          if ('already' in a) throw new AlreadyAccepted(a.already.updateId, a.already.digest);
          const key = `${site}\u0000${a.model}`;
          const ranged = (h.rangeEnd ?? 0) > 0;
          const busy = uploadingModels.get(key);
          // One update per model at a time; the range streams of that one update may run side by side.
          if (busy && !(ranged && busy.ranged && busy.updateId === h.updateId)) {
            throw new ResourceExhaustedError(`site "${site}" is already uploading an update of model "${a.model}"; one upload per model at a time`);
          }
          if (busy) busy.streams++;
          else uploadingModels.set(key, { updateId: h.updateId, streams: 1, ranged });
          releases.push(() => {
            const u = uploadingModels.get(key);
            if (u && --u.streams === 0) uploadingModels.delete(key);
          });
          // A transfer slot only for an admitted header; waiting for it is bounded by the progress timeout.
          let timer: NodeJS.Timeout | undefined;
          const release = await Promise.race([
            uploads.acquire(),
            new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new ResourceExhaustedError(`site "${site}": no upload slot free within ${timeouts.progressMs / 1000} s; retry`)), timeouts.progressMs); }),
          ]).finally(() => clearTimeout(timer));
          releases.push(release);
          bulkOk = !ranged;
          return a;
        }, { transferChunks: true, ranges: true }); // grpc-js decodes each message into a buffer of its own
        // One range of a multi-range upload, verified and spooled; the stream with the last block reports the update.
        if (!update) return { accepted: false, updateId: header!.updateId, digest: header!.digest, message: 'range received' };
        // Revoked while it was uploading (the revocation list reloads without a restart): not accepted.
        if (deps.gate.secure) deps.gate.site(call, site, 'UploadUpdate');
        accepted = await deps.engine.accept(admission, update);
        log.debug({ site, model: admission.model, round: admission.round, bytes: update.bytes, via: (grant as BulkGrant | null)?.used ? 'bulk' : 'call' }, 'update received');
        return { accepted: true, updateId: accepted.updateId, digest: accepted.digest, message: `accepted for round ${accepted.round}` };
      })().finally(() => {
        for (const r of releases.reverse()) r();
      }).then(
        (receipt) => callback(null, receipt),
        async (err) => {
          if (err instanceof AlreadyAccepted) {
            callback(null, { accepted: true, updateId: err.updateId, digest: err.digest, message: 'already accepted (counted once)' });
            return;
          }
          // A full disk or an I/O error while spooling: the round cannot go on (the engine stops it).
          if (err instanceof AtomicWriteError) deps.engine.storageFailed(err);
          const status = toStatus(err, log);
          refusals.warn(`upload/${site}/${status.code}`, { site, model: header?.model, round: header?.round, reason: status.details }, 'update rejected');
          // Refusals of the update itself go to the study log; a stream refused before its header
          // (identity, quota, no header) is no update and is only logged (rate-limited).
          if (header && !(err instanceof StalledStreamError)) {
            await deps.engine.reject(site, header, status.details).catch((e) => log.error({ err: e }, 'could not record rejection'));
          }
          callback(status);
        },
      );
    },

    uploadStatus(call, callback) {
      (async () => {
        const req = call.request;
        const site = deps.gate.site(call, req.siteId, 'UploadStatus').name;
        if (req.studyId !== deps.studyId) throw new RejectError(grpc.status.FAILED_PRECONDITION, `site "${site}": study "${req.studyId}", this is "${deps.studyId}"`);
        if (!/^[A-Za-z0-9._-]{8,80}$/.test(req.updateId)) throw new RejectError(grpc.status.INVALID_ARGUMENT, `site "${site}": malformed update_id`);
        if (!deps.store.has(req.model)) throw new RejectError(grpc.status.NOT_FOUND, `site "${site}": unknown model "${req.model}"`);
        if (deps.engine.acceptedUpdate(site, req.updateId)) return { receivedBytes: 0, accepted: true };
        const st = await partialState(join(deps.engine.updatesDir(req.model, req.round), `${req.updateId}.flt`));
        return { receivedBytes: st && st.site === site ? st.bytes : 0, accepted: false };
      })().then((r) => callback(null, r), (err) => callback(toStatus(err, log)));
    },

    submitEvaluation(call, callback) {
      if (!deps.evaluation) {
        callback({ code: grpc.status.UNIMPLEMENTED, details: 'this coordinator does not collect evaluations' });
        return;
      }
      let release: (() => void) | undefined;
      let site = peerName(call) || '?';
      try {
        const party = partyOf(call, 'SubmitEvaluation', false);
        site = party || site;
        if (party) release = evaluationStreams.acquire(party);
      } catch (err) {
        const status = toStatus(err, log);
        refusals.warn(`evaluation/${site}/${status.code}`, { site, reason: status.details }, 'evaluation refused');
        callback(status);
        return;
      }
      const timed = Object.assign(timedStream(call, { ...timeouts, who: () => `site "${site}"`, what: 'evaluation' }), { getAuthContext: () => call.getAuthContext() });
      deps.evaluation.submit(timed, (err, ack) => {
        release?.();
        callback(err, ack);
      });
    },
  };
}

class AlreadyAccepted extends Error {
  constructor(readonly updateId: string, readonly digest: string) {
    super('already accepted');
  }
}

/** Party name from the certificate's CN-bearing identity, '' when not on mTLS. */
function peerName(call: PeerCall): string {
  const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
  return Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? '');
}

export function studyAdminImpl(deps: ServiceDeps): StudyAdminHandlers {
  const guard = <T>(call: PeerCall, method: string, respond: Respond<T>, fn: (by: Caller) => T) => {
    try {
      const by = deps.gate.admin(call, method);
      respond(null, fn(by));
    } catch (err) {
      respond(toStatus(err, deps.log));
    }
  };
  return {
    getStatus: (call, respond) => guard(call, 'GetStatus', respond, () => deps.admin.status()),
    startStudy: (call, respond) => guard(call, 'StartStudy', respond, (by) => {
      deps.admin.start(by);
      return { ok: true, message: 'study started' };
    }),
    stopStudy: (call, respond) => guard(call, 'StopStudy', respond, (by) => {
      const md = (call as unknown as { metadata?: grpc.Metadata }).metadata;
      const evaluate = String(md?.get('fl-stop-evaluate')[0] ?? '') === '1';
      deps.admin.stop(by, evaluate);
      return { ok: true, message: `study stopping (stopped by admin "${by.name}"${evaluate ? '; the last completed round is frozen and evaluated' : ''})` };
    }),
  };
}

/** Creates (not binds) the gRPC server with both services. */
export function createGrpcServer(deps: ServiceDeps, options: grpc.ChannelOptions): grpc.Server {
  const server = new grpc.Server(options);
  addFederationServices(server, federatedLearningImpl(deps), studyAdminImpl(deps));
  return server;
}

/** Binds and returns the port; enlarges HTTP/2 receive windows for fast uploads. */
export async function bindServer(server: grpc.Server, address: string, creds: grpc.ServerCredentials, log: Logger): Promise<number> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  if (!enlargeServerWindows(server)) log.warn('could not enlarge HTTP/2 windows (grpc-js internals changed); uploads will be slower');
  // The upload check threads start now, not during the first site's upload.
  uploadBlockPool().warm().catch((err: Error) => log.warn(`upload check threads did not warm up: ${err.message}`));
  return port;
}
