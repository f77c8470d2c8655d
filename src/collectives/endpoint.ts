/**
 * What a collective algorithm sees of the network: one endpoint per device and collective call.
 *
 * Algorithms are generator functions. A device that needs a message it does not have yet yields a
 * `Wait` and is resumed by whoever drives it (a per-thread scheduler on the threaded cluster, a
 * virtual-clock driver in the cost simulation) once that message may be there; it then checks
 * again. So one thread can host many devices: a device paused at a receive never blocks the
 * thread, and a message between two devices of one thread is a hand-over in memory.
 */
import { SyncBnError } from '../errors.js';

/** Why a device paused: a peer's message it waits for, or its own outbox slot not yet read by all. */
export interface Wait {
  /** 'message': a peer's message; 'slot': its own outbox slot, still unread by some reader. */
  readonly kind: 'message' | 'slot';
  /** Global rank of the sender it waits for ('message'), or its own global rank ('slot'). */
  readonly peer: number;
  /** The tag of the awaited message ('message'), or the index of the busy outbox slot ('slot'). */
  readonly tag: number;
}

/** A running collective (or a device step that contains one): yields at every wait. */
export type Program<T = void> = Generator<Wait, T, void>;

/** Messages and bytes a device sent. */
export interface TrafficCount {
  /** Messages sent (a post read by k peers counts k times). */
  messages: number;
  /** Bytes sent. */
  bytes: number;
}

/**
 * One device's end of a communicator for one collective call. Ranks are communicator ranks
 * 0..size-1 (a sync group's members, renumbered).
 *
 * `post` and `recv` never block: each does its work and returns true, or returns false when it
 * must wait, leaving the reason in `pending`. An algorithm yields that and tries again when it is
 * resumed:
 *
 *     while (!t.recv(from, tag, buffer, 0, n)) yield t.pending;
 */
export interface Endpoint {
  /** This device's communicator rank, 0 to size-1. */
  readonly rank: number;
  /** Ranks in the communicator. */
  readonly size: number;
  /** What the last `post` or `recv` that returned false waits for. */
  readonly pending: Wait;
  /**
   * Publishes data[start, end) under `tag` to the ranks in `to` (one write, counted as one message
   * to each reader). False, with nothing sent, while the outbox slot for this tag still holds an
   * unread message.
   *
   * @param tag - the message's tag: which step of the algorithm it belongs to.
   * @param data - the vector.
   * @param start - first value to send.
   * @param end - one past the last.
   * @param to - the communicator ranks that will read it.
   * @returns true once posted; false (nothing sent) while the slot is busy.
   */
  post(tag: number, data: Float64Array, start: number, end: number, to: readonly number[]): boolean;
  /**
   * Copies the message `from` posted under `tag` into out[start, end); false until it arrives.
   *
   * @param from - the sender's communicator rank.
   * @param tag - the message's tag.
   * @param out - receives the values.
   * @param start - where the first value goes.
   * @param end - one past the last.
   * @returns true once copied; false until the message is there.
   */
  recv(from: number, tag: number, out: Float64Array, start: number, end: number): boolean;
  /**
   * Scratch space of this device for an algorithm's temporaries: buffer `index` (0, 1, ...) with
   * at least `length` values, kept from call to call (allocating typed arrays at every call costs
   * more than a small all-reduce itself). Its contents are undefined on entry.
   *
   * @param index - which buffer (0, 1, ...).
   * @param length - values it must hold.
   * @returns a view of exactly `length` values.
   */
  scratch(index: number, length: number): Float64Array;
}

/**
 * A program ran into a wait where nothing can ever answer it: it runs without peers (local BN,
 * evaluation, one device), or a layer that talks to peers was driven with `forward` instead of
 * `forwardProgram`.
 */
export class UnexpectedWaitError extends SyncBnError {
  /** Always 'E_UNEXPECTED_WAIT'. */
  override readonly code = 'E_UNEXPECTED_WAIT';
  /** Always 'UnexpectedWaitError'. */
  override readonly name = 'UnexpectedWaitError';
}

/**
 * Runs a program that must not pause (one with no peers: local BN, evaluation, a single device)
 * to its end and returns its result.
 *
 * @throws UnexpectedWaitError when the program yields a wait.
 * @param program - the program.
 * @param what - what runs, for the message.
 * @returns the program's result.
 */
export function runWithoutPeers<T>(program: Program<T>, what: string): T {
  const step = program.next();
  if (!step.done) throw new UnexpectedWaitError(`${what} waited for rank ${step.value.peer}, but runs without peers`);
  return step.value;
}
