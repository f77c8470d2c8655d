/**
 * Reduce to rank 0, which merges in rank order and broadcasts the result: the from-scratch
 * multi-GPU recipe. Two rounds; rank 0 receives W-1 messages and sends W-1.
 */
import type { AllReduceAlgorithm } from './types.js';

const GATHER = 0;
const BROADCAST = 1;

/** Reduce to rank 0, then broadcast (see the module comment): two rounds, 2(W-1) messages. */
export const central: AllReduceAlgorithm = {
  name: 'central',
  space: (_size, length) => ({ slots: 2, slotValues: length }),
  *run(t, data, reducer) {
    if (t.size === 1) return;
    const n = data.length;
    if (t.rank !== 0) {
      while (!t.post(GATHER, data, 0, n, [0])) yield t.pending;
      while (!t.recv(0, BROADCAST, data, 0, n)) yield t.pending;
      return;
    }
    const incoming = t.scratch(0, n);
    for (let r = 1; r < t.size; r++) {
      while (!t.recv(r, GATHER, incoming, 0, n)) yield t.pending;
      reducer.combine(data, incoming, data, 0, n);
    }
    const everyoneElse = Array.from({ length: t.size - 1 }, (_, i) => i + 1);
    while (!t.post(BROADCAST, data, 0, n, everyoneElse)) yield t.pending;
  },
};
