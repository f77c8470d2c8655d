/**
 * One doorbell per device thread: a counter a peer bumps after it posts a message for, or frees a
 * slot of, a device of that thread, and a flag the thread raises while it sleeps, so that a peer
 * pays for `Atomics.notify` only when someone is asleep. One `Atomics.wait` on its bell covers
 * every device a thread hosts.
 *
 * Layout: Int32 [threads][2] = bell counter, sleeping flag.
 */

const BELL = 0;
const SLEEPING = 1;
const INTS_PER_THREAD = 2;

/**
 * The doorbells of every device thread of a cluster.
 *
 * @param threads - T.
 * @returns a zeroed buffer of T doorbells.
 */
export function allocateDoorbells(threads: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(threads, 1) * INTS_PER_THREAD * 4);
}

/** A view of the doorbells for ringing and sleeping. */
export class Doorbells {
  private readonly bells: Int32Array;

  /**
   * A view of the doorbells in `buffer`.
   *
   * @param buffer - from allocateDoorbells, shared by every thread.
   */
  constructor(buffer: SharedArrayBuffer) {
    this.bells = new Int32Array(buffer);
  }

  /**
   * Tells `thread` that something it may wait for has happened.
   *
   * @param thread - the thread to wake.
   */
  ring(thread: number): void {
    const at = thread * INTS_PER_THREAD;
    Atomics.add(this.bells, at + BELL, 1);
    if (Atomics.load(this.bells, at + SLEEPING) !== 0) Atomics.notify(this.bells, at + BELL);
  }

  /**
   * The bell's count now: read it before looking for work, then sleep only if it is unchanged.
   *
   * @param thread - the thread.
   * @returns the count.
   */
  read(thread: number): number {
    return Atomics.load(this.bells, thread * INTS_PER_THREAD + BELL);
  }

  /**
   * Sleeps until the bell moves past `seen` or `ms` pass.
   *
   * @param thread - this thread.
   * @param seen - the count read before looking for work.
   * @param ms - the longest sleep.
   */
  sleep(thread: number, seen: number, ms: number): void {
    const at = thread * INTS_PER_THREAD;
    Atomics.store(this.bells, at + SLEEPING, 1);
    Atomics.wait(this.bells, at + BELL, seen, ms);
    Atomics.store(this.bells, at + SLEEPING, 0);
  }
}
