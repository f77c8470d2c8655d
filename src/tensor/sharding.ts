/** Splitting a batch of N rows over W devices as numpy.array_split does. */
import { checkWhole } from '../args.js';

/** Rows [start, end) of device `rank`: the first N mod W devices get one row more. */
export function shardRows(rows: number, devices: number, rank: number): [number, number] {
  checkWhole('rows', rows);
  checkWhole('devices', devices, 1);
  checkWhole('rank', rank, 0, devices - 1);
  const base = Math.floor(rows / devices);
  const extra = rows % devices;
  const start = rank * base + Math.min(rank, extra);
  return [start, start + base + (rank < extra ? 1 : 0)];
}

/** Consecutive chunks of `size` rows covering [0, rows); the last may be smaller. */
export function ghostChunks(rows: number, size: number): [number, number][] {
  checkWhole('rows', rows);
  checkWhole('size', size, 1);
  const chunks: [number, number][] = [];
  for (let start = 0; start < rows; start += size) chunks.push([start, Math.min(rows, start + size)]);
  return chunks;
}
