import { Metadata, status } from '@grpc/grpc-js';
/** A refusal sent back to a site as a gRPC status; the message names the site and the problem. */
export class RejectError extends Error {
    code;
    name = 'RejectError';
    constructor(code, message) {
        super(message);
        this.code = code;
    }
    toStatus() {
        return { code: this.code, details: this.message, metadata: new Metadata() };
    }
}
export const invalid = (msg) => new RejectError(status.INVALID_ARGUMENT, msg);
export const precondition = (msg) => new RejectError(status.FAILED_PRECONDITION, msg);
export const duplicate = (msg) => new RejectError(status.ALREADY_EXISTS, msg);
//# sourceMappingURL=errors.js.map