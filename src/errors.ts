/**
 * The errors syncbn-sim throws: one hierarchy, one table of codes.
 *
 * Every error the package throws is a {@link SyncBnError} with a stable `code` ('E_INPUT',
 * 'E_DEVICE_HANG', ...): messages may be reworded between versions, codes never are, so code that
 * reacts to a failure switches on `code` (or tests `instanceof` a class). The classes live beside
 * the code that throws them (src/cluster/errors.ts, src/collectives/errors.ts, ...); this module
 * holds the base class, the errors every layer shares, and {@link ERROR_CODES}, the one table that
 * says what each code means to the CLI (its exit code).
 *
 * Errors raised inside a device thread never cross to the coordinator as objects (a thread's
 * errors lose their class and fields on the way): the device reports what failed as data, and the
 * coordinator raises the matching error of its own (see src/cluster/diagnose.ts).
 *
 * @packageDocumentation
 */

/** Exit code of a successful run. */
export const EXIT_OK = 0;
/** Exit code of a runtime failure: a device failed, a write failed, training diverged, a bug. */
export const EXIT_FAILURE = 1;
/** Exit code of bad usage or bad input: the caller can fix it and run again. */
export const EXIT_USAGE = 2;
/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * Every code a {@link SyncBnError} can carry, with the exit code the CLI gives it. Codes are
 * stable: a new failure gets a new code, an existing code keeps its meaning.
 */
export const ERROR_CODES = {
  /** A bad argument, option, file or call order ({@link InputError}). */
  E_INPUT: EXIT_USAGE,
  /** A bad command line (the CLI's `UsageError`). */
  E_USAGE: EXIT_USAGE,
  /** A long run stopped by its AbortSignal or Ctrl-C (the experiments' `InterruptedError`). */
  E_INTERRUPTED: EXIT_INTERRUPTED,
  /** A training run whose loss or weights became NaN or infinite (`DivergedError`). */
  E_DIVERGED: EXIT_FAILURE,
  /** A device threw, or its thread died, during a step (`DeviceCrashError`). */
  E_DEVICE_CRASH: EXIT_FAILURE,
  /** A device stopped answering within the timeout (`DeviceHangError`). */
  E_DEVICE_HANG: EXIT_FAILURE,
  /** A device ended its step without joining a collective its peers waited in (`DeviceMissingError`). */
  E_DEVICE_MISSING: EXIT_FAILURE,
  /** Devices timed out in a collective with no device at fault: the timeout is too short (`CollectiveTimeoutError`). */
  E_COLLECTIVE_TIMEOUT: EXIT_FAILURE,
  /** A call on a cluster or trainer that was closed, or closed itself after a failure (`ClusterClosedError`). */
  E_CLUSTER_CLOSED: EXIT_FAILURE,
  /** The WebAssembly kernels could not be read, validated, instantiated or used (`WasmKernelError`). */
  E_WASM_KERNEL: EXIT_FAILURE,
  /** A file the package builds (the device worker) is missing: run `npm run build` ({@link NotBuiltError}). */
  E_NOT_BUILT: EXIT_FAILURE,
  /** The outputs could not be put in place; the directory was restored ({@link OutputWriteError}). */
  E_OUTPUT_WRITE: EXIT_FAILURE,
  /** A helper process the package started (the PyTorch peer of a benchmark) failed ({@link ExternalProcessError}). */
  E_EXTERNAL_PROCESS: EXIT_FAILURE,
  /** An invariant of the package itself broke: a bug, never the caller's fault ({@link InternalError}). */
  E_INTERNAL: EXIT_FAILURE,
  /** Inside a device thread: a message longer than its outbox slot, a sizing bug (`SlotOverflowError`). */
  E_SLOT_OVERFLOW: EXIT_FAILURE,
  /** Inside a device thread: a program that must not wait for peers waited (`UnexpectedWaitError`). */
  E_UNEXPECTED_WAIT: EXIT_FAILURE,
  /** Inside a device thread: a device waited longer than the timeout for a peer (`PeerWaitTimeoutError`). */
  E_PEER_WAIT_TIMEOUT: EXIT_FAILURE,
  /** Inside a device thread: the run was aborted while a device waited (`PeerWaitAbortedError`). */
  E_PEER_WAIT_ABORTED: EXIT_FAILURE,
  /** Inside a device thread: a device's program threw (`DeviceProgramError`). */
  E_DEVICE_PROGRAM: EXIT_FAILURE,
  /** Inside a device thread: the crash a fault injection asked for (`InjectedCrashError`). */
  E_INJECTED_CRASH: EXIT_FAILURE,
} as const satisfies Record<string, number>;

