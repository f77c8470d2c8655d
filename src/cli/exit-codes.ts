/**
 * How the CLI ends on an error, in one place: every error class maps to an exit code and to the
 * one line printed on stderr. 0 ok, 1 runtime failure, 2 bad usage or bad input, 130 Ctrl-C.
 */
import { CommanderError } from 'commander';
import { DivergedError, InputError, InterruptedError, UsageError } from '../errors.js';

/** The command did what it was asked. */
export const EXIT_OK = 0;
/** A runtime failure: a device crashed or hung, training diverged, a file could not be written. */
export const EXIT_FAILURE = 1;
/** Bad usage or bad input: nothing was run, nothing was written. */
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** How the CLI ends on one error. */
export interface ErrorExit {
  /** The process's exit code. */
  readonly code: number;
  /** The line printed on stderr after `syncbn-sim: `, or undefined for none (help and version). */
  readonly line?: string;
  /** Whether SYNCBN_DEBUG may add the stack: only for errors no rule expects. */
  readonly unexpected: boolean;
}

/** The errors the CLI expects, first match wins; anything else is an unexpected runtime failure. */
const RULES: readonly { readonly matches: (error: unknown) => boolean; readonly code: number; readonly prefix: string }[] = [
  { matches: (e) => e instanceof UsageError || e instanceof InputError, code: EXIT_USAGE, prefix: 'error: ' },
  { matches: (e) => e instanceof InterruptedError, code: EXIT_INTERRUPTED, prefix: '' },
  // Its message already says what failed and what to try.
  { matches: (e) => e instanceof DivergedError, code: EXIT_FAILURE, prefix: '' },
];

/**
 * The exit code and stderr line for an error that ended a command.
 * @param error - what the command threw.
 * @returns how the CLI ends: help and version (commander's exit code 0) print nothing more.
 */
export function errorExit(error: unknown): ErrorExit {
  if (error instanceof CommanderError && error.exitCode === 0) return { code: EXIT_OK, unexpected: false };
  const message = error instanceof Error ? error.message : String(error);
  const rule = RULES.find((r) => r.matches(error));
  if (rule) return { code: rule.code, line: `${rule.prefix}${message}`, unexpected: false };
  return { code: EXIT_FAILURE, line: `failed: ${message}`, unexpected: true };
}
