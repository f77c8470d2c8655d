/**
 * An endpoint over a shared-memory outbox (see outbox.ts): the one transport of the threaded
 * cluster, between devices of one thread and devices of different threads alike. What differs is
 * only how a paused device is woken, which the `WakeRouter` of its thread's scheduler decides.
 */
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
  /** Whether global rank `rank` lives on this thread. */
  hosts(rank: number): boolean;
  /** `sender` published a message under `tag` for the global ranks `readers`. */
  posted(sender: number, tag: number, readers: readonly number[]): void;
  /** Every reader has read `sender`'s message in `slot`: the sender may reuse it. */
  slotFreed(sender: number, slot: number): void;
}

/** A message longer than the outbox slot: a sizing bug, never bad input. */
export class SlotOverflowError extends Error {
  override readonly name = 'SlotOverflowError';
}

export class OutboxEndpoint implements Endpoint {
  readonly rank: number;
  readonly size: number;
  readonly traffic: TrafficCount = { messages: 0, bytes: 0 };
  /** Reused for every wait of this call: the scheduler copies what it needs. */
  readonly pending: { kind: Wait['kind']; peer: number; tag: number } = { kind: 'message', peer: -1, tag: -1 };
  private readonly me: number;
  private readonly epoch: number;
  /** Communicator ranks are global ranks (the communicator is every device, in order). */
  private readonly identity: boolean;

  /**
   * Starts one collective call for `members[rank]` (members are global ranks): takes that
   * device's next epoch on this outbox. Every member must start the same collectives, in the same
   * order, on the same outbox.
   */
  constructor(
    private readonly outbox: OutboxViews,
    private readonly members: readonly number[],
    rank: number,
    private readonly bytesPerValue: number,
    private readonly router: WakeRouter,
  ) {
    this.rank = rank;
    this.size = members.length;
    this.me = members[rank];
    this.identity = members.length === outbox.devices && members[0] === 0 && members[members.length - 1] === members.length - 1;
    this.epoch = Atomics.add(outbox.epochs, this.me, 1) + 1;
  }

  post(tag: number, data: Float64Array, start: number, end: number, to: readonly number[]): boolean {
    const length = end - start;
    if (length > this.outbox.slotValues) throw new SlotOverflowError(`message of ${length} values exceeds the slot size ${this.outbox.slotValues}`);
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

  recv(from: number, tag: number, out: Float64Array, start: number, end: number): boolean {
    const sender = this.members[from];
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
    const payload = this.outbox.payload;
    for (let i = start, j = at; i < end; i++, j++) out[i] = payload[j];
    const reads = local && headers[h + HEADER_REMOTE] === 0 ? ++headers[h + HEADER_READS] : Atomics.add(headers, h + HEADER_READS, 1) + 1;
    if (reads === headers[h + HEADER_READERS]) this.router.slotFreed(sender, slot);
    return true;
  }

  private waitFor(kind: Wait['kind'], peer: number, tag: number): void {
    this.pending.kind = kind;
    this.pending.peer = peer;
    this.pending.tag = tag;
  }

  private write(tag: number, slot: number, data: Float64Array, start: number, end: number, to: readonly number[]): void {
    const { outbox, me } = this;
    const length = end - start;
    const headers = outbox.headers;
    const h = headerIndex(outbox, me, slot);
    const at = payloadIndex(outbox, me, slot);
    for (let i = start, j = at; i < end; i++, j++) outbox.payload[j] = data[i];
    const readers = this.identity ? to : to.map((r) => this.members[r]);
    let remote = 0;
    for (let k = 0; k < readers.length && remote === 0; k++) if (!this.router.hosts(readers[k])) remote = 1;
    headers[h + HEADER_READERS] = readers.length;
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
    this.traffic.messages += readers.length;
    this.traffic.bytes += readers.length * length * this.bytesPerValue;
    this.router.posted(me, tag, readers);
  }
}
