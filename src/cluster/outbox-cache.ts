/**
 * The outboxes of a cluster: one per algorithm, communicator size and channel count (a benchmark
 * gets its own per vector length), each with its own epochs, allocated on first use.
 */
import type { BnMode } from '../bn/modes.js';
import { bnOutboxGeometry, vectorOutboxGeometry } from '../collectives/all-reduce.js';
import { type AlgorithmName, algorithmByName } from '../collectives/algorithms/index.js';
import { type OutboxBuffer, allocateOutbox } from '../collectives/outbox.js';

/** A cluster's outboxes, allocated on first use and kept for its later steps. */
export class OutboxCache {
  private readonly outboxes = new Map<string, OutboxBuffer>();

  /** @param devices - W, the devices every outbox spans */
  constructor(private readonly devices: number) {}

  /**
   * The outbox of a BN step with `channels` channels, or of a benchmark of vectors of `length`.
   *
   * @param algorithm - the all-reduce algorithm.
   * @param mode - the BN mode (group:K all-reduces among K ranks, sync among all).
   * @param channels - C of the step.
   * @param length - for a benchmark: the vector length.
   * @returns the outbox, the same one for the same key.
   */
  outboxFor(algorithm: AlgorithmName, mode: BnMode, channels: number, length?: number): OutboxBuffer {
    const size = mode.kind === 'group' ? mode.size : this.devices;
    const key = length === undefined ? `${algorithm}/${size}/${channels}` : `bench/${algorithm}/${size}/${length}`;
    let outbox = this.outboxes.get(key);
    if (!outbox) {
      const impl = algorithmByName(algorithm);
      outbox = allocateOutbox(
        length === undefined
          ? bnOutboxGeometry(impl, this.devices, size, channels)
          : vectorOutboxGeometry(impl, this.devices, size, length),
      );
      this.outboxes.set(key, outbox);
    }
    return outbox;
  }
}
