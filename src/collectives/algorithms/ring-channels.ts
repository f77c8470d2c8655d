/**
 * Ring all-reduce on several channels, as NCCL runs it between nodes: the vector is cut in
 * `channels` parts (on record boundaries) and part j goes round ring j, a lane of its own
 * (lanes.ts). Every ring visits the nodes (runs of `nodeSize` consecutive ranks) in order, but
 * ring j enters each node at its local rank j and leaves it from local rank j-1: the rings cross
 * the network from different GPUs, so together they use every network card of a node, where one
 * ring uses a single GPU's card. With one channel it is ring.ts's ring, step for step and tag for
 * tag.
 *
 * Each ring is ring.ts's reduce-scatter then all-gather on its own order of ranks (the received
 * side, holding the ranks before this one around the ring, is merged first). Merge order is a
 * function of the rank count, node size and channel count only.
 */
import type { Endpoint, Program } from '../endpoint.js';
import type { Reducer } from '../reducers.js';
import { type LanedAllReduce, lanesInTurn } from './lanes.js';

/**
 * Where part i of `records` records cut into `parts` starts (the first records % parts parts get
 * one more, as numpy.array_split).
 * @param i - part index (parts gives the end).
 * @param records - records in all.
 * @param parts - parts.
 * @returns the start, in records.
 */
export function partStart(i: number, records: number, parts: number): number {
  const base = Math.floor(records / parts);
  return i * base + Math.min(i, records % parts);
}

const mod = (a: number, m: number) => ((a % m) + m) % m;

/** Outbox slots per ring (as ring.ts): how far a sender may run ahead of its reader. */
const SLOTS_PER_RING = 32;

/**
 * The rank at each position of ring `channel`: nodes in order, each entered at local rank
 * `channel` (modulo the node's size).
 * @param size ranks in the communicator
 * @param nodeSize ranks per node
 * @param channel ring index
 * @returns position -> rank
 */
export function ringOrder(size: number, nodeSize: number, channel: number): number[] {
  const order: number[] = [];
  for (let first = 0; first < size; first += nodeSize) {
    const members = Math.min(nodeSize, size - first);
    for (let k = 0; k < members; k++) order.push(first + ((channel + k) % members));
  }
  return order;
}

/**
 * One ring all-reduce of records [from, to) of `data` along `order`, tags from `tagBase`.
 * @param t the endpoint
 * @param data the vector
 * @param reducer how values combine
 * @param order position -> rank
 * @param from first record of the part
 * @param to end record of the part
 * @param tagBase first tag of this ring (it uses 2(size - 1))
 * @returns the ring's program
 */
export function* ringOver(
  t: Endpoint,
  data: Float64Array,
  reducer: Reducer,
  order: readonly number[],
  from: number,
  to: number,
  tagBase: number,
): Program {
  const size = order.length;
  if (size === 1) return;
  const w = reducer.width;
  const records = to - from;
  const pos = order.indexOf(t.rank);
  const next = [order[mod(pos + 1, size)]];
  const prev = order[mod(pos - 1, size)];
  const start = (i: number) => (from + partStart(mod(i, size), records, size)) * w;
  const end = (i: number) => (from + partStart(mod(i, size) + 1, records, size)) * w;
  const incoming = t.scratch(0, data.length);
  for (let s = 0; s < size - 1; s++) {
    while (!t.post(tagBase + s, data, start(pos - s), end(pos - s), next)) yield t.pending;
    const fold = pos - s - 1;
    while (!t.recv(prev, tagBase + s, incoming, start(fold), end(fold))) yield t.pending;
    reducer.combine(incoming, data, data, start(fold), end(fold));
  }
  for (let s = 0; s < size - 1; s++) {
    const tag = tagBase + size - 1 + s;
    while (!t.post(tag, data, start(pos + 1 - s), end(pos + 1 - s), next)) yield t.pending;
    while (!t.recv(prev, tag, data, start(pos - s), end(pos - s))) yield t.pending;
  }
}

/**
 * The ring all-reduce on `channels` rings over nodes of `nodeSize` ranks.
 * @param channels rings (>= 1)
 * @param nodeSize ranks per node (>= 1)
 * @returns the laned algorithm, named 'ring'
 */
export function ringChannels(channels: number, nodeSize: number): LanedAllReduce {
  const algorithm: LanedAllReduce = {
    name: 'ring',
    space: (size, length, width) => ({
      slots: Math.max(1, Math.min(channels * 2 * (size - 1), channels * SLOTS_PER_RING)),
      slotValues: Math.ceil(Math.ceil(length / width / channels) / Math.max(size, 1)) * width,
    }),
    lanes: () => channels,
    lane(t, data, reducer, index) {
      const records = data.length / reducer.width;
      const order = ringOrder(t.size, nodeSize, index);
      return ringOver(
        t,
        data,
        reducer,
        order,
        partStart(index, records, channels),
        partStart(index + 1, records, channels),
        index * 2 * (t.size - 1),
      );
    },
    run: (t, data, reducer) => lanesInTurn(algorithm, t, data, reducer),
  };
  return algorithm;
}
