/**
 * Runs the programs of the devices one thread hosts until all of them end.
 *
 * A device runs until it yields a `Wait`. It is then parked: on the list of the device whose post
 * or read would end the wait, so that an action by a device of the same thread wakes exactly the
 * devices waiting for it; and, when a device of another thread may end the wait, also on the
 * thread's remote list. When no device can run, the thread reads its doorbell, gives every
 * remotely parked device one more look, and sleeps on the bell only if none moved: a peer that
 * acts after the read rings the bell and the sleep returns at once, so no wake-up is lost. Which
 * device runs when changes nothing in the results: each algorithm fixes its merge order.
 *
 * Every wait has a deadline (`timeoutMs` after the device paused) and every sleep is cut in slices
 * that look at the shared abort flag, so a dead peer ends the run with an error naming a device
 * that waited and for whom, never a hang; `snapshot` then tells who waited for whom.
 */
import type { Doorbells } from './doorbells.js';
import type { Program, Wait } from './endpoint.js';
import { DeviceProgramError, PeerWaitAbortedError, PeerWaitTimeoutError } from './errors.js';
import type { WakeRouter } from './outbox-endpoint.js';

/** Where the shared abort flag lives: devices stop waiting once it is non-zero. */
export interface AbortFlag {
  /** The Int32 words holding the flag (the control block). */
  readonly array: Int32Array;
  /** Index of the flag in `array`. */
  readonly index: number;
}

/** Optional records of what the thread is doing, for diagnosing a failure from outside. */
export interface SchedulerHooks {
  /**
   * Device `rank` is about to run (a thread that stops answering was running the last one).
   *
   * @param rank - the global rank about to run.
   */
  running?(rank: number): void;
  /** The thread is alive: called every ALIVE_EVERY resumes and at every wake from sleep. */
  alive?(): void;
}

/** What a thread's scheduler needs: where it stands, how to reach other threads, when to give up. */
export interface SchedulerOptions {
  /** This thread's index. */
  readonly thread: number;
  /** The thread hosting each global rank (index: rank). */
  readonly threadOfRank: Int32Array;
  /** Every thread's doorbell: rung after a post for, or a freed slot of, a device of that thread. */
  readonly doorbells: Doorbells;
  /** The shared abort flag. */
  readonly abort: AbortFlag;
  /** How long a device may wait for one message or slot, in ms. */
  readonly timeoutMs: number;
  /** Looks at the doorbell this many times before sleeping (worth it when threads have cores). */
  readonly spins?: number;
  /**
   * Whether waits are timed yet (default: always). While it says no, a wait's clock does not run:
   * a peer whose thread has not started is not late.
   */
  readonly timing?: () => boolean;
  /** Records of what the thread is doing (for failure reports). */
  readonly hooks?: SchedulerHooks;
}

/** Where every hosted device stands: those whose program ended, and those paused on a wait. */
export interface SchedulerSnapshot {
  /** Devices whose program ended (global ranks). */
  readonly finished: number[];
  /** Devices paused on a wait, and what each waits for. */
  readonly waiting: { readonly rank: number; readonly wait: Wait }[];
}

const SLEEP_SLICE_MS = 10;
/** Resumes between two reads of the clock that stamps when a device paused. */
const CLOCK_EVERY = 256;
/** Resumes between two calls of the `alive` hook. */
const ALIVE_EVERY = 64;
const NO_WAIT = 0;
const MESSAGE = 1;
const SLOT = 2;
const QUEUED = 0;
const PARKED = 1;
const DONE = 2;

/** A first-in first-out queue of device indices that never reallocates. */
class IndexQueue {
  private readonly items: Int32Array;
  private head = 0;
  private count = 0;
  constructor(capacity: number) {
    this.items = new Int32Array(Math.max(capacity, 1));
  }
  get length(): number {
    return this.count;
  }
  push(i: number): void {
    this.items[(this.head + this.count) % this.items.length] = i;
    this.count++;
  }
  shift(): number {
    const i = this.items[this.head];
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return i;
  }
}

/**
 * A thread's scheduler: runs the programs of every device the thread hosts, resuming whichever can
 * go on, and sleeps on the thread's doorbell when all of them wait on other threads. Merge order is
 * fixed by the algorithms, never by the scheduler, so results do not depend on how devices are
 * spread over threads.
 */
