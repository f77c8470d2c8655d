/** Stopping long experiments cleanly: they check an AbortSignal between units of work. */
import { InterruptedError } from '../errors.js';

/**
 * Stops an experiment between two units of work once its signal has been aborted.
 * @param signal - the experiment's AbortSignal, if it was given one.
 * @throws InterruptedError when the signal is aborted.
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