/** A stable code of a {@link SyncBnError}: one of the keys of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The base of every error syncbn-sim throws. Abstract: each subclass names one kind of failure and
 * carries its own stable {@link SyncBnError.code | code}.
 *
 * @example
 * ```ts
 * import { SyncBnError, batchNorm } from 'syncbn-sim';
 * try {
 *   batchNorm({ data: new Float32Array(4), shape: [4] });
 * } catch (error) {
 *   if (error instanceof SyncBnError && error.code === 'E_INPUT') console.error(error.message);
 *   else throw error;
 * }
 * ```
 */
export abstract class SyncBnError extends Error {
  /** The stable code of this kind of failure (see {@link ERROR_CODES}). */
  abstract readonly code: ErrorCode;
  /** The class's name, as `String(error)` and stack traces show it. */
  abstract override readonly name: string;
}

/**
 * The caller gave something unusable: a bad argument or option, a bad file, a shape that does not
 * fit, or a call out of order (a backward with no forward before it). The message names the
 * problem in one line; the CLI exits with code 2.
 */
export class InputError extends SyncBnError {
  /** Always 'E_INPUT'. */
  override readonly code = 'E_INPUT';
  /** Always 'InputError'. */
  override readonly name = 'InputError';
}

/**
 * An invariant of syncbn-sim itself broke: a bug in the package, never the caller's fault (a
 * device thread that ran other kernels than it was sent, a buffer a step needs that was not sent).
 */
export class InternalError extends SyncBnError {
  /** 'E_INTERNAL' (subclasses name their invariant with codes of their own). */
  override readonly code: ErrorCode = 'E_INTERNAL';
  /** 'InternalError', or the subclass's name. */
  override readonly name: string = 'InternalError';
}

/** A file that `npm run build` makes is missing (the device worker of dist/workers/): build first. */
export class NotBuiltError extends SyncBnError {
  /** Always 'E_NOT_BUILT'. */
  override readonly code = 'E_NOT_BUILT';
  /** Always 'NotBuiltError'. */
  override readonly name = 'NotBuiltError';
}

/**
 * Files could not be put in place at the commit of an all-or-nothing write (a rename failed
 * half-way); the earlier files were put back and nothing new was written.
 */
export class OutputWriteError extends SyncBnError {
  /** Always 'E_OUTPUT_WRITE'. */
  override readonly code = 'E_OUTPUT_WRITE';
  /** Always 'OutputWriteError'. */
  override readonly name = 'OutputWriteError';
}

/** A helper process syncbn-sim started and talks to (the PyTorch peer of a benchmark) failed or said something unexpected. */
export class ExternalProcessError extends SyncBnError {
  /** Always 'E_EXTERNAL_PROCESS'. */
  override readonly code = 'E_EXTERNAL_PROCESS';
  /** Always 'ExternalProcessError'. */
  override readonly name = 'ExternalProcessError';
}

/**
 * The exit code the CLI gives an error: 2 for bad usage or input, 130 for an interrupted run, 1
 * for any other failure (an error that is not a {@link SyncBnError} included). Keyed on the code,
 * so it holds for errors from another copy of the package too.
 *
 * @param error - anything a command threw.
 * @returns the process exit code, from {@link ERROR_CODES}.
 * @example
 * ```ts
 * process.exitCode = exitCodeOf(error); // 2 for an InputError
 * ```
 */
export function exitCodeOf(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string' && Object.hasOwn(ERROR_CODES, code))
    return ERROR_CODES[code as ErrorCode];
  return EXIT_FAILURE;
}

/**
 * Throws an {@link InputError} with the message when the condition fails.
 *
 * @param condition - what must hold.
 * @param message - the message, or a function that builds it (called only on failure).
 * @throws {@link InputError} when `condition` is falsy.
 */
export function requireInput(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InputError(typeof message === 'function' ? message() : message);
}

/**
 * Throws an {@link InternalError} with the message when an invariant of the package fails.
 *
 * @param condition - what the package's own code guarantees.
 * @param message - the message, or a function that builds it (called only on failure).
 * @throws {@link InternalError} when `condition` is falsy.
 */
export function requireInvariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InternalError(typeof message === 'function' ? message() : message);
}
