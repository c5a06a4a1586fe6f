import { Metadata, status } from '@grpc/grpc-js';
/** A refusal sent back to a site as a gRPC status; the message names the site and the problem. */
export declare class RejectError extends Error {
    readonly code: status;
    name: string;
    constructor(code: status, message: string);
    toStatus(): {
        code: status;
        details: string;
        metadata: Metadata;
    };
}
export declare const invalid: (msg: string) => RejectError;
export declare const precondition: (msg: string) => RejectError;
export declare const duplicate: (msg: string) => RejectError;