export class Scheduler implements WakeRouter {
  private first = 0;
  private hosted = 0;
  private programs: (Program<unknown> | undefined)[] = [];
  private results: unknown[] = [];
  private status = new Uint8Array(0);
  /** What each parked device waits for, copied out of the Wait it yielded (which may be reused). */
  private waitKind = new Int8Array(0);
  private waitPeer = new Int32Array(0);
  private waitTag = new Int32Array(0);
  private parkedAt = new Float64Array(0);
  private queue = new IndexQueue(1);
  /** Devices waiting for a message from hosted device i, by i. */
  private waitersOf: number[][] = [];
  private remote: number[] = [];
  private remaining = 0;
  private clock = 0;
  private resumes = 0;
  /** The stamp of the last post that rang each thread (one ring per thread per post). */
  private rungAt = new Int32Array(0);
  private posts = 0;

  /**
   * A scheduler for one thread's devices.
   *
   * @param options - where the thread stands, its doorbells, the abort flag, the timeout and the
   *   hooks.
   */
  constructor(private readonly options: SchedulerOptions) {}

  /**
   * Runs one program per hosted device (`ranks`: consecutive global ranks, in order) to its end and
   * returns what each returned, in the same order. Throws `DeviceProgramError` naming the device
   * whose program threw, `PeerWaitTimeoutError` naming a device that waited too long, or
   * `PeerWaitAbortedError` when the abort flag was raised.
   *
   * @param ranks - consecutive global ranks of the hosted devices, in order.
   * @param programs - each device's program, in the same order.
   * @returns each program's result, in the same order.
   * @throws {@link DeviceProgramError} naming the device whose program threw.
   * @throws {@link PeerWaitTimeoutError} naming a device that waited too long.
   * @throws {@link PeerWaitAbortedError} when the abort flag was raised while a device waited.
   */
  run<T>(ranks: readonly number[], programs: readonly Program<T>[]): T[] {
    const n = ranks.length;
    this.first = ranks[0] ?? 0;
    this.hosted = n;
    this.programs = [...programs];
    this.results = new Array(n);
    this.status = new Uint8Array(n);
    this.waitKind = new Int8Array(n).fill(NO_WAIT);
    this.waitPeer = new Int32Array(n);
    this.waitTag = new Int32Array(n);
    this.parkedAt = new Float64Array(n);
    this.queue = new IndexQueue(n);
    for (let i = 0; i < n; i++) this.queue.push(i);
    this.waitersOf = Array.from({ length: n }, () => []);
    this.remote = [];
    this.remaining = n;
    this.rungAt = new Int32Array(Math.max(...this.options.threadOfRank, 0) + 1).fill(-1);
    this.clock = Date.now();
    const { doorbells, thread, spins = 0 } = this.options;
    while (this.remaining > 0) {
      this.drainQueue();
      if (this.remaining === 0) break;
      const seen = doorbells.read(thread);
      this.lookAtRemote();
      // That look may have let every device finish, or woken some: never sleep then.
      if (this.remaining === 0 || this.queue.length > 0) continue;
      this.checkAbortAndDeadlines();
      for (let k = 0; k < spins && doorbells.read(thread) === seen; k++);
      if (doorbells.read(thread) !== seen) continue;
      doorbells.sleep(thread, seen, SLEEP_SLICE_MS);
      this.options.hooks?.alive?.();
    }
    return this.results as T[];
  }

  /**
   * Where every hosted device stands; diagnose a failure from this, not from which error came
   * first.
   *
   * @returns the finished and the waiting devices.
   */
  snapshot(): SchedulerSnapshot {
    const finished: number[] = [];
    const waiting: { rank: number; wait: Wait }[] = [];
    for (let i = 0; i < this.hosted; i++) {
      if (this.status[i] === DONE) finished.push(this.first + i);
      else if (this.status[i] === PARKED) waiting.push({ rank: this.first + i, wait: this.waitOf(i) });
    }
    return { finished, waiting };
  }

  /** {@inheritDoc WakeRouter.hosts} */
  hosts(rank: number): boolean {
    const i = rank - this.first;
    return i >= 0 && i < this.hosted;
  }

