/**
 * Recursive doubling: in round k, rank r swaps its whole vector with r XOR 2^k and both merge,
 * lower ranks' side first, so partners compute the same bits. log2 W rounds for a power of two.
 * Otherwise, with p the largest power of two <= W, rank p + i first folds its vector into rank i,
 * the p lower ranks run the rounds, and rank i sends the result back to rank p + i.
 */
import type { AllReduceAlgorithm } from './types.js';

const FOLD = 0;
const UNFOLD = 1;
const FIRST_ROUND = 2;

function largestPowerOfTwoAtMost(size: number): number {
  let p = 1;
  while (p * 2 <= size) p *= 2;
  return p;
}

/** Recursive doubling (see the module comment): log2 W rounds for a power of two. */
export const recursiveDoubling: AllReduceAlgorithm = {
  name: 'recursive-doubling',
  // One slot per tag: a rank's rounds go to different partners, each read once.
  space: (size, length) => ({ slots: FIRST_ROUND + Math.ceil(Math.log2(Math.max(size, 2))), slotValues: length }),
  *run(t, data, reducer) {
    if (t.size === 1) return;
    const n = data.length;
    const { rank, size } = t;
    const p = largestPowerOfTwoAtMost(size);
    if (rank >= p) {
      while (!t.post(FOLD, data, 0, n, [rank - p])) yield t.pending;
      while (!t.recv(rank - p, UNFOLD, data, 0, n)) yield t.pending;
      return;
    }
    const incoming = t.scratch(0, n);
    if (rank + p < size) {
      while (!t.recv(rank + p, FOLD, incoming, 0, n)) yield t.pending;
      reducer.combine(data, incoming, data, 0, n);
    }
    for (let mask = 1, round = FIRST_ROUND; mask < p; mask <<= 1, round++) {
      const partner = rank ^ mask;
      while (!t.post(round, data, 0, n, [partner])) yield t.pending;
      while (!t.recv(partner, round, incoming, 0, n)) yield t.pending;
      if (rank < partner) reducer.combine(data, incoming, data, 0, n);
      else reducer.combine(incoming, data, data, 0, n);
    }
    if (rank + p < size) while (!t.post(UNFOLD, data, 0, n, [rank + p])) yield t.pending;
  },
};
