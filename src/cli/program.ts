/** The command-line program: commands are registered here; each lives in its own module. */
import { Command, CommanderError } from 'commander';
import { InputError } from '../errors.js';
import { InterruptedError } from '../experiments/interrupt.js';
import { DivergedError } from '../experiments/train.js';
import { addBenchCommand } from './bench-command.js';
import { addCompareCommand } from './compare-command.js';
import { addCostCommand } from './cost-command.js';
import { addNoiseCommand } from './noise-command.js';
import { addPrecisionCommand } from './precision-command.js';
import { addRunCommand } from './run-command.js';
import { addTrainCommand } from './train-command.js';
import { UsageError, unknownCommandError, usageErrorFrom } from './usage-error.js';

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad input, 130 interrupted. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** The whole CLI as a commander program; errors are thrown (as UsageError), never printed by commander. */
export function buildProgram(): Command {
  const program = new Command('syncbn-sim')
    .description('Simulate synchronized batch normalization across many devices.')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    // main() prints every error as one line; commander only prints help and the version.
    .configureOutput({ outputError: () => {} });
  addCompareCommand(program);
  addRunCommand(program);
  addNoiseCommand(program);
  addPrecisionCommand(program);
  addCostCommand(program);
  addTrainCommand(program);
  addBenchCommand(program);
  for (const command of [program, ...program.commands]) {
    command.exitOverride((error) => {
      throw usageErrorFrom(error, command, program);
    });
  }
  return program;
}

/** Runs the CLI and returns the exit code; errors become one line on stderr, never a stack trace. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const program = buildProgram();
    const unknown = unknownCommandError(program, argv.slice(2));
    if (unknown) throw unknown;
    await program.parseAsync(argv as string[]);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT_OK; // --help, --version
    if (error instanceof UsageError || error instanceof InputError) {
      process.stderr.write(`syncbn-sim: error: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof InterruptedError) {
      process.stderr.write(`syncbn-sim: ${error.message}\n`);
      return EXIT_INTERRUPTED;
    }
    if (error instanceof DivergedError) {
      process.stderr.write(`syncbn-sim: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`syncbn-sim: failed: ${message}\n`);
    if (process.env.SYNCBN_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
    return EXIT_FAILURE;
  }
}
