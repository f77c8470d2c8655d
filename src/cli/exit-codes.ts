/**
 * How the CLI ends on an error, in one place: the exit code comes from the error's stable code
 * (src/errors.ts ERROR_CODES, via exitCodeOf), the one line on stderr from its kind.
 * 0 ok, 1 runtime failure, 2 bad usage or bad input, 130 Ctrl-C.
 */
import { CommanderError } from 'commander';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, InternalError, SyncBnError, exitCodeOf } from '../errors.js';

/** How the CLI ends on one error. */
export interface ErrorExit {
  /** The process's exit code. */
  readonly code: number;
  /** The line printed on stderr after `syncbn-sim: `, or undefined for none (help and version). */
  readonly line?: string;
  /** Whether SYNCBN_DEBUG may add the stack: only for errors the package does not expect (bugs). */
  readonly unexpected: boolean;
}

/** Errors whose message already says what failed and what to try: printed as they are. */
const SELF_EXPLAINED = new Set(['E_INTERRUPTED', 'E_DIVERGED']);

/**
 * The exit code and stderr line for an error that ended a command.
 * @param error - what the command threw.
 * @returns how the CLI ends: help and version (commander's exit code 0) print nothing more.
 */
export function errorExit(error: unknown): ErrorExit {
  if (error instanceof CommanderError && error.exitCode === 0) return { code: EXIT_OK, unexpected: false };
  const message = error instanceof Error ? error.message : String(error);
  const code = exitCodeOf(error);
  const expected = error instanceof SyncBnError && !(error instanceof InternalError);
  if (code === EXIT_USAGE) return { code, line: `error: ${message}`, unexpected: false };
  if (code === EXIT_INTERRUPTED || (error instanceof SyncBnError && SELF_EXPLAINED.has(error.code))) {
    return { code, line: message, unexpected: false };
  }
  return { code, line: `failed: ${message}`, unexpected: !expected };
}
