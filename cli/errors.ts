/** An expected failure of a command: printed without a stack trace, with a chosen exit code. */
import { FlError } from '../shared/errors/index.js';
export class CliError extends FlError {
  constructor(message: string, readonly exitCode = 1, options?: { cause?: unknown }) {
    super('cli', message, { ...options, user: exitCode === 2 });
  }
}
