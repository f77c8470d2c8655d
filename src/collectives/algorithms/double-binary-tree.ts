/**
 * Double binary tree (Sanders, Speck and Träff, "Two-tree algorithms for full bandwidth broadcast,
 * reduction and scan", Parallel Computing 35(12), 2009), the tree NCCL runs between nodes (its
 * src/graph/trees.cc). The vector is cut in two halves on record boundaries; half 0 is reduced up
 * tree 0 to its root and broadcast back down, half 1 likewise on tree 1, both at once.
 *
 * Tree 0 is an in-order binary tree on labels 0..n-1: a label whose lowest set bit is 2^k sits at
 * level k, its children are label -/+ 2^(k-1) (the upper one moved down to the largest power of
 * two that stays below n), and label 0 is the root above the largest power of two below n. Tree 1
 * is the same tree on relabelled ranks: mirrored (rank n-1-label) when n is even, shifted by one
 * (rank label+1 mod n) when n is odd. Leaves of one tree are the inner nodes of the other (but for
 * rank 0 when n is odd), so every rank sends about one half up and two halves down in all.
 *
 * Merge order: a node combines its lower-label child, then itself, then its upper-label child, so
 * every half is reduced in label order; the root's result is broadcast, so every rank ends with
 * the same bits. The two trees are independent lanes (lanes.ts), as NCCL runs them on two
 * channels: the threaded cluster runs tree 0 then tree 1, the timeline runs them side by side.
 */
import type { Endpoint, Program } from '../endpoint.js';
import type { Reducer } from '../reducers.js';
import { type LanedAllReduce, lanesInTurn } from './lanes.js';

const UP = 0;
const DOWN = 2;

/**
 * Parent and children of a label in the in-order binary tree of `n` labels.
 * @param n - labels in the tree.
 * @param label - the label, 0 <= label < n.
 * @returns its parent (-1 for the root) and its children, ascending.
 */
export function binaryTreeLinks(n: number, label: number): { parent: number; children: number[] } {
  if (label === 0) {
    let top = 1;
    while (top < n) top <<= 1;
    return { parent: -1, children: n > 1 ? [top >> 1] : [] };
  }
  const bit = label & -label;
  let parent = (label ^ bit) | (bit << 1);
  if (parent >= n) parent = label ^ bit;
  const children: number[] = [];
  let half = bit >> 1;
  if (half > 0) {
    children.push(label - half);
    while (half > 0 && label + half >= n) half >>= 1;
    if (half > 0) children.push(label + half);
  }
  return { parent, children };
}

/**
 * The label a rank holds in one tree of the pair.
 * @param tree - 0 or 1.
 * @param n - ranks.
 * @param rank - the rank.
 * @returns its label.
 */
export function treeLabel(tree: number, n: number, rank: number): number {
  if (tree === 0) return rank;
  return n % 2 === 0 ? n - 1 - rank : (rank - 1 + n) % n;
}

/**
 * The rank holding a label in one tree of the pair.
 * @param tree - 0 or 1.
 * @param n - ranks.
 * @param label - the label.
 * @returns the rank.
 */
export function treeRank(tree: number, n: number, label: number): number {
  if (tree === 0) return label;
  return n % 2 === 0 ? n - 1 - label : (label + 1) % n;
}

/**
 * The half of a vector one tree carries.
 * @param tree - 0 or 1.
 * @param records - records in the vector.
 * @param width - values per record.
 * @returns where the half starts and ends, in values.
 */
export function halfRange(tree: number, records: number, width: number): [number, number] {
  const cut = Math.ceil(records / 2) * width;
  return tree === 0 ? [0, cut] : [cut, records * width];
}

/**
 * One tree of the pair: half `tree` of `data` reduced up the tree and broadcast down it.
 * @param t the endpoint
 * @param data the vector
 * @param reducer how values combine
 * @param tree 0 or 1
 * @returns the tree's program
 */
export function* binaryTreeAllReduce(t: Endpoint, data: Float64Array, reducer: Reducer, tree: number): Program {
  const n = t.size;
  if (n === 1) return;
  const [from, to] = halfRange(tree, data.length / reducer.width, reducer.width);
  const label = treeLabel(tree, n, t.rank);
  const links = binaryTreeLinks(n, label);
  const parent = links.parent < 0 ? -1 : treeRank(tree, n, links.parent);
  const incoming = t.scratch(0, data.length);
  for (const child of links.children) {
    while (!t.recv(treeRank(tree, n, child), UP + tree, incoming, from, to)) yield t.pending;
    if (child < label) reducer.combine(incoming, data, data, from, to);
    else reducer.combine(data, incoming, data, from, to);
  }
  if (parent >= 0) {
    while (!t.post(UP + tree, data, from, to, [parent])) yield t.pending;
    while (!t.recv(parent, DOWN + tree, data, from, to)) yield t.pending;
  }
  if (links.children.length > 0) {
    const children = links.children.map((c) => treeRank(tree, n, c));
    while (!t.post(DOWN + tree, data, from, to, children)) yield t.pending;
  }
}

/** The double binary tree all-reduce: two lanes, one per tree. */
export const doubleBinaryTree: LanedAllReduce = {
  name: 'double-binary-tree',
  // One slot per tag (two up, two down); every message is read once by one parent or child list.
  space: (_size, length, width) => ({ slots: 4, slotValues: Math.ceil(length / width / 2) * width }),
  lanes: () => 2,
  lane: (t, data, reducer, index) => binaryTreeAllReduce(t, data, reducer, index),
  run: (t, data, reducer) => lanesInTurn(doubleBinaryTree, t, data, reducer),
};
