import type { Reducer } from '../reducers.js';
import type { Transport } from '../transport.js';

/**
 * An all-reduce: on return, `data` on every rank of the communicator holds the combination of all
 * ranks' inputs, bitwise the same everywhere and from run to run (the combination order is fixed
 * by the algorithm, never by thread timing).
 */
export type AllReduce = (t: Transport, data: Float64Array, reducer: Reducer) => void;

/** Outbox space an algorithm needs: tags per collective and values per message. */
export interface SlotNeeds {
  readonly tags: number;
  readonly slotValues: number;
}

export interface AllReduceAlgorithm {
  readonly name: string;
  readonly run: AllReduce;
  /** Space for communicators of up to `size` ranks and vectors of `length` values in records of `width`. */
  slots(size: number, length: number, width: number): SlotNeeds;
}
