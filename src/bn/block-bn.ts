/**
 * Batch norm of one device's block of rows in any mode: the single implementation behind both the
 * simulated devices of `run`/`compare` (src/cluster/device-programs.ts) and the BN layers of the
 * training experiments (src/nn). Pure apart from the all-reduce callback, which the caller wires
 * to the device's peers (or leaves out for local and ghost BN).
 */
import { gradInputEval, gradInputTrain, gradSums, type GradSums } from './backward.js';
import type { StatsMethod } from './batch-moments.js';
import type { Accumulator, Moments } from './moments.js';
import { inverseStd, normalize } from './normalize.js';
import { type RunningConvention, updateRunningStats } from './running-stats.js';
import { type Program, runWithoutPeers } from '../collectives/endpoint.js';
import { float64Sum } from '../collectives/reducers.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { type AllReduceFn, type DeviceMoments, deviceMoments } from './block-moments.js';
import type { BnMode } from './modes.js';
import { ghostChunks } from '../tensor/sharding.js';

/** How one device runs batch norm on its block: the mode, the statistics and the running-statistics rule. */
export interface DeviceBnSettings {
  /** local, sync, group:K or ghost:G. */
  readonly mode: BnMode;
  /** How partial statistics are computed and merged. */
  readonly stats: StatsMethod;
  /** Precision of the sums of 'sums' and 'shifted-sums'. */
  readonly accumulator: Accumulator;
  /** Train mode (batch statistics) or eval mode (running statistics). */
  readonly training: boolean;
  /** Running-statistics momentum, in [0, 1]. */
  readonly momentum: number;
  /** Added to the variance before the square root, > 0. */
  readonly eps: number;
  /** How the running statistics are updated. */
  readonly convention: RunningConvention;
}

/** Rows [start, end) of the device's block normalized with one mean and 1/std. */
export interface NormalizedBlock {
  /** First row of the block (in the device's shard). */
  readonly start: number;
  /** One past its last row. */
  readonly end: number;
  /** Values per channel of the statistics it was normalized with (global ones for sync BN). */
  readonly count: number;
  /** Mean per channel it was normalized with. */
  readonly mean: Float64Array;
  /** 1 / sqrt(var + eps) per channel it was normalized with. */
  readonly invStd: Float64Array;
}

/** What a device's forward pass leaves for its backward pass and its report. */
export interface DeviceBnForward {
  /** The block's own statistics (undefined in eval mode unless asked for). */
  readonly local?: Moments;
  /** What the device normalized with (for ghost BN, its last chunk's). */
  readonly used: Moments;
  /** The blocks of rows and the statistics each was normalized with (one, except for ghost BN). */
  readonly blocks: readonly NormalizedBlock[];
  /** Whether the pass ran in train mode. */
  readonly training: boolean;
}

/** Where a device is in its step; a caller may mark phases or inject faults there. */
export type PhaseHook = (phase: 'all-reduce' | 'normalize') => void;

/**
 * Rows [start, end) of a block as its own view and layout.
 *
 * @param data - the block's values.
 * @param layout - its layout.
 * @param start - first row.
 * @param end - one past the last row.
 * @returns a view of those rows (no copy) and their layout.
 */
export function rowsOf(
  data: FloatArray,
  layout: ChannelLayout,
  start: number,
  end: number,
): [FloatArray, ChannelLayout] {
  const rowSize = layout.channels * layout.inner;
  return [data.subarray(start * rowSize, end * rowSize), { ...layout, rows: end - start }];
}

