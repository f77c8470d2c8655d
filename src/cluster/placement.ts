/**
 * Which thread hosts which devices. W devices go to T threads as consecutive runs of ranks, as
 * evenly as possible (numpy.array_split of the ranks): with T = W each thread is one device,
 * with fewer threads each hosts several neighbours, so that a ring or a group's traffic mostly
 * stays inside a thread.
 */
import { availableParallelism } from 'node:os';
import { shardRows } from '../tensor/sharding.js';

/**
 * The default thread count for W devices: one per device while there are cores for them.
 *
 * @param devices - W.
 * @returns min(W, cores), at least 1.
 */
export function defaultThreads(devices: number): number {
  return Math.max(1, Math.min(devices, availableParallelism()));
}

/**
 * Global ranks [first, end) that `thread` of `threads` hosts among `devices`.
 *
 * @param devices - W.
 * @param threads - T.
 * @param thread - the thread.
 * @returns [first, end) of its ranks.
 */
export function hostedRanks(devices: number, threads: number, thread: number): [number, number] {
  return shardRows(devices, threads, thread);
}

/**
 * The thread of every rank (index: rank).
 *
 * @param devices - W.
 * @param threads - T.
 * @returns the thread hosting each rank.
 */
export function threadOfRanks(devices: number, threads: number): Int32Array {
  const owner = new Int32Array(devices);
  for (let t = 0; t < threads; t++) {
    const [first, end] = hostedRanks(devices, threads, t);
    owner.fill(t, first, end);
  }
  return owner;
}
