/** The command-line program: commands are registered here; each lives in its own module. */
import { Command } from 'commander';
import { addBenchCommand } from './bench-command.js';
import { addCompareCommand } from './compare-command.js';
import { addCostCommand } from './cost-command.js';
import { addNoiseCommand } from './noise-command.js';
import { addPrecisionCommand } from './precision-command.js';
import { addReportCommand } from './report-command.js';
import { addRunCommand } from './run-command.js';
import { addSemanticsCommand } from './semantics-command.js';
import { addSweepCommand } from './sweep-command.js';
import { addTrainCommand } from './train-command.js';
import { EXIT_OK } from '../errors.js';
import { errorExit } from './exit-codes.js';
import { unknownCommandError, usageErrorFrom } from './usage-error.js';

/**
 * The whole CLI as a commander program; errors are thrown (as UsageError), never printed by commander.
 * @returns the program with every command registered.
 */
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
  addSemanticsCommand(program);
  addSweepCommand(program);
  addReportCommand(program);
  addBenchCommand(program);
  for (const command of [program, ...program.commands]) {
    command.exitOverride((error) => {
      throw usageErrorFrom(error, command, program);
    });
  }
  return program;
}

/**
 * Runs the CLI; an error becomes one line on stderr (never a stack trace, unless SYNCBN_DEBUG is
 * set and the error is unexpected) and an exit code, as src/cli/exit-codes.ts maps them.
 * @param argv - the process's arguments, `process.argv` (node, the script, then the CLI's own).
 * @returns the exit code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const program = buildProgram();
    const unknown = unknownCommandError(program, argv.slice(2));
    if (unknown) throw unknown;
    await program.parseAsync(argv as string[]);
    return EXIT_OK;
  } catch (error) {
    const exit = errorExit(error);
    if (exit.line !== undefined) process.stderr.write(`syncbn-sim: ${exit.line}\n`);
    if (exit.unexpected && process.env.SYNCBN_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
    return exit.code;
  }
}