  /** {@inheritDoc WakeRouter.posted} */
  posted(sender: number, tag: number, readers: readonly number[], offset: number): void {
    const s = sender - this.first;
    if (s >= 0 && s < this.hosted) {
      const waiters = this.waitersOf[s];
      if (waiters.length > 0) {
        let kept = 0;
        for (const i of waiters) {
          if (this.status[i] !== PARKED || this.waitKind[i] !== MESSAGE || this.waitPeer[i] !== sender) continue; // stale
          if (this.waitTag[i] === tag) this.unpark(i);
          else waiters[kept++] = i;
        }
        waiters.length = kept;
      }
    }
    const { thread, threadOfRank, doorbells } = this.options;
    const stamp = ++this.posts;
    for (let k = 0; k < readers.length; k++) {
      const t = threadOfRank[offset + readers[k]];
      if (t !== thread && this.rungAt[t] !== stamp) {
        this.rungAt[t] = stamp;
        doorbells.ring(t);
      }
    }
  }

  /** {@inheritDoc WakeRouter.slotFreed} */
  slotFreed(sender: number, slot: number): void {
    const s = sender - this.first;
    if (s >= 0 && s < this.hosted) {
      if (this.status[s] === PARKED && this.waitKind[s] === SLOT && this.waitTag[s] === slot) this.unpark(s);
    } else {
      this.options.doorbells.ring(this.options.threadOfRank[sender]);
    }
  }

  private waitOf(i: number): Wait {
    return { kind: this.waitKind[i] === SLOT ? 'slot' : 'message', peer: this.waitPeer[i], tag: this.waitTag[i] };
  }

  private unpark(i: number): void {
    this.status[i] = QUEUED;
    this.queue.push(i);
  }

  private drainQueue(): void {
    const hooks = this.options.hooks;
    while (this.queue.length > 0) {
      const i = this.queue.shift();
      if (this.status[i] !== QUEUED) continue;
      const rank = this.first + i;
      hooks?.running?.(rank);
      this.resumes++;
      if (this.resumes % ALIVE_EVERY === 0) hooks?.alive?.();
      if (this.resumes % CLOCK_EVERY === 0) this.clock = Date.now();
      let step: IteratorResult<unknown, unknown>;
      try {
        step = this.programs[i]!.next();
      } catch (error) {
        this.status[i] = DONE;
        if (error instanceof PeerWaitTimeoutError || error instanceof PeerWaitAbortedError) throw error;
        throw new DeviceProgramError(rank, error);
      }
      if (step.done) {
        this.status[i] = DONE;
        this.results[i] = step.value;
        this.programs[i] = undefined;
        this.waitKind[i] = NO_WAIT;
        this.remaining--;
      } else {
        this.park(i, step.value as Wait);
      }
    }
  }

  private park(i: number, wait: Wait): void {
    const kind = wait.kind === 'message' ? MESSAGE : SLOT;
    // The same wait again (a spurious wake) keeps the time it began.
    if (this.waitKind[i] !== kind || this.waitPeer[i] !== wait.peer || this.waitTag[i] !== wait.tag) {
      this.waitKind[i] = kind;
      this.waitPeer[i] = wait.peer;
      this.waitTag[i] = wait.tag;
      this.parkedAt[i] = this.clock;
    }
    this.status[i] = PARKED;
    const p = wait.peer - this.first;
    const local = p >= 0 && p < this.hosted;
    if (wait.kind === 'message' && local) this.waitersOf[p].push(i);
    // A slot is freed by its readers, who may live anywhere; a message, by its sender's thread.
    if (wait.kind === 'slot' || !local) this.remote.push(i);
  }

  /** Gives every device parked on another thread's action one more look. */
  private lookAtRemote(): void {
    this.clock = Date.now();
    const remote = this.remote;
    this.remote = [];
    for (const i of remote) if (this.status[i] === PARKED) this.unpark(i);
    this.drainQueue();
  }

  private checkAbortAndDeadlines(): void {
    const { abort, timeoutMs } = this.options;
    const timing = this.options.timing?.() ?? true;
    const now = Date.now();
    let oldest = -1;
    for (let i = 0; i < this.hosted; i++) {
      if (this.status[i] !== PARKED) continue;
      if (!timing) this.parkedAt[i] = now;
      if (oldest < 0 || this.parkedAt[i] < this.parkedAt[oldest]) oldest = i;
    }
    if (oldest < 0) return;
    const wait = this.waitOf(oldest);
    const rank = this.first + oldest;
    if (Atomics.load(abort.array, abort.index) !== 0) throw new PeerWaitAbortedError(rank, wait.peer);
    if (now - this.parkedAt[oldest] >= timeoutMs)
      throw new PeerWaitTimeoutError(rank, wait.kind === 'message' ? wait.peer : -1, timeoutMs);
  }
}
