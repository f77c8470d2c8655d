/**
 * An endpoint over a shared-memory outbox (see outbox.ts): the one transport of the threaded
 * cluster, between devices of one thread and devices of different threads alike. What differs is
 * only how a paused device is woken, which the `WakeRouter` of its thread's scheduler decides.
 */
import { InternalError } from '../errors.js';
import type { Communicator } from './communicator.js';
import type { Endpoint, TrafficCount, Wait } from './endpoint.js';
import {
  HEADER_EPOCH,
  HEADER_READERS,
  HEADER_READS,
  HEADER_REMOTE,
  HEADER_TAG,
  type OutboxViews,
  headerIndex,
  payloadIndex,
} from './outbox.js';

/** How a post or a read wakes the devices that may be waiting for it. */
export interface WakeRouter {
  /**
   * Whether global rank `rank` lives on this thread.
   *
   * @param rank - a global rank.
   * @returns true when this thread runs it.
   */
  hosts(rank: number): boolean;
  /**
   * `sender` published a message under `tag` for the global ranks offset + r, r in `readers`.
   *
   * @param sender - the posting device (global rank).
   * @param tag - the message's tag.
   * @param readers - the communicator ranks that will read it.
   * @param offset - global rank of communicator rank 0.
   */
  posted(sender: number, tag: number, readers: readonly number[], offset: number): void;
  /**
   * Every reader has read `sender`'s message in `slot`: the sender may reuse it.
   *
   * @param sender - the device whose slot it is (global rank).
   * @param slot - the slot.
   */
  slotFreed(sender: number, slot: number): void;
}

/**
 * Copies `length` values from `from[fromAt..]` to `to[toAt..]`. A loop, not `set`: with shared
 * memory on either side, `set` takes a slow path that copies with relaxed atomics.
 */
function copyValues(from: Float64Array, fromAt: number, to: Float64Array, toAt: number, length: number): void {
  for (let i = 0; i < length; i++) to[toAt + i] = from[fromAt + i];
}

/** The scratch buffers of one device, grown on demand and reused by every call. */
export class DeviceScratch {
  private readonly buffers: Float64Array[] = [];

  /**
   * Buffer `index`, at least `length` long (a view of exactly `length` values).
   *
   * @param index - which buffer.
   * @param length - values it must hold.
   * @returns the view.
   */
  buffer(index: number, length: number): Float64Array {
    let b = this.buffers[index];
    if (!b || b.length < length) {
      b = new Float64Array(Math.max(length, 2 * (b?.length ?? 0)));
      this.buffers[index] = b;
    }
    return b.length === length ? b : b.subarray(0, length);
  }
}

/** A message longer than the outbox slot: a sizing bug, never bad input. */
export class SlotOverflowError extends InternalError {
  /** Always 'E_SLOT_OVERFLOW'. */
  override readonly code = 'E_SLOT_OVERFLOW';
  /** Always 'SlotOverflowError'. */
  override readonly name = 'SlotOverflowError';
}

/**
 * One device's end of a communicator for one collective call, over the shared outbox (see outbox.ts
 * for the protocol).
 */
export class OutboxEndpoint implements Endpoint {
  /** {@inheritDoc Endpoint.rank} */
  readonly rank: number;
  /** {@inheritDoc Endpoint.size} */
  readonly size: number;
  /** Reused for every wait of this call: the scheduler copies what it needs. */
  readonly pending: { kind: Wait['kind']; peer: number; tag: number } = { kind: 'message', peer: -1, tag: -1 };
  private readonly me: number;
  private readonly epoch: number;

  /**
   * Starts one collective call for communicator rank `rank` of `comm`: takes that device's next
   * epoch on this outbox. Every member must start the same collectives, in the same order, on the
   * same outbox. What it sends is added to `traffic`.
   *
   * @param outbox - the outbox every member posts to.
   * @param comm - the devices of the collective.
   * @param rank - this device's communicator rank.
   * @param bytesPerValue - bytes one value counts for on the wire (4 or 8).
   * @param router - the thread's router, which wakes whoever may wait for a post or a freed slot.
   * @param scratchSpace - this device's scratch buffers (default fresh ones).
   * @param traffic - what the call sends is added here (default a fresh count).
   */
  constructor(
    private readonly outbox: OutboxViews,
    private readonly comm: Communicator,
    rank: number,
    private readonly bytesPerValue: number,
    private readonly router: WakeRouter,
    private readonly scratchSpace: DeviceScratch = new DeviceScratch(),
    /** What this call has sent. */
    readonly traffic: TrafficCount = { messages: 0, bytes: 0 },
  ) {
    this.rank = rank;
    this.size = comm.size;
    this.me = comm.first + rank;
    this.epoch = Atomics.add(outbox.epochs, this.me, 1) + 1;
  }

