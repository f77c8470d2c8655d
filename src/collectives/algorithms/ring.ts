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

/** Outbox slots per rank: how many steps a sender may run ahead of the next rank. */
const RING_SLOTS = 32;

/** Ring all-reduce, reduce-scatter then all-gather (see the module comment): 2(W-1) steps of about n/W values. */
export const ring: AllReduceAlgorithm = {
  name: 'ring',
  // Every message goes to the next rank, which reads them in order, so any number of slots is
  // correct (2(W-1) tags share them). More slots let a sender run further ahead of its reader:
  // when devices share threads, a thread can then work through many steps between two waits on
  // another thread instead of meeting it at every step.
  space: (size, length, width) => ({
    slots: Math.max(1, Math.min(2 * (size - 1), RING_SLOTS)),
    slotValues: Math.ceil(length / width / Math.max(size, 1)) * width,
  }),
  *run(t, data, reducer) {
    const { rank, size } = t;
    if (size === 1) return;
    const w = reducer.width;
    const records = data.length / w;
    const next = [mod(rank + 1, size)];
    const prev = mod(rank - 1, size);
    const incoming = t.scratch(0, data.length);
    for (let s = 0; s < size - 1; s++) {
      const send = mod(rank - s, size);
      while (!t.post(s, data, chunkStart(send, records, size, w), chunkStart(send + 1, records, size, w), next))
        yield t.pending;
      const fold = mod(rank - s - 1, size);
      while (!t.recv(prev, s, incoming, chunkStart(fold, records, size, w), chunkStart(fold + 1, records, size, w)))
        yield t.pending;
      // The received side has folded in ranks before this one around the ring.
      reducer.combine(incoming, data, data, chunkStart(fold, records, size, w), chunkStart(fold + 1, records, size, w));
    }
    for (let s = 0; s < size - 1; s++) {
      const tag = size - 1 + s;
      const send = mod(rank + 1 - s, size);
      while (!t.post(tag, data, chunkStart(send, records, size, w), chunkStart(send + 1, records, size, w), next))
        yield t.pending;
      const take = mod(rank - s, size);
      while (!t.recv(prev, tag, data, chunkStart(take, records, size, w), chunkStart(take + 1, records, size, w)))
        yield t.pending;
    }
  },
};
