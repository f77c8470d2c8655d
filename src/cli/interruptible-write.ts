/**
 * Ctrl-C while outputs are written: a SIGINT handler is installed for the duration of the write,
 * so that the default handler (which ends the process at once) cannot leave temporary files; the
 * write rolls back and the command exits with 130.
 */
import { existsSync } from 'node:fs';
import { InterruptedError } from '../experiments/interrupt.js';

/** What an all-or-nothing write needs from the CLI: the Ctrl-C signal and the test pause. */
export interface WriteHooks {
  /** Aborted by Ctrl-C: the write rolls back. */
  readonly signal: AbortSignal;
  /** The test hook of SYNCBN_TEST_WRITE_GATE; absent unless that variable is set. */
  readonly afterFirstFile?: (temporary: string) => Promise<void>;
}

/**
 * Test hook: with SYNCBN_TEST_WRITE_GATE=PATH the write pauses after its first temporary file,
 * says so on stderr, and goes on once PATH exists (or Ctrl-C arrives). Tests use it to interrupt,
 * or change the target directory, at a known point of the write instead of by timing.
 */
function testGate(signal: AbortSignal): WriteHooks['afterFirstFile'] {
  const gate = process.env.SYNCBN_TEST_WRITE_GATE;
  if (!gate) return undefined;
  return async (temporary) => {
    process.stderr.write(`syncbn-sim: test hook: paused after writing ${temporary}\n`);
    while (!existsSync(gate) && !signal.aborted) await new Promise((r) => setTimeout(r, 10));
  };
}

/**
 * Runs `write` with Ctrl-C turned into an abort of the write (which then throws InterruptedError).
 *
 * @param write - the all-or-nothing write, given the hooks.
 * @returns what `write` returns.
 * @throws InterruptedError after Ctrl-C, once the write has rolled back.
 */
export async function interruptibleWrite<T>(write: (hooks: WriteHooks) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new InterruptedError());
  process.on('SIGINT', onSigint);
  try {
    return await write({ signal: controller.signal, afterFirstFile: testGate(controller.signal) });
  } finally {
    process.off('SIGINT', onSigint);
  }
}
