/**
 * Algorithms made of independent lanes, as NCCL runs a collective on several channels at once:
 * each lane is a whole collective on its own part of the vector (a ring on its own order of
 * ranks, one tree of a double binary tree), with its own tags. Lanes never wait for each other.
 *
 * On the threaded cluster a device runs its lanes one after another (`run`): a lane finishes
 * whatever the others do, so that never deadlocks, and the results are the same bits either way.
 * The virtual-clock timeline (../timeline.ts) runs them side by side, each with its own clock,
 * sharing the device's links: the same generators, executed with NCCL's concurrency.
 */
import type { Endpoint, Program } from '../endpoint.js';
import type { Reducer } from '../reducers.js';
import type { AllReduceAlgorithm } from './types.js';

/** An all-reduce made of lanes. */
export interface LanedAllReduce extends AllReduceAlgorithm {
  /**
   * How many lanes a call among `size` ranks has.
   * @param size communicator size
   * @returns lane count (>= 1)
   */
  lanes(size: number): number;
  /**
   * Lane `index` of the call: its program, on `t`, over its own part of `data`.
   * @param t the lane's endpoint
   * @param data the whole vector (the lane touches only its part)
   * @param reducer how values combine
   * @param index lane index, 0 <= index < lanes(t.size)
   * @returns the lane's program
   */
  lane(t: Endpoint, data: Float64Array, reducer: Reducer, index: number): Program;
}

/**
 * Whether an algorithm is made of lanes.
 * @param algorithm any all-reduce algorithm
 * @returns true when it has lanes the timeline may run side by side
 */
export function isLaned(algorithm: AllReduceAlgorithm): algorithm is LanedAllReduce {
  return typeof (algorithm as Partial<LanedAllReduce>).lane === 'function';
}

/**
 * Runs every lane of a call one after another on one endpoint (the threaded cluster's way).
 * @param algorithm the laned algorithm
 * @param t the device's endpoint
 * @param data the vector
 * @param reducer how values combine
 * @returns the device's program for the whole call
 */
export function* lanesInTurn(algorithm: LanedAllReduce, t: Endpoint, data: Float64Array, reducer: Reducer): Program {
  const lanes = algorithm.lanes(t.size);
  for (let i = 0; i < lanes; i++) yield* algorithm.lane(t, data, reducer, i);
}
