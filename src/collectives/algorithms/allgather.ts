/**
 * Allgather then merge, as PyTorch's SyncBatchNorm does: every rank publishes its partials once,
 * gathers everyone's, and merges them in rank order. One round; each rank sends its vector to the
 * W-1 others.
 */
import type { AllReduceAlgorithm } from './types.js';

export const allgather: AllReduceAlgorithm = {
  name: 'allgather',
  slots: (_size, length) => ({ tags: 1, slotValues: length }),
  run(t, data, reducer) {
    if (t.size === 1) return;
    const n = data.length;
    t.post(0, data, 0, n, t.size - 1);
    const mine = data.slice();
    const other = new Float64Array(n);
    for (let r = 0; r < t.size; r++) {
      const incoming = r === t.rank ? mine : other;
      if (r !== t.rank) t.recv(r, 0, other, 0, n);
      if (r === 0) data.set(incoming);
      else reducer.combine(data, incoming, data, 0, n);
    }
  },
};
