/**
 * All-gathers as generators, the collective PyTorch's SyncBatchNorm issues in its forward pass
 * (every rank's [mean, invstd, count] to every rank). Rank r contributes block r of `blocks`
 * (blockValues values from r * blockValues); when the program ends every rank holds every block.
 * No arithmetic, so no merge order to fix: every rank ends with the blocks as their owners sent them.
 *
 *   ring    NCCL's all-gather: P - 1 steps; in step s a rank passes on to the next rank the block
 *           it received in step s - 1 (its own in step 0). With several channels each block is cut
 *           in parts that go round rings entering each node at a different GPU (ring-channels.ts).
 *   direct  every rank posts its block once to all others and reads the others' in rank order:
 *           the exchange of the simulator's own `allgather` all-reduce.
 */
import type { Endpoint, Program } from './endpoint.js';
import { partStart, ringOrder } from './algorithms/ring-channels.js';
import type { SlotNeeds } from './algorithms/types.js';

/** An all-gather of blocks of `blockValues` values, one per rank, laid out in rank order. */
export type AllGather = (t: Endpoint, blocks: Float64Array, blockValues: number) => Program;

/** A named all-gather and the outbox space it needs. */
export interface AllGatherAlgorithm {
  /** Its name. */
  readonly name: AllGatherName;
  /** The whole call on one endpoint, lanes one after another (the threaded cluster's way). */
  readonly run: AllGather;
  /**
   * Outbox space for communicators of up to `size` ranks and blocks of `blockValues` values.
   * @param size ranks
   * @param blockValues values per block
   * @returns slots and values per slot
   */
  space(size: number, blockValues: number): SlotNeeds;
  /**
   * How many independent lanes a call among `size` ranks has (see algorithms/lanes.ts).
   * @param size communicator size
   * @returns lane count (>= 1)
   */
  lanes(size: number): number;
  /**
   * Lane `index` of the call.
   * @param t the lane's endpoint
   * @param blocks every rank's block, in rank order
   * @param blockValues values per block
   * @param index lane index
   * @returns the lane's program
   */
  lane(t: Endpoint, blocks: Float64Array, blockValues: number, index: number): Program;
}

/** The all-gathers there are. */
export type AllGatherName = 'ring' | 'direct';
/** Every all-gather, in table order. */
export const ALL_GATHER_NAMES: readonly AllGatherName[] = ['ring', 'direct'];

const mod = (a: number, m: number) => ((a % m) + m) % m;
const SLOTS_PER_RING = 32;

/**
 * One ring all-gather of values [from, to) of every block along `order`, tags from `tagBase`.
 * @param t the endpoint
 * @param blocks every rank's block, in rank order
 * @param blockValues values per block
 * @param order position -> rank
 * @param from first value of the part within a block
 * @param to end of the part within a block
 * @param tagBase first tag (it uses size - 1)
 * @returns the ring's program
 */
export function* ringAllGatherOver(
  t: Endpoint,
  blocks: Float64Array,
  blockValues: number,
  order: readonly number[],
  from: number,
  to: number,
  tagBase: number,
): Program {
  const size = order.length;
  if (size === 1) return;
  const pos = order.indexOf(t.rank);
  const next = [order[mod(pos + 1, size)]];
  const prev = order[mod(pos - 1, size)];
  const owner = (p: number) => order[mod(p, size)] * blockValues;
  for (let s = 0; s < size - 1; s++) {
    const sent = owner(pos - s);
    while (!t.post(tagBase + s, blocks, sent + from, sent + to, next)) yield t.pending;
    const got = owner(pos - s - 1);
    while (!t.recv(prev, tagBase + s, blocks, got + from, got + to)) yield t.pending;
  }
}

/**
 * The ring all-gather over `channels` rings on nodes of `nodeSize` ranks.
 * @param channels rings (>= 1)
 * @param nodeSize ranks per node (>= 1)
 * @returns the algorithm
 */
export function ringAllGather(channels: number, nodeSize: number): AllGatherAlgorithm {
  const algorithm: AllGatherAlgorithm = {
    name: 'ring',
    space: (size, blockValues) => ({
      slots: Math.max(1, Math.min(channels * (size - 1), channels * SLOTS_PER_RING)),
      slotValues: Math.max(1, Math.ceil(blockValues / channels)),
    }),
    lanes: () => channels,
    lane: (t, blocks, blockValues, index) =>
      ringAllGatherOver(
        t,
        blocks,
        blockValues,
        ringOrder(t.size, nodeSize, index),
        partStart(index, blockValues, channels),
        partStart(index + 1, blockValues, channels),
        index * (t.size - 1),
      ),
    *run(t, blocks, blockValues) {
      for (let i = 0; i < channels; i++) yield* algorithm.lane(t, blocks, blockValues, i);
    },
  };
  return algorithm;
}

/** Every rank posts its block to all others once and reads theirs in rank order. */
export const directAllGather: AllGatherAlgorithm = {
  name: 'direct',
  space: (_size, blockValues) => ({ slots: 1, slotValues: Math.max(1, blockValues) }),
  lanes: () => 1,
  lane: (t, blocks, blockValues) => directAllGather.run(t, blocks, blockValues),
  *run(t, blocks, blockValues) {
    const { rank, size } = t;
    if (size === 1) return;
    const others: number[] = [];
    for (let r = 0; r < size; r++) if (r !== rank) others.push(r);
    while (!t.post(0, blocks, rank * blockValues, (rank + 1) * blockValues, others)) yield t.pending;
    for (const r of others) while (!t.recv(r, 0, blocks, r * blockValues, (r + 1) * blockValues)) yield t.pending;
  },
};
