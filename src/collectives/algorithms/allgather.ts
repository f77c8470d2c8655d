/**
 * Allgather then merge, as PyTorch's SyncBatchNorm does: every rank publishes its partials once,
 * gathers everyone's, and merges them in rank order. One round; each rank sends its vector to the
 * W-1 others.
 */
import type { AllReduceAlgorithm } from './types.js';

export const allgather: AllReduceAlgorithm = {
  name: 'allgather',
  space: (_size, length) => ({ slots: 1, slotValues: length }),
  *run(t, data, reducer) {
    if (t.size === 1) return;
    const n = data.length;
    const others = Array.from({ length: t.size - 1 }, (_, i) => (i < t.rank ? i : i + 1));
    while (!t.post(0, data, 0, n, others)) yield t.pending;
    const mine = data.slice();
    const other = new Float64Array(n);
    for (let r = 0; r < t.size; r++) {
      const incoming = r === t.rank ? mine : other;
      if (r !== t.rank) while (!t.recv(r, 0, other, 0, n)) yield t.pending;
      if (r === 0) data.set(incoming);
      else reducer.combine(data, incoming, data, 0, n);
    }
  },
};
