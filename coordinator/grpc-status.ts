// The one mapping from a thrown error to the gRPC status a site or admin receives: refusals
// (RejectError, the security layer's SecurityError, the protocol's ProtocolError) keep their code
// and message; anything else is INTERNAL without internals (and logged here, with its stack).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ProtocolError, type GrpcStatus } from '../shared/protocol/index.js';
import { SecurityError } from '../shared/security/grpc-errors.js';
import { RejectError } from './errors.js';
import { AtomicWriteError } from '../shared/util/atomic-write.js';

/** True when the error is a refusal meant for the caller (its message is safe to send). */
export function isRefusal(err: unknown): err is RejectError | SecurityError | ProtocolError {
  return err instanceof RejectError || err instanceof SecurityError || err instanceof ProtocolError;
}

/** Maps a thrown error to a gRPC status; unknown errors become INTERNAL without internals. */
export function toStatus(err: unknown, log: Logger): GrpcStatus {
  if (err instanceof RejectError || err instanceof SecurityError) return { code: err.code, details: err.message };
  if (err instanceof ProtocolError) return { code: err.grpcCode, details: err.message };
  if (err instanceof AtomicWriteError) {
    log.error({ path: err.path, errno: err.errno }, err.message);
    return { code: grpc.status.UNAVAILABLE, details: `coordinator storage failure: ${err.message}` };
  }
    log.error({ err }, 'internal error in a call');
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}
