// One error base for the whole code base. Every expected failure is a FlError with a stable
// `code` (machine-readable, e.g. "config.invalid") and an optional `cause`; `user` says whether
// the input (a config field, a manifest row, a certificate, a command-line flag) is to blame, in
// which case the CLI prints the message alone and exits 2, never a stack trace.

export interface FlErrorOptions {
  cause?: unknown;
  /** The user's input caused it (exit status 2, no stack trace). Default: true. */
  user?: boolean;
}

export class FlError extends Error {
  readonly code: string;
  readonly user: boolean;
  constructor(code: string, message: string, options: FlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.user = options.user ?? true;
  }
}

/** True for failures the user can fix from the message alone (exit 2 in the CLI). */
export function isUserError(err: unknown): err is FlError {
  return err instanceof FlError && err.user;
}

/** The message of anything thrown, without a stack. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
