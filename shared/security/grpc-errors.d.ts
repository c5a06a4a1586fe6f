import { status, type StatusObject } from '@grpc/grpc-js';
/** A refusal meant for the caller: its message is safe to send back as gRPC details. */
export declare class SecurityError extends Error {
    readonly code: status;
    name: string;
    constructor(code: status, message: string, options?: {
        cause?: unknown;
    });
}
/** No usable peer identity: no client certificate, no fl:// party URI, or a revoked certificate. */
export declare class UnauthenticatedError extends SecurityError {
    name: string;
    constructor(message: string);
}
/** A known peer asking for something its role or name does not allow. */
export declare class PermissionDeniedError extends SecurityError {
    name: string;
    constructor(message: string);
}
/** A peer over its share of the server (concurrent calls, sizes). */
export declare class ResourceExhaustedError extends SecurityError {
    name: string;
    constructor(message: string);
}
/**
 * Status object for a unary callback (`callback(grpcStatus(err))`) or a stream
 * (`call.destroy(Object.assign(new Error(s.details), s))`). Unknown errors become INTERNAL
 * without leaking their message to the peer.
 */
export declare function grpcStatus(err: unknown): Pick<StatusObject, 'code' | 'details' | 'metadata'>;
