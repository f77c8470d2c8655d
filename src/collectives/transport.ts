/**
 * Point-to-point messages over shared memory, for one rank and one collective call.
 *
 * A communicator is a list of global ranks (all devices for sync BN, one group for group BN);
 * algorithms speak in communicator ranks 0..size-1. `post` publishes a vector under a tag for a
 * number of readers (one write, counted as that many messages, as a broadcast to k peers costs k
 * sends); `recv` waits for a peer's post under a tag. Waits may spin first, then sleep on the flag in
 * short slices so that an abort or the deadline is noticed promptly.
 */
import { type CommViews, flagIndex, slotOffset } from './comm-buffer.js';
import { CollectiveAbortedError, CollectiveTimeoutError } from './errors.js';

/** Where the shared abort flag lives: a rank stops waiting once it is non-zero. */
export interface AbortSignalView {
  readonly array: Int32Array;
  readonly index: number;
}

/**
 * Told what a rank does in its collectives, so that a coordinator can later see who waited for
 * whom (the cluster writes it to shared memory; see src/cluster/control.ts).
 */
export interface WaitWatcher {
  /** A collective call begins on this rank. */
  joined(): void;
  /** This rank starts waiting for global rank `peer`'s message under `tag`. */
  waiting(peer: number, tag: number): void;
  /** The message it waited for arrived. */
  arrived(): void;
  /**
   * When every rank of the step had started (Date.now() ms), or undefined while some are still
   * starting: waits are timed from then, never from before a peer could have answered.
   */
  everyoneStartedAt(): number | undefined;
}

export interface Transport {
  readonly rank: number;
  readonly size: number;
  post(tag: number, data: Float64Array, start: number, end: number, readers: number): void;
  recv(from: number, tag: number, out: Float64Array, start: number, end: number): void;
}

export interface TrafficCount {
  messages: number;
  bytes: number;
}

const SLICE_MS = 10;

export class SharedMemoryTransport implements Transport {
  readonly rank: number;
  readonly size: number;
  readonly traffic: TrafficCount = { messages: 0, bytes: 0 };
  private readonly epoch: number;
  private readonly parity: number;
  private readonly started: number;
  private deadline: number;

  /**
   * Starts one collective call for global rank `members[rank]`: takes the next epoch of that rank
   * on this buffer. Every member must start the same number of collectives on the same buffer.
   */
  constructor(
    private readonly comm: CommViews,
    private readonly members: readonly number[],
    rank: number,
    private readonly bytesPerValue: number,
    private readonly timeoutMs: number,
    private readonly abort: AbortSignalView,
    /** Flag checks before sleeping: worth it only when the sender has a core of its own. */
    private readonly spins = 0,
    private readonly watcher?: WaitWatcher,
  ) {
    this.rank = rank;
    this.size = members.length;
    this.epoch = Atomics.add(comm.epochs, members[rank], 1) + 1;
    this.parity = this.epoch & 1;
    this.started = Date.now();
    this.deadline = this.started + timeoutMs;
    watcher?.joined();
  }

  post(tag: number, data: Float64Array, start: number, end: number, readers: number): void {
    const sender = this.members[this.rank];
    const length = end - start;
    if (length > this.comm.slotValues) throw new Error(`message of ${length} values exceeds the slot size ${this.comm.slotValues}`);
    this.comm.slots.set(data.subarray(start, end), slotOffset(this.comm, this.parity, sender, tag));
    const flag = flagIndex(this.comm, this.parity, sender, tag);
    Atomics.store(this.comm.flags, flag, this.epoch);
    Atomics.notify(this.comm.flags, flag);
    this.traffic.messages += readers;
    this.traffic.bytes += readers * length * this.bytesPerValue;
  }

  recv(from: number, tag: number, out: Float64Array, start: number, end: number): void {
    const sender = this.members[from];
    const flag = flagIndex(this.comm, this.parity, sender, tag);
    this.waitFor(flag, from, tag);
    const offset = slotOffset(this.comm, this.parity, sender, tag);
    out.set(this.comm.slots.subarray(offset, offset + (end - start)), start);
  }

  /**
   * The deadline once peers' start-up is left out: the timeout counts from when every rank had
   * started (or this collective began, if later); while some are still starting, a slice more.
   */
  private extendedDeadline(): number {
    if (!this.watcher) return this.deadline;
    const everyone = this.watcher.everyoneStartedAt();
    this.deadline = everyone === undefined ? Date.now() + SLICE_MS : Math.max(this.started, everyone) + this.timeoutMs;
    return this.deadline;
  }

  private waitFor(flag: number, from: number, tag: number): void {
    const flags = this.comm.flags;
    if (Atomics.load(flags, flag) === this.epoch) return;
    this.watcher?.waiting(this.members[from], tag);
    for (let i = 0; i < this.spins; i++) {
      if (Atomics.load(flags, flag) === this.epoch) {
        this.watcher?.arrived();
        return;
      }
    }
    for (;;) {
      const seen = Atomics.load(flags, flag);
      if (seen === this.epoch) {
        this.watcher?.arrived();
        return;
      }
      if (Atomics.load(this.abort.array, this.abort.index) !== 0) throw new CollectiveAbortedError(this.members[this.rank], this.members[from]);
      let left = this.deadline - Date.now();
      if (left <= 0) {
        left = this.extendedDeadline() - Date.now();
        if (left <= 0) throw new CollectiveTimeoutError(this.members[this.rank], this.members[from], this.timeoutMs);
      }
      Atomics.wait(flags, flag, seen, Math.min(left, SLICE_MS));
    }
  }
}
