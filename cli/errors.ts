/** An expected failure of a command: printed without a stack trace, with a chosen exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
  }
}