/** The statistics of a block with no all-reduce: a program that never pauses. */
function localMoments(program: Program<DeviceMoments>): DeviceMoments {
  return runWithoutPeers(program, 'local statistics');
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** One running-statistics update in place; skipped for an empty batch or non-finite statistics. */
function updateRunning(running: { mean: Float64Array; var: Float64Array }, m: Moments, s: DeviceBnSettings): void {
  if (m.count === 0 || !allFinite(m.mean) || !allFinite(m.var)) return;
  const next = updateRunningStats(running, m, s.momentum, s.convention);
  running.mean.set(next.mean);
  running.var.set(next.var);
}

/**
 * The statistics of each ghost chunk, computed exactly as the forward pass computes them.
 *
 * @param x - the device's block.
 * @param layout - its layout.
 * @param size - rows per ghost chunk (the last may be smaller).
 * @param s - the BN settings (statistics method, accumulator, eps).
 * @param shift - the shifted-sums shift per channel.
 * @returns each chunk's rows with the mean and 1/std it is normalized with, and its moments.
 */
export function ghostBlocks(
  x: FloatArray,
  layout: ChannelLayout,
  size: number,
  s: DeviceBnSettings,
  shift: Float64Array,
): { block: NormalizedBlock; moments: Moments }[] {
  return ghostChunks(layout.rows, size).map(([start, end]) => {
    const [xc, lc] = rowsOf(x, layout, start, end);
    const moments = localMoments(deviceMoments(xc, lc, s.stats, s.accumulator, shift, undefined)).used;
    return {
      block: { start, end, count: moments.count, mean: moments.mean, invStd: inverseStd(moments.var, s.eps) },
      moments,
    };
  });
}

/**
 * Forward: normalizes x into y and, in training, updates `running` in place. A program: it pauses
 * at the all-reduce of sync and group BN until the peers' partials are there.
 *
 * @param x - the device's block, [rows, C, inner].
 * @param layout - its layout.
 * @param y - receives the output (same length as x).
 * @param weight - gamma per channel, or none (1).
 * @param bias - beta per channel, or none (0).
 * @param running - this device's running statistics, updated in place in train mode.
 * @param shift - the shifted-sums shift (the running mean when the step began, the same on every synced device).
 * @param s - the mode and the BN settings.
 * @param allReduce - the all-reduce among the devices this one syncs with; none for local and ghost BN.
 * @param options - `onPhase` marks where the device is (for fault reports); `localInEval` also
 *   computes the block's own statistics in eval mode (for reports).
 * @returns the block's own statistics, those it normalized with, and the normalized blocks.
 */
export function* deviceBnForward(
  x: FloatArray,
  layout: ChannelLayout,
  y: FloatArray,
  weight: ArrayLike<number> | undefined,
  bias: ArrayLike<number> | undefined,
  running: { mean: Float64Array; var: Float64Array },
  shift: Float64Array,
  s: DeviceBnSettings,
  allReduce?: AllReduceFn,
  options: { onPhase?: PhaseHook; localInEval?: boolean } = {},
): Program<DeviceBnForward> {
  const whole = { start: 0, end: layout.rows };
  if (!s.training) {
    const used: Moments = {
      count: layout.rows * layout.inner,
      mean: Float64Array.from(running.mean),
      var: Float64Array.from(running.var),
    };
    const local = options.localInEval
      ? localMoments(deviceMoments(x, layout, s.stats, s.accumulator, shift, undefined)).local
      : undefined;
    const invStd = inverseStd(used.var, s.eps);
    options.onPhase?.('normalize');
    normalize(x, layout, used.mean, invStd, weight, bias, y);
    return { local, used, blocks: [{ ...whole, count: used.count, mean: used.mean, invStd }], training: false };
  }
  if (s.mode.kind === 'ghost') {
    const local = localMoments(deviceMoments(x, layout, s.stats, s.accumulator, shift, undefined)).local;
    options.onPhase?.('normalize');
    const chunks = ghostBlocks(x, layout, s.mode.size, s, shift);
    for (const { block, moments } of chunks) {
      const [xc, lc] = rowsOf(x, layout, block.start, block.end);
      const [yc] = rowsOf(y, layout, block.start, block.end);
      normalize(xc, lc, block.mean, block.invStd, weight, bias, yc);
      updateRunning(running, moments, s);
    }
    const used = chunks.length > 0 ? chunks[chunks.length - 1].moments : local;
    return { local, used, blocks: chunks.map((c) => c.block), training: true };
  }
  options.onPhase?.(allReduce ? 'all-reduce' : 'normalize');
  const { local, used } = yield* deviceMoments(x, layout, s.stats, s.accumulator, shift, allReduce);
  const invStd = inverseStd(used.var, s.eps);
  if (allReduce) options.onPhase?.('normalize');
  if (layout.rows > 0) normalize(x, layout, used.mean, invStd, weight, bias, y);
  updateRunning(running, used, s);
  return { local, used, blocks: [{ ...whole, count: used.count, mean: used.mean, invStd }], training: true };
}

/**
 * Backward of {@link deviceBnForward}: writes dL/dx into dx and returns this device's sum(dy) and
 * sum(dy * xhat) (its share of dL/dbeta and dL/dgamma). With an all-reduce (sync and group BN) the
 * count and both sums are all-reduced first, so dx is the gradient of the loss over the whole
 * synced batch.
 *
 * @param dy - dL/dy of the device's block.
 * @param x - the block the forward pass normalized.
 * @param layout - its layout.
 * @param dx - receives dL/dx.
 * @param weight - gamma per channel, or none (1).
 * @param forward - what the forward pass normalized with.
 * @param allReduce - the same all-reduce as the forward pass's; none for local and ghost BN.
 * @param onPhase - marks where the device is (for fault reports).
 * @returns this device's sum(dy) and sum(dy * xhat) per channel.
 */
export function* deviceBnBackward(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  dx: FloatArray,
  weight: ArrayLike<number> | undefined,
  forward: Pick<DeviceBnForward, 'blocks' | 'training'>,
  allReduce?: AllReduceFn,
  onPhase?: PhaseHook,
): Program<GradSums> {
  const C = layout.channels;
  if (!forward.training) {
    const { mean, invStd } = forward.blocks[0];
    gradInputEval(dy, layout, invStd, weight, dx);
    return gradSums(dy, x, layout, mean, invStd);
  }
  if (allReduce) {
    const { mean, invStd } = forward.blocks[0];
    const local = gradSums(dy, x, layout, mean, invStd);
    const v = new Float64Array(1 + 2 * C);
    v[0] = layout.rows * layout.inner;
    v.set(local.sumDy, 1);
    v.set(local.sumDyXhat, 1 + C);
    onPhase?.('all-reduce');
    yield* allReduce(v, float64Sum);
    const global = { sumDy: v.subarray(1, 1 + C), sumDyXhat: v.subarray(1 + C) };
    if (layout.rows > 0) gradInputTrain(dy, x, layout, mean, invStd, weight, global, v[0], dx);
    return local;
  }
  const sumDy = new Float64Array(C);
  const sumDyXhat = new Float64Array(C);
  for (const block of forward.blocks) {
    if (block.count === 0) continue;
    const [xc, lc] = rowsOf(x, layout, block.start, block.end);
    const [dyc] = rowsOf(dy, layout, block.start, block.end);
    const [dxc] = rowsOf(dx, layout, block.start, block.end);
    const sums = gradSums(dyc, xc, lc, block.mean, block.invStd);
    gradInputTrain(dyc, xc, lc, block.mean, block.invStd, weight, sums, block.count, dxc);
    for (let c = 0; c < C; c++) {
      sumDy[c] += sums.sumDy[c];
      sumDyXhat[c] += sums.sumDyXhat[c];
    }
  }
  return { sumDy, sumDyXhat };
}
