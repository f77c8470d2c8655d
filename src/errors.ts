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

/** A usage error of the command line (unknown option or command, bad value, conflicting flags); the message is one line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A long experiment was stopped (Ctrl-C, or its AbortSignal) before it finished; nothing was written as if complete. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
  /** The message is fixed: the run stopped and nothing was written. */
  constructor() {
    super('interrupted: the run stopped before it finished, nothing was written');
  }
}

/** A training run's loss or weights became NaN or infinite (a learning rate far too large, most often); it stopped at that step. */
export class DivergedError extends Error {
  override readonly name = 'DivergedError';
  /**
   * @param run - the run, as tables name it (e.g. "sync W=8 b=32 lr=1").
   * @param epoch - 1-based epoch of the step that diverged.
   * @param step - 1-based step within that epoch.
   * @param what - what became non-finite: "loss NaN" or "weights infinity (parameter 3 of 100)".
   */
  constructor(
    readonly run: string,
    readonly epoch: number,
    readonly step: number,
    readonly what: string,
  ) {
    super(`diverged: ${what} in run ${run} at epoch ${epoch}, step ${step}; nothing was written (try a smaller --lr)`);
  }
}

/** The PyTorch peer process of a benchmark failed or answered with something it should not have. */
export class TorchPeerError extends Error {
  override readonly name = 'TorchPeerError';
}
