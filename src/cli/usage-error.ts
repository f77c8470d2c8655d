/**
 * Usage errors in the CLI's own voice: what commander reports (unknown option, missing value, bad
 * choice, conflicting flags, stray arguments) and unknown commands, each as one line that main()
 * prints as `syncbn-sim: error: ...` with exit code 2.
 */
import type { Command, CommanderError } from 'commander';
import { SyncBnError } from '../errors.js';

/** A usage error of the command line (exit code 2); the message is one line. */
export class UsageError extends SyncBnError {
  /** 'E_USAGE': exit code 2. */
  override readonly code = 'E_USAGE';
  /** Always 'UsageError'. */
  override readonly name = 'UsageError';
}

/** The commands, in the order `--help` lists them. */
function commandNames(program: Command): string[] {
  return program.commands.map((c) => c.name());
}

/**
 * Turns a commander error into a one-line UsageError naming the command; help and version
 * (exit code 0) pass through unchanged.
 *
 * @param error - what commander threw (exitOverride is on).
 * @param command - the command that was parsing.
 * @param program - the root program, for the list of commands.
 * @returns a UsageError, or `error` itself for help and version.
 */
export function usageErrorFrom(error: CommanderError, command: Command, program: Command): Error {
  if (error.exitCode === 0) return error;
  const name = command === program ? undefined : command.name();
  if (error.code === 'commander.excessArguments') {
    const stray = command.args.map((a) => `'${a}'`).join(', ');
    const expected = command.registeredArguments.map((a) => `<${a.name()}>`);
    if (expected.length > 0)
      return new UsageError(
        `${name} takes ${expected.length === 1 ? 'one argument' : `${expected.length} arguments`}, ${expected.join(' ')}; got ${stray}`,
      );
    return new UsageError(
      `${name ?? 'syncbn-sim'} takes no arguments, got ${stray} (a command comes first: syncbn-sim COMMAND [options]; commands: ${commandNames(program).join(', ')})`,
    );
  }
  // commander's messages start with "error: " and may carry a "(Did you mean ...?)" line.
  const text = error.message
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ')
    .replace('(Did you mean', '(did you mean');
  return new UsageError(`${text} (see syncbn-sim ${name ? `${name} ` : ''}--help)`);
}

/**
 * `syncbn-sim frob`: compare is the default command, so commander would hand it 'frob' as a stray
 * argument. A first word that is not an option, a command or `help` is an unknown command.
 *
 * @param program - the root program.
 * @param args - the arguments after the node and script paths.
 * @returns the error to report, or undefined when the first word is fine.
 */
export function unknownCommandError(program: Command, args: readonly string[]): UsageError | undefined {
  const first = args[0];
  if (first === undefined || first.startsWith('-') || first === 'help') return undefined;
  if (program.commands.some((c) => c.name() === first || c.aliases().includes(first))) return undefined;
  return new UsageError(
    `unknown command '${first}' (commands: ${commandNames(program).join(', ')}; with no command, syncbn-sim runs compare)`,
  );
}
