/**
 * A progress bar on stderr while a long experiment runs, only when stderr is a terminal (never in
 * pipes, files or CI), without colour when NO_COLOR is set.
 */
import cliProgress from 'cli-progress';
import type { ProgressFn } from '../experiments/interrupt.js';

/** A progress bar, or nothing that looks like one when stderr is not a terminal. */
export interface Progress {
  /** Draws the bar at `done` of `total`, starting it on the first call (an experiment's onProgress). */
  readonly update: ProgressFn;
  /** Clears the bar; the next update draws it again, so a line can be printed between. */
  stop(): void;
}

/**
 * A progress bar on `stream`, or a silent one when it is not a TTY, so that JSON and CSV on
 * stdout and logs in CI stay clean.
 *
 * @param stream - where to draw; default process.stderr.
 * @returns the bar's update and stop.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{bar} {percentage}% | {value}/{total} | {label}',
      hideCursor: true,
      clearOnComplete: true,
      barCompleteChar: process.env.NO_COLOR ? '#' : '\u2588',
      barIncompleteChar: process.env.NO_COLOR ? '.' : '\u2591',
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, label) {
      if (!started) {
        bar.start(total, done, { label });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { label });
      }
    },
    stop() {
      if (started) bar.stop();
      started = false; // the next update starts it again
    },
  };
}

/**
 * An AbortSignal that Ctrl-C (SIGINT) trips, so an experiment stops between units of work and
 * closes its clusters instead of dying with its worker threads; call `dispose` when the command ends.
 *
 * @returns the signal, and `dispose` to remove the SIGINT handler.
 */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

/** What {@link withProgress} hands a long experiment. */
export interface ProgressHooks {
  /** Tripped by Ctrl-C. */
  readonly signal: AbortSignal;
  /** Draws the progress bar. */
  readonly onProgress: ProgressFn;
  /** Clears the bar, so that a line can be printed; the next update draws it again. */
  readonly pause: () => void;
}

/**
 * Runs a long experiment with a progress bar and Ctrl-C wired in; both are released afterwards.
 *
 * @param run - starts the experiment with the hooks.
 * @returns what `run` returns.
 * @throws whatever `run` throws (InterruptedError after Ctrl-C).
 */
export async function withProgress<T>(run: (hooks: ProgressHooks) => Promise<T>): Promise<T> {
  const progress = progressBar();
  const interrupt = interruptSignal();
  try {
    return await run({ signal: interrupt.signal, onProgress: progress.update, pause: () => progress.stop() });
  } finally {
    progress.stop();
    interrupt.dispose();
  }
}
