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
  HEADER_TAG,
  type OutboxViews,
  headerIndex,
  payloadIndex,
} from './outbox.js';

/** How a post or a read wakes the devices that may be waiting for it. */
export interface WakeRouter {
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
  pending: Wait = { kind: 'message', peer: -1, tag: -1 };
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
    const h = headerIndex(this.outbox, this.me, slot);
    if (Atomics.load(this.outbox.headers, h + HEADER_READS) < Atomics.load(this.outbox.headers, h + HEADER_READERS)) {
      this.pending = { kind: 'slot', peer: this.me, tag: slot };
      return false;
    }
    this.write(tag, slot, data, start, end, to);
    return true;
  }

  recv(from: number, tag: number, out: Float64Array, start: number, end: number): boolean {
    const sender = this.members[from];
    const slot = tag % this.outbox.slots;
    const h = headerIndex(this.outbox, sender, slot);
    if (Atomics.load(this.outbox.headers, h + HEADER_EPOCH) !== this.epoch || Atomics.load(this.outbox.headers, h + HEADER_TAG) !== tag) {
      this.pending = { kind: 'message', peer: sender, tag };
      return false;
    }
    this.read(sender, slot, out, start, end);
    return true;
  }

  private write(tag: number, slot: number, data: Float64Array, start: number, end: number, to: readonly number[]): void {
    const { outbox, me } = this;
    const length = end - start;
    const h = headerIndex(outbox, me, slot);
    const headers = outbox.headers;
    const at = payloadIndex(outbox, me, slot);
    for (let i = start, j = at; i < end; i++, j++) outbox.payload[j] = data[i];
    Atomics.store(headers, h + HEADER_READERS, to.length);
    Atomics.store(headers, h + HEADER_READS, 0);
    // The tag, then the epoch, publish the message: a reader that sees both sees the payload.
    Atomics.store(headers, h + HEADER_TAG, tag);
    Atomics.store(headers, h + HEADER_EPOCH, this.epoch);
    this.traffic.messages += to.length;
    this.traffic.bytes += to.length * length * this.bytesPerValue;
    this.router.posted(me, tag, this.identity ? to : to.map((r) => this.members[r]));
  }

  private read(sender: number, slot: number, out: Float64Array, start: number, end: number): void {
    const { outbox } = this;
    const at = payloadIndex(outbox, sender, slot);
    for (let i = start, j = at; i < end; i++, j++) out[i] = outbox.payload[j];
    const h = headerIndex(outbox, sender, slot);
    const reads = Atomics.add(outbox.headers, h + HEADER_READS, 1) + 1;
    if (reads === Atomics.load(outbox.headers, h + HEADER_READERS)) this.router.slotFreed(sender, slot);
  }
}
