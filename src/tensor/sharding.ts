/** Splitting a batch of N rows over W devices as numpy.array_split does. */
import { checkWhole } from '../args.js';

/**
 * Rows [start, end) of device `rank`: the first N mod W devices get one row more.
 *
 * @param rows - N, the batch's rows.
 * @param devices - W, >= 1.
 * @param rank - the device, 0 to W-1.
 * @returns [start, end) of its rows (empty when N < W and rank >= N).
 * @throws {@link syncbn-sim!InputError} when an argument is unusable (the message names it).
 * @example
 * ```ts
 * shardRows(10, 4, 0); // [0, 3]
 * shardRows(10, 4, 3); // [8, 10]
 * ```
 */
export function shardRows(rows: number, devices: number, rank: number): [number, number] {
  checkWhole('rows', rows);
  checkWhole('devices', devices, 1);
  checkWhole('rank', rank, 0, devices - 1);
  const base = Math.floor(rows / devices);
  const extra = rows % devices;
  const start = rank * base + Math.min(rank, extra);
  return [start, start + base + (rank < extra ? 1 : 0)];
}

/**
 * Consecutive chunks of `size` rows covering [0, rows); the last may be smaller.
 *
 * @param rows - rows of the shard.
 * @param size - G, rows per chunk, >= 1.
 * @returns [start, end) of each chunk.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable (the message names it).
 * @example
 * ```ts
 * ghostChunks(5, 2); // [[0, 2], [2, 4], [4, 5]]
 * ```
 */
export function ghostChunks(rows: number, size: number): [number, number][] {
  checkWhole('rows', rows);
  checkWhole('size', size, 1);
  const chunks: [number, number][] = [];
  for (let start = 0; start < rows; start += size) chunks.push([start, Math.min(rows, start + size)]);
  return chunks;
}
