// A message that does not decode into the domain types: a JSON field that is not JSON or does not
// match its schema, a oneof with no case, a value outside its range. The message names the party
// that sent it and the field (proto field name), so the log line says who to ask and what to fix.
import { status } from '@grpc/grpc-js';
import { FlError } from '../errors/index.js';

export class ProtocolError extends FlError {
  /** The gRPC status a server answers with when it refuses the message. */
  readonly grpcCode: status;
  /** The task the message was about, when known (the site reports the task failed). */
  readonly taskId: string | undefined;
  constructor(message: string, options: { grpcCode?: status; cause?: unknown; taskId?: string } = {}) {
    super('protocol.invalid', message, { cause: options.cause, user: true });
    this.grpcCode = options.grpcCode ?? status.INVALID_ARGUMENT;
    this.taskId = options.taskId;
  }
}

/** The status a server sends for a refused call; `details` reaches the peer. */
export interface GrpcStatus {
  readonly code: status;
  readonly details: string;
}
