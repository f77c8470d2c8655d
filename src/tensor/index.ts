/**
 * `syncbn-sim/tensor`: seeded synthetic data and how a batch is split over devices.
 *
 * The tensor types themselves (`Tensor`, `FloatArray`, `DType`, `ChannelLayout`) and the .npy
 * reader and writer are in the main entry, `syncbn-sim`.
 *
 * @example
 * ```ts
 * import { shardRows, syntheticBatch } from 'syncbn-sim/tensor';
 *
 * const x = syntheticBatch([10, 4, 3, 3], 42); // [N, C, H, W] float32, the same for the same seed
 * shardRows(10, 4, 0); // [0, 3]: rank 0 of 4 devices holds rows 0, 1, 2 (numpy.array_split)
 * ```
 *
 * @module syncbn-sim/tensor
 */

export { SeededRandom } from './random.js';
export { syntheticBatch, syntheticGradient } from './synthetic.js';
export { ghostChunks, shardRows } from './sharding.js';
