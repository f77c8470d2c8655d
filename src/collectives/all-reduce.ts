/**
 * The one way a device all-reduces with a set of peers: an endpoint on a shared outbox for each
 * call, run by the chosen algorithm, with the traffic added to the device's count. BN steps and
 * training steps both use it.
 */
import { InternalError } from '../errors.js';
import type { AllReduceAlgorithm } from './algorithms/types.js';
import type { Communicator } from './communicator.js';
import type { Program, TrafficCount } from './endpoint.js';
import { DeviceScratch, OutboxEndpoint, type WakeRouter } from './outbox-endpoint.js';
import type { OutboxViews } from './outbox.js';
import type { Reducer } from './reducers.js';

/** Combines `data` in place with the same call on every peer; pauses (yields) while it waits. */
export type AllReduceFn = (data: Float64Array, reducer: Reducer) => Program;

/** What a device needs to reach its peers: the outbox they share and its thread's router. */
export interface Network {
  /** The outbox every device of the cluster posts to. */
  readonly outbox: OutboxViews;
  /** The thread's router: wakes whoever may wait for a post. */
  readonly router: WakeRouter;
}

/**
 * Every device's scratch buffers, by global rank, kept for the life of the thread: a thread hosts
 * the same devices from task to task, and runs one collective of a device at a time.
 */
const scratchOfRank = new Map<number, DeviceScratch>();

function scratchOf(rank: number): DeviceScratch {
  let scratch = scratchOfRank.get(rank);
  if (!scratch) {
    scratch = new DeviceScratch();
    scratchOfRank.set(rank, scratch);
  }
  return scratch;
}

/**
 * The all-reduce of global rank `me` among the devices of `comm` (`me` among them), adding what
 * it sends to `traffic`. It returns the algorithm's own program, with no wrapper around it: every
 * level of generators a paused device sits in costs time at each of its many resumes.
 *
 * @param network - the outbox and the thread's router.
 * @param comm - the devices of the all-reduce.
 * @param me - the global rank of this device, a member of `comm`.
 * @param algorithm - the algorithm.
 * @param traffic - what the device sends is added here.
 * @returns the all-reduce: call it with the data and the reducer, and run the program it returns.
 * @throws {@link InternalError} when `me` is not in `comm`.
 */
export function allReduceAmong(
  network: Network,
  comm: Communicator,
  me: number,
  algorithm: AllReduceAlgorithm,
  traffic: TrafficCount,
): AllReduceFn {
  const rank = me - comm.first;
  if (rank < 0 || rank >= comm.size) throw new InternalError(`rank ${me} is not a member of its own communicator`);
  const scratch = scratchOf(me);
  return (data, reducer) =>
    algorithm.run(
      new OutboxEndpoint(network.outbox, comm, rank, reducer.bytesPerValue, network.router, scratch, traffic),
      data,
      reducer,
    );
}

/**
 * An outbox geometry that fits every all-reduce a BN step makes among communicators of `size`
 * ranks on `devices` devices with `channels` channels: Welford's 3C values in records of 3, and
 * 2C+1 values in records of 1 (sums, the backward, the two-pass rounds).
 *
 * @param algorithm - the algorithm.
 * @param devices - W: the devices sharing the outbox.
 * @param size - ranks per communicator.
 * @param channels - C.
 * @returns the devices, slots and slot size.
 */
export function bnOutboxGeometry(
  algorithm: AllReduceAlgorithm,
  devices: number,
  size: number,
  channels: number,
): { devices: number; slots: number; slotValues: number } {
  const welford = algorithm.space(size, 3 * channels, 3);
  const sums = algorithm.space(size, 2 * channels + 1, 1);
  return {
    devices,
    slots: Math.max(welford.slots, sums.slots),
    slotValues: Math.max(welford.slotValues, sums.slotValues, 1),
  };
}

/**
 * An outbox geometry for all-reduces of `length` values in records of 1 among `size` ranks.
 *
 * @param algorithm - the algorithm.
 * @param devices - W: the devices sharing the outbox.
 * @param size - ranks per communicator.
 * @param length - values per all-reduce.
 * @returns the devices, slots and slot size.
 */
export function vectorOutboxGeometry(
  algorithm: AllReduceAlgorithm,
  devices: number,
  size: number,
  length: number,
): { devices: number; slots: number; slotValues: number } {
  const need = algorithm.space(size, length, 1);
  return { devices, slots: need.slots, slotValues: Math.max(need.slotValues, 1) };
}
