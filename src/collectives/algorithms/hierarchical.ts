/**
 * Hierarchical all-reduce: reduce inside each node, all-reduce between the nodes, broadcast
 * inside each node (the two-level scheme of Horovod's hierarchical all-reduce and of BlueConnect,
 * Cho et al., SysML 2019). A node is a run of `nodeSize` consecutive ranks (the last one may be
 * smaller); its first rank is the node's leader.
 *
 *   1. binomial reduce to the leader, over the links inside the node (rank order kept: a rank
 *      merges mine (+) the block above it, as in tree.ts);
 *   2. recursive doubling among the leaders (recursive-doubling.ts, on a view of the leaders as
 *      ranks 0..nodes-1): log2 of the node count rounds over the network, one message per node;
 *   3. binomial broadcast from the leader down the same tree as in 1.
 *
 * Only leaders cross the network, one message per node and round, so a node's network cards are
 * never shared; the price is 2 log2(nodeSize) hops inside the node that a flat algorithm avoids.
 * Merge order is a function of the rank count and node size only.
 */
import type { Endpoint, Wait } from '../endpoint.js';
import { recursiveDoubling } from './recursive-doubling.js';
import type { AllReduceAlgorithm } from './types.js';

const UP = 0;
const DOWN = 1;
/** Tags from here on belong to the leaders' recursive doubling. */
const BETWEEN_NODES = 2;

/** The node size of the registry's `hierarchical`: eight GPUs, as in DGX-class nodes. */
export const DEFAULT_NODE_SIZE = 8;

/** The lowest set bit of r, or the first power of two >= size for r = 0. */
function span(r: number, size: number): number {
  if (r === 0) {
    let p = 1;
    while (p < size) p <<= 1;
    return p;
  }
  return r & -r;
}

/**
 * Ranks first + i * stride of a parent endpoint, seen as ranks 0..size-1 with their own tags
 * (offset by `tagBase`). It hands every call to the parent: what the view sends is the parent's.
 */
class StridedView implements Endpoint {
  private readonly map: number[];
  private readonly to: number[] = [];
  constructor(
    private readonly parent: Endpoint,
    readonly rank: number,
    readonly size: number,
    stride: number,
    private readonly tagBase: number,
  ) {
    this.map = Array.from({ length: size }, (_, i) => i * stride);
  }
  get pending(): Wait {
    return this.parent.pending;
  }
  post(tag: number, data: Float64Array, start: number, end: number, to: readonly number[]): boolean {
    this.to.length = to.length;
    for (let k = 0; k < to.length; k++) this.to[k] = this.map[to[k]];
    return this.parent.post(this.tagBase + tag, data, start, end, this.to);
  }
  recv(from: number, tag: number, out: Float64Array, start: number, end: number): boolean {
    return this.parent.recv(this.map[from], this.tagBase + tag, out, start, end);
  }
  scratch(index: number, length: number): Float64Array {
    return this.parent.scratch(index, length);
  }
}

/**
 * The hierarchical all-reduce for nodes of `nodeSize` consecutive ranks.
 * @param nodeSize ranks per node (>= 1)
 * @returns the algorithm, named 'hierarchical'
 */
export function hierarchicalFor(nodeSize: number): AllReduceAlgorithm {
  const G = nodeSize;
  return {
    name: 'hierarchical',
    space: (size, length, width) => {
      const between = recursiveDoubling.space(Math.ceil(size / G), length, width);
      return { slots: BETWEEN_NODES + between.slots, slotValues: Math.max(length, between.slotValues) };
    },
    *run(t, data, reducer) {
      const { rank, size } = t;
      if (size === 1) return;
      const n = data.length;
      const node = Math.floor(rank / G);
      const first = node * G;
      const local = rank - first;
      const members = Math.min(G, size - first);
      const nodes = Math.ceil(size / G);
      const incoming = t.scratch(0, n);
      const mySpan = span(local, members);
      const children: number[] = [];
      for (let mask = 1; mask < mySpan && local + mask < members; mask <<= 1) {
        children.push(first + local + mask);
        while (!t.recv(first + local + mask, UP, incoming, 0, n)) yield t.pending;
        reducer.combine(data, incoming, data, 0, n);
      }
      const parent = local === 0 ? -1 : first + local - mySpan;
      if (parent >= 0) {
        while (!t.post(UP, data, 0, n, [parent])) yield t.pending;
        while (!t.recv(parent, DOWN, data, 0, n)) yield t.pending;
      } else if (nodes > 1) {
        yield* recursiveDoubling.run(new StridedView(t, node, nodes, G, BETWEEN_NODES), data, reducer);
      }
      if (children.length > 0) while (!t.post(DOWN, data, 0, n, children)) yield t.pending;
    },
  };
}

/** Hierarchical all-reduce over nodes of eight ranks. */
export const hierarchical: AllReduceAlgorithm = hierarchicalFor(DEFAULT_NODE_SIZE);
