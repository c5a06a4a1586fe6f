import { Metadata, status } from '@grpc/grpc-js';

/** A refusal sent back to a site as a gRPC status; the message names the site and the problem. */
export class RejectError extends Error {
  override name = 'RejectError';
  constructor(readonly code: status, message: string) {
    super(message);
  }
  toStatus(): { code: status; details: string; metadata: Metadata } {
    return { code: this.code, details: this.message, metadata: new Metadata() };
  }
}

export const invalid = (msg: string) => new RejectError(status.INVALID_ARGUMENT, msg);
export const precondition = (msg: string) => new RejectError(status.FAILED_PRECONDITION, msg);
export const duplicate = (msg: string) => new RejectError(status.ALREADY_EXISTS, msg);
