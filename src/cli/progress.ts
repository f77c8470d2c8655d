/**
 * A progress bar on stderr while a long experiment runs, only when stderr is a terminal (never in
 * pipes, files or CI), without colour when NO_COLOR is set.
 */
import cliProgress from 'cli-progress';
import type { ProgressFn } from '../experiments/interrupt.js';

export interface Progress {
  readonly update: ProgressFn;
  stop(): void;
}

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

/** An AbortSignal that Ctrl-C (SIGINT) trips; call `dispose` when the command ends. */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

export interface ProgressHooks {
  readonly signal: AbortSignal;
  readonly onProgress: ProgressFn;
  /** Clears the bar, so that a line can be printed; the next update draws it again. */
  readonly pause: () => void;
}

/** Runs a long experiment with a progress bar and Ctrl-C wired in; both are released afterwards. */
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
