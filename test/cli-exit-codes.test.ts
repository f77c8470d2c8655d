/** The CLI's one table of exit codes: each error class to its code and its line on stderr. */
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { errorExit } from '../src/cli/exit-codes.js';
import { UsageError } from '../src/cli/usage-error.js';
import { DeviceCrashError } from '../src/cluster/errors.js';
import {
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
  ExternalProcessError,
  InputError,
  InternalError,
} from '../src/errors.js';
import { InterruptedError } from '../src/experiments/interrupt.js';
import { DivergedError } from '../src/experiments/train.js';

describe('errorExit', () => {
  it.each([
    ['bad input', new InputError('eps must be > 0'), EXIT_USAGE, 'error: eps must be > 0'],
    ['bad usage', new UsageError("unknown option '--frob'"), EXIT_USAGE, "error: unknown option '--frob'"],
    [
      'Ctrl-C',
      new InterruptedError(),
      EXIT_INTERRUPTED,
      'interrupted: the run stopped before it finished, nothing was written',
    ],
    [
      'divergence',
      new DivergedError('sync W=2 b=4 lr=1', 1, 2, 'loss NaN'),
      EXIT_FAILURE,
      'diverged: loss NaN in run sync W=2 b=4 lr=1 at epoch 1, step 2; nothing was written (try a smaller --lr)',
    ],
    [
      'a device failure',
      new DeviceCrashError('crash', 1, 'forward: all-reduce', 'device rank 1 crashed'),
      EXIT_FAILURE,
      'failed: device rank 1 crashed',
    ],
    ['the PyTorch peer', new ExternalProcessError('PyTorch peer: ended'), EXIT_FAILURE, 'failed: PyTorch peer: ended'],
    ['something thrown that is not an Error', 'oops', EXIT_FAILURE, 'failed: oops'],
  ])('%s', (_what, error, code, line) => {
    expect(errorExit(error)).toMatchObject({ code, line });
  });

  it('help and version end with 0 and print nothing more; only unexpected errors may show a stack', () => {
    expect(errorExit(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toEqual({
      code: EXIT_OK,
      unexpected: false,
    });
    expect(errorExit(new Error('boom')).unexpected).toBe(true);
    expect(errorExit(new InputError('bad')).unexpected).toBe(false);
    expect(errorExit(new InternalError('broken invariant')).unexpected).toBe(true);
    expect(errorExit(new ExternalProcessError('PyTorch peer: ended')).unexpected).toBe(false);
  });
});
