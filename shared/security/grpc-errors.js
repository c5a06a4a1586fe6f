// Typed refusals of the security layer and their mapping to gRPC status codes.
import { Metadata, status } from '@grpc/grpc-js';
/** A refusal meant for the caller: its message is safe to send back as gRPC details. */
export class SecurityError extends Error {
    code;
    name = 'SecurityError';
    constructor(code, message, options) {
        super(message, options);
        this.code = code;
    }
}
/** No usable peer identity: no client certificate, no fl:// party URI, or a revoked certificate. */
export class UnauthenticatedError extends SecurityError {
    name = 'UnauthenticatedError';
    constructor(message) {
        super(status.UNAUTHENTICATED, message);
    }
}
/** A known peer asking for something its role or name does not allow. */
export class PermissionDeniedError extends SecurityError {
    name = 'PermissionDeniedError';
    constructor(message) {
        super(status.PERMISSION_DENIED, message);
    }
}
/** A peer over its share of the server (concurrent calls, sizes). */
export class ResourceExhaustedError extends SecurityError {
    name = 'ResourceExhaustedError';
    constructor(message) {
        super(status.RESOURCE_EXHAUSTED, message);
    }
}
/**
 * Status object for a unary callback (`callback(grpcStatus(err))`) or a stream
 * (`call.destroy(Object.assign(new Error(s.details), s))`). Unknown errors become INTERNAL
 * without leaking their message to the peer.
 */
export function grpcStatus(err) {
    if (err instanceof SecurityError)
        return { code: err.code, details: err.message, metadata: new Metadata() };
    return { code: status.INTERNAL, details: 'internal error', metadata: new Metadata() };
}
//# sourceMappingURL=grpc-errors.js.map