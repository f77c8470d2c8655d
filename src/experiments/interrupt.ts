/** Stopping long experiments cleanly: they check an AbortSignal between units of work. */
import { SyncBnError } from '../errors.js';

/** The run was stopped (Ctrl-C) before it finished; nothing was written as if complete. */
export class InterruptedError extends SyncBnError {
  /** 'E_INTERRUPTED': the CLI exits with 130, as a shell reports Ctrl-C. */
  override readonly code = 'E_INTERRUPTED';
  /** Always 'InterruptedError'. */
  override readonly name = 'InterruptedError';
  constructor() {
    super('interrupted: the run stopped before it finished, nothing was written');
  }
}

/**
 * The check an experiment makes between units of work, so that a stop lands at a point where
 * every cluster can still be closed and nothing half-done is reported.
 *
 * @param signal - the caller's AbortSignal; none means the run cannot be stopped.
 * @throws {@link InterruptedError} when the signal has been aborted.
 */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}

/**
 * Progress of a long experiment, called after each unit of work.
 * @param done - units of work finished so far.
 * @param total - units of work in the whole experiment.
 * @param label - what is being done, in a few words ("b = 4, trial 3 of 400").
 */
export type ProgressFn = (done: number, total: number, label: string) => void;
