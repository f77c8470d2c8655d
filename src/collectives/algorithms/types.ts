import type { Endpoint, Program } from '../endpoint.js';
import type { Reducer } from '../reducers.js';

/**
 * An all-reduce: when the program ends, `data` on every rank of the communicator holds the
 * combination of all ranks' inputs, bitwise the same everywhere and from run to run. The
 * combination order is fixed by the algorithm and the communicator size, never by thread timing
 * or by how devices are spread over threads.
 */
export type AllReduce = (t: Endpoint, data: Float64Array, reducer: Reducer) => Program;

/** Outbox space an algorithm needs per rank: slots (tags share them modulo) and values per message. */
export interface SlotNeeds {
  /** Outbox slots per rank. */
  readonly slots: number;
  /** Values one slot holds: the longest message. */
  readonly slotValues: number;
}

/** A named all-reduce algorithm and the outbox space it needs. */
export interface AllReduceAlgorithm {
  /** Its name (see AlgorithmName). */
  readonly name: string;
  /** One device's side of the all-reduce: a generator that pauses while it waits. */
  readonly run: AllReduce;
  /**
   * Space for communicators of up to `size` ranks and vectors of `length` values in records of
   * `width`.
   *
   * @param size - ranks in the communicator.
   * @param length - values in the vector.
   * @param width - values per record (the vector is split only between records).
   * @returns the outbox slots and slot size it needs.
   */
  space(size: number, length: number, width: number): SlotNeeds;
}
