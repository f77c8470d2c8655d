/**
 * Binomial tree: reduce to rank 0 in ceil(log2 W) rounds, then broadcast down the same tree.
 * In the reduce, rank r holds ranks [r, r + mask) and receives [r + mask, r + 2 mask): merging
 * mine (+) received keeps rank order. Each rank sends once going up and once going down.
 */
import type { AllReduceAlgorithm } from './types.js';

const UP = 0;
const DOWN = 1;

/** The lowest set bit of r, or the first power of two >= size for the root. */
function span(rank: number, size: number): number {
  if (rank === 0) {
    let p = 1;
    while (p < size) p <<= 1;
    return p;
  }
  return rank & -rank;
}

/** Binomial-tree reduce to rank 0, then broadcast down the same tree (see the module comment). */
export const tree: AllReduceAlgorithm = {
  name: 'tree',
  space: (_size, length) => ({ slots: 2, slotValues: length }),
  *run(t, data, reducer) {
    if (t.size === 1) return;
    const n = data.length;
    const { rank, size } = t;
    const incoming = t.scratch(0, n);
    const mySpan = span(rank, size);
    const children: number[] = [];
    for (let mask = 1; mask < mySpan; mask <<= 1) {
      if (rank + mask >= size) continue;
      children.push(rank + mask);
      while (!t.recv(rank + mask, UP, incoming, 0, n)) yield t.pending;
      reducer.combine(data, incoming, data, 0, n);
    }
    if (rank !== 0) {
      const parent = rank - mySpan;
      while (!t.post(UP, data, 0, n, [parent])) yield t.pending;
      while (!t.recv(parent, DOWN, data, 0, n)) yield t.pending;
    }
    if (children.length > 0) while (!t.post(DOWN, data, 0, n, children)) yield t.pending;
  },
};
