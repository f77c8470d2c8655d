/**
 * `syncbn-sim/collectives`: the all-reduce algorithms the simulated devices run, the contract an
 * algorithm is written against, and the reducers that combine partial statistics.
 *
 * Each algorithm is a generator per device that posts messages and yields a {@link Wait} when it
 * needs one it does not have; whoever drives it (the per-thread scheduler of a cluster) resumes it
 * once the message may be there. Merge order is fixed by the algorithm and the number of ranks
 * alone, so every rank ends bitwise the same, whatever the thread timing.
 *
 * @example
 * ```ts
 * import { ALGORITHM_NAMES, algorithmByName, chanMerge } from 'syncbn-sim/collectives';
 *
 * for (const name of ALGORITHM_NAMES) {
 *   // Outbox space for 8 ranks all-reducing Welford triples of 64 channels (records of 3 values).
 *   console.log(name, algorithmByName(name).space(8, 3 * 64, chanMerge.width));
 * }
 * ```
 *
 * @module syncbn-sim/collectives
 */

export { ALGORITHM_NAMES, DEFAULT_ALGORITHM, algorithmByName } from './algorithms/index.js';
export type { AlgorithmName, AllReduce, AllReduceAlgorithm, SlotNeeds } from './algorithms/index.js';
export type { Endpoint, Program, TrafficCount, Wait } from './endpoint.js';
export { chanMerge, float32Sum, float64Sum } from './reducers.js';
export type { Reducer } from './reducers.js';
