/**
 * Single-device references for every BN mode, built from the plain operator: a mode is a way of
 * cutting the batch into blocks of rows that are each normalized on their own.
 */
import { type BatchNormOptions, batchNorm } from '../src/bn/batch-norm.js';
import { type BnMode, syncGroup } from '../src/bn/modes.js';
import { ghostChunks, shardRows } from '../src/tensor/sharding.js';
import type { FloatArray, Tensor } from '../src/tensor/tensor.js';

/** The blocks of rows each rank normalizes with, in order. */
export function blocksOfRank(mode: BnMode, rows: number, devices: number, rank: number): [number, number][] {
  const [s, e] = shardRows(rows, devices, rank);
  if (mode.kind === 'local') return [[s, e]];
  if (mode.kind === 'ghost') return ghostChunks(e - s, mode.size).map(([a, b]) => [s + a, s + b]);
  const group = syncGroup(mode, rank, devices)!;
  return [[shardRows(rows, devices, group.first)[0], shardRows(rows, devices, group.first + group.size - 1)[1]]];
}

function rowsOf(t: Tensor, start: number, end: number): Tensor {
  const rowSize = t.data.length / t.shape[0];
  return { data: t.data.slice(start * rowSize, end * rowSize), shape: [end - start, ...t.shape.slice(1)] };
}

export interface ModeReference {
  output: FloatArray;
  gradInput?: FloatArray;
  gradWeight?: Float64Array;
  gradBias?: Float64Array;
  running: { mean: Float64Array; var: Float64Array }[];
}

/** `running[r]` holds rank r's running statistics before the step (default 0 and 1). */
export function referenceFor(
  mode: BnMode,
  x: Tensor,
  devices: number,
  options: BatchNormOptions,
  runningBefore: readonly { mean: ArrayLike<number>; var: ArrayLike<number> }[] = [],
): ModeReference {
  const rows = x.shape[0];
  const rowSize = x.data.length / rows;
  const C = x.shape[1];
  const output = x.data.slice();
  const gradInput = options.gradOutput ? x.data.slice() : undefined;
  const gradWeight = new Float64Array(C);
  const gradBias = new Float64Array(C);
  const running: ModeReference['running'] = [];
  for (let rank = 0; rank < devices; rank++) {
    let rm = Float64Array.from(runningBefore[rank]?.mean ?? new Float64Array(C));
    let rv = Float64Array.from(runningBefore[rank]?.var ?? new Float64Array(C).fill(1));
    const [s, e] = shardRows(rows, devices, rank);
    for (const [a, b] of blocksOfRank(mode, rows, devices, rank)) {
      if (b === a) continue;
      const r = batchNorm(rowsOf(x, a, b), {
        ...options,
        runningMean: rm,
        runningVar: rv,
        gradOutput: options.gradOutput ? rowsOf(options.gradOutput, a, b) : undefined,
      });
      if (options.training !== false) {
        rm = Float64Array.from(r.runningMean);
        rv = Float64Array.from(r.runningVar);
      }
      // Only this rank's own rows of the block are its output.
      const from = Math.max(a, s);
      const to = Math.min(b, e);
      output.set(r.output.data.subarray((from - a) * rowSize, (to - a) * rowSize), from * rowSize);
      gradInput?.set(r.gradInput!.data.subarray((from - a) * rowSize, (to - a) * rowSize), from * rowSize);
      if (
        r.gradWeight &&
        (mode.kind === 'local' || mode.kind === 'ghost' || rank === syncGroup(mode, rank, devices)!.first)
      ) {
        for (let c = 0; c < C; c++) {
          gradWeight[c] += r.gradWeight[c];
          gradBias[c] += r.gradBias![c];
        }
      }
    }
    running.push({ mean: rm, var: rv });
  }
  return { output, gradInput, gradWeight, gradBias, running };
}