  /**
   * {@inheritDoc Endpoint.post}
   *
   * @throws {@link SlotOverflowError} when the message is longer than a slot.
   */
  post(tag: number, data: Float64Array, start: number, end: number, to: readonly number[]): boolean {
    const length = end - start;
    if (length > this.outbox.slotValues)
      throw new SlotOverflowError(`message of ${length} values exceeds the slot size ${this.outbox.slotValues}`);
    const slot = tag % this.outbox.slots;
    const headers = this.outbox.headers;
    const h = headerIndex(this.outbox, this.me, slot);
    // Only this device writes the reader count, and read counts only grow: a plain look that
    // finds the slot free is right; one that finds it busy may be stale, so look again atomically.
    const readers = headers[h + HEADER_READERS];
    if (headers[h + HEADER_READS] < readers && Atomics.load(headers, h + HEADER_READS) < readers) {
      this.waitFor('slot', this.me, slot);
      return false;
    }
    this.write(tag, slot, data, start, end, to);
    return true;
  }

  /** {@inheritDoc Endpoint.recv} */
  recv(from: number, tag: number, out: Float64Array, start: number, end: number): boolean {
    const sender = this.comm.first + from;
    const slot = tag % this.outbox.slots;
    const headers = this.outbox.headers;
    const h = headerIndex(this.outbox, sender, slot);
    const local = this.router.hosts(sender);
    const epoch = local ? headers[h + HEADER_EPOCH] : Atomics.load(headers, h + HEADER_EPOCH);
    const posted = local ? headers[h + HEADER_TAG] : Atomics.load(headers, h + HEADER_TAG);
    if (epoch !== this.epoch || posted !== tag) {
      this.waitFor('message', sender, tag);
      return false;
    }
    const at = payloadIndex(this.outbox, sender, slot);
    copyValues(this.outbox.payload, at, out, start, end - start);
    const reads =
      local && headers[h + HEADER_REMOTE] === 0
        ? ++headers[h + HEADER_READS]
        : Atomics.add(headers, h + HEADER_READS, 1) + 1;
    if (reads === headers[h + HEADER_READERS]) this.router.slotFreed(sender, slot);
    return true;
  }

  /** {@inheritDoc Endpoint.scratch} */
  scratch(index: number, length: number): Float64Array {
    return this.scratchSpace.buffer(index, length);
  }

  private waitFor(kind: Wait['kind'], peer: number, tag: number): void {
    this.pending.kind = kind;
    this.pending.peer = peer;
    this.pending.tag = tag;
  }

  private write(
    tag: number,
    slot: number,
    data: Float64Array,
    start: number,
    end: number,
    to: readonly number[],
  ): void {
    const { outbox, me } = this;
    const length = end - start;
    const headers = outbox.headers;
    const h = headerIndex(outbox, me, slot);
    copyValues(data, start, outbox.payload, payloadIndex(outbox, me, slot), length);
    const first = this.comm.first;
    let remote = 0;
    for (let k = 0; k < to.length && remote === 0; k++) if (!this.router.hosts(first + to[k])) remote = 1;
    headers[h + HEADER_READERS] = to.length;
    headers[h + HEADER_READS] = 0;
    headers[h + HEADER_REMOTE] = remote;
    if (remote) {
      // The tag, then the epoch, publish the message: a reader that sees both sees the payload.
      Atomics.store(headers, h + HEADER_TAG, tag);
      Atomics.store(headers, h + HEADER_EPOCH, this.epoch);
    } else {
      headers[h + HEADER_TAG] = tag;
      headers[h + HEADER_EPOCH] = this.epoch;
    }
    this.traffic.messages += to.length;
    this.traffic.bytes += to.length * length * this.bytesPerValue;
    this.router.posted(me, tag, to, first);
  }
}
