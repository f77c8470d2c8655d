/** Stopping long experiments cleanly: they check an AbortSignal between units of work. */
import { SyncBnError } from '../errors.js';

/** The run was stopped (Ctrl-C) before it finished; nothing was written as if complete. */
export class InterruptedError extends SyncBnError {
  override readonly code = 'E_INTERRUPTED';
  override readonly name = 'InterruptedError';
  constructor() {
    super('interrupted: the run stopped before it finished, nothing was written');
  }
}

export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}

/** Progress of a long experiment: units done of a total, with a short label. */
export type ProgressFn = (done: number, total: number, label: string) => void;
