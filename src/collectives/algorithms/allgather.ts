/**
 * Allgather then merge, as PyTorch's SyncBatchNorm does: every rank publishes its partials once,
 * gathers everyone's, and merges them in rank order. One round; each rank sends its vector to the
 * W-1 others.
 */
import type { AllReduceAlgorithm } from './types.js';

/** Allgather then merge in rank order (see the module comment): one round, W(W-1) messages of the whole vector. */
export const allgather: AllReduceAlgorithm = {
  name: 'allgather',
  space: (_size, length) => ({ slots: 1, slotValues: length }),
  *run(t, data, reducer) {
    if (t.size === 1) return;
    const n = data.length;
    const others: number[] = [];
    for (let r = 0; r < t.size; r++) if (r !== t.rank) others.push(r);
    while (!t.post(0, data, 0, n, others)) yield t.pending;
    const mine = t.scratch(0, n);
    for (let i = 0; i < n; i++) mine[i] = data[i];
    const other = t.scratch(1, n);
    for (let r = 0; r < t.size; r++) {
      const incoming = r === t.rank ? mine : other;
      if (r !== t.rank) while (!t.recv(r, 0, other, 0, n)) yield t.pending;
      if (r === 0) for (let i = 0; i < n; i++) data[i] = incoming[i];
      else reducer.combine(data, incoming, data, 0, n);
    }
  },
};
