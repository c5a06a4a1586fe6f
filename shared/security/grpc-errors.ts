// Typed refusals of the security layer and their mapping to gRPC status codes.
import { Metadata, status, type StatusObject } from '@grpc/grpc-js';

/** A refusal meant for the caller: its message is safe to send back as gRPC details. */
export class SecurityError extends Error {
  override name = 'SecurityError';
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No usable peer identity: no client certificate, no fl:// party URI, or a revoked certificate. */
export class UnauthenticatedError extends SecurityError {
  override name = 'UnauthenticatedError';
  constructor(message: string) {
    super(status.UNAUTHENTICATED, message);
  }
}

/** A known peer asking for something its role or name does not allow. */
export class PermissionDeniedError extends SecurityError {
  override name = 'PermissionDeniedError';
  constructor(message: string) {
    super(status.PERMISSION_DENIED, message);
  }
}

/** A peer over its share of the server (concurrent calls, sizes). */
export class ResourceExhaustedError extends SecurityError {
  override name = 'ResourceExhaustedError';
  constructor(message: string) {
    super(status.RESOURCE_EXHAUSTED, message);
  }
}

/**
 * Status object for a unary callback (`callback(grpcStatus(err))`) or a stream
 * (`call.destroy(Object.assign(new Error(s.details), s))`). Unknown errors become INTERNAL
 * without leaking their message to the peer.
 */
export function grpcStatus(err: unknown): Pick<StatusObject, 'code' | 'details' | 'metadata'> {
  if (err instanceof SecurityError) return { code: err.code, details: err.message, metadata: new Metadata() };
  return { code: status.INTERNAL, details: 'internal error', metadata: new Metadata() };
}
