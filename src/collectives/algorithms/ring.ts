/**
 * Ring all-reduce: reduce-scatter, then all-gather. The vector is cut into W chunks on record
 * boundaries (as numpy.array_split cuts records). In step s of the reduce-scatter, rank r sends
 * chunk (r - s) mod W to r + 1 and folds chunk (r - s - 1) mod W from r - 1 into its own; after
 * W - 1 steps rank r owns the full chunk (r + 1) mod W, and W - 1 all-gather steps pass the
 * finished chunks round. 2(W - 1) messages of about n/W values per rank.
 */
import type { AllReduceAlgorithm } from './types.js';

/** Start of chunk i of `records` records cut into `parts`, in values. */
function chunkStart(i: number, records: number, parts: number, width: number): number {
  const base = Math.floor(records / parts);
  const extra = records % parts;
  return (i * base + Math.min(i, extra)) * width;
}

const mod = (a: number, m: number) => ((a % m) + m) % m;

export const ring: AllReduceAlgorithm = {
  name: 'ring',
  slots: (size, length, width) => ({
    tags: Math.max(2 * (size - 1), 1),
    slotValues: Math.ceil(length / width / Math.max(size, 1)) * width,
  }),
  run(t, data, reducer) {
    const { rank, size } = t;
    if (size === 1) return;
    const w = reducer.width;
    const records = data.length / w;
    const bounds = (i: number): [number, number] => [chunkStart(i, records, size, w), chunkStart(i + 1, records, size, w)];
    const prev = mod(rank - 1, size);
    const incoming = new Float64Array(data.length);
    for (let s = 0; s < size - 1; s++) {
      const [sendStart, sendEnd] = bounds(mod(rank - s, size));
      t.post(s, data, sendStart, sendEnd, 1);
      const [start, end] = bounds(mod(rank - s - 1, size));
      t.recv(prev, s, incoming, start, end);
      // The received side has folded in ranks before this one around the ring.
      reducer.combine(incoming, data, data, start, end);
    }
    for (let s = 0; s < size - 1; s++) {
      const tag = size - 1 + s;
      const [sendStart, sendEnd] = bounds(mod(rank + 1 - s, size));
      t.post(tag, data, sendStart, sendEnd, 1);
      const [start, end] = bounds(mod(rank - s, size));
      t.recv(prev, tag, data, start, end);
    }
  },
};
