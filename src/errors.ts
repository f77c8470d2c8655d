/**
 * Error types shared by the library and the CLI.
 *
 * `InputError` means the caller gave something unusable (a bad file, a bad shape, a bad option):
 * the CLI maps it to exit code 2. Anything else is a runtime failure (exit code 1).
 */

/** The input or an option is unusable; the message names the problem in one line. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Throws an InputError with the message when the condition fails. */
export function requireInput(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InputError(typeof message === 'function' ? message() : message);
}
