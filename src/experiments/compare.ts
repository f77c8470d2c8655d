/**
 * `compare`, the main job: one batch split over W devices, every BN mode side by side against
 * single-device BN on the whole batch, and what each all-reduce algorithm sent to get there.
 * Returns plain data; src/cli/compare-command.ts prints it.
 */
import { batchNorm } from '../bn/batch-norm.js';
import type { StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator, Moments } from '../bn/moments.js';
import { ALGORITHM_NAMES, type AlgorithmName } from '../collectives/algorithms/index.js';
import { Cluster } from '../cluster/cluster.js';
import { parseMode } from '../bn/modes.js';
import { shardRows } from '../tensor/sharding.js';
import { requireInput } from '../errors.js';
import { syntheticBatch, syntheticGradient } from '../tensor/synthetic.js';
import { type Tensor, channelLayout, dtypeOf } from '../tensor/tensor.js';
import { checkCompareOptions, checkDefaultModesArgs } from './option-checks.js';

/** The built-in batch: 32 rows of 8 channels of 4x4, so 4 rows per device on 8 devices. */
export const DEFAULT_COMPARE_SHAPE: readonly number[] = [32, 8, 4, 4];
export const DEFAULT_COMPARE_DEVICES = 8;
/** Most modes one comparison runs (each is a forward and a backward on the cluster). */
export const MAX_COMPARE_MODES = 64;

export interface CompareOptions {
  /** Worker threads hosting the devices (1 to the devices); default min(devices, cores). Results do not depend on it. */
  readonly threads?: number;
  /** The user's batch; without it, a synthetic one of `shape`. */
  readonly input?: Tensor;
  readonly shape?: readonly number[];
  readonly seed?: number;
  readonly devices?: number;
  /** Modes to compare; default local, sync, group:K (K the smallest factor of W) and ghost:G (half a shard). */
  readonly modes?: readonly string[];
  /** Algorithm of the mode rows; every algorithm is also run in sync mode. */
  readonly algorithm?: AlgorithmName;
  readonly stats?: StatsMethod;
  readonly accumulator?: Accumulator;
  readonly eps?: number;
  readonly timeoutMs?: number;
  /** dL/dy of the input's shape; default a seeded synthetic gradient (seed + 1). */
  readonly gradOutput?: Tensor;
}

export interface MomentsRow {
  readonly count: number;
  readonly mean: number[];
  readonly var: number[];
}

export interface DeviceRow extends MomentsRow {
  readonly rank: number;
  readonly rows: [number, number];
}

export interface ModeRow {
  readonly mode: string;
  /** Largest |difference| from single-device BN on the whole batch. */
  readonly max_abs_diff_output: number;
  readonly max_abs_diff_grad_input: number;
  readonly max_abs_diff_grad_weight: number;
  /** The same divided by the single-device array's scale (CompareReport.scale); null when that scale is 0. */
  readonly rel_diff_output: number | null;
  readonly rel_diff_grad_input: number | null;
  readonly rel_diff_grad_weight: number | null;
  readonly messages: number;
  readonly bytes: number;
}

export interface AlgorithmRow {
  readonly algorithm: AlgorithmName;
  /** Forward plus backward, all devices. */
  readonly messages: number;
  readonly bytes: number;
  readonly max_messages_per_rank: number;
  readonly max_abs_diff_output: number;
  /** Every device normalized with bitwise the same mean and variance. */
  readonly identical_on_all_ranks: boolean;
}

export interface CompareReport {
  readonly batch: { readonly shape: number[]; readonly dtype: string; readonly source: 'synthetic' | 'input'; readonly seed?: number };
  /** Where dL/dy came from: the user's file, or synthetic with this seed. */
  readonly grad_output: { readonly source: 'synthetic'; readonly seed: number } | { readonly source: 'input' };
  readonly devices: number;
  readonly stats: StatsMethod;
  /** Every setting as used, defaults filled in. */
  readonly settings: {
    readonly eps: number;
    readonly accumulator: Accumulator;
    readonly algorithm: AlgorithmName;
    /**
     * Running-statistics momentum of the forwards: 0, so that every mode starts from the same
     * running statistics (0 and 1) and the shift of shifted-sums is the same in every row.
     */
    readonly momentum: number;
    /** With stats shifted-sums: the shift (the running mean, 0 here), which makes the results those of sums. */
    readonly shift?: { readonly by: string; readonly value: number; readonly note: string };
  };
  /** What relative differences are relative to: max |single-device value| of each array. */
  readonly scale: { readonly output: number; readonly grad_input: number; readonly grad_weight: number };
  readonly global: MomentsRow;
  readonly per_device: DeviceRow[];
  /** How far the devices' own statistics stray from the whole batch's, over every channel. */
  readonly summary: {
    /** Root mean square over devices and channels of (device mean - batch mean) / batch std. */
    readonly rms_mean_shift_in_std: number;
    /**
     * What i.i.d. values would give for the same: sqrt of the mean over non-empty devices of
     * (1/n - 1/N) N/(N-1), n a device's values per channel and N the batch's (shards drawn from
     * the batch without replacement; the batch std here is the biased one).
     */
    readonly iid_rms_mean_shift_in_std: number;
    readonly max_mean_shift_in_std: number;
    /** Root mean square of (device var / batch var - 1). */
    readonly rms_var_ratio_error: number;
    readonly min_var_ratio: number;
    readonly max_var_ratio: number;
    readonly empty_devices: number;
  };
  readonly modes: ModeRow[];
  readonly algorithms: AlgorithmRow[];
}

function smallestFactor(n: number): number | undefined {
  for (let k = 2; k <= n; k++) if (n % k === 0) return k;
  return undefined;
}

/** local, sync, group:K for the smallest factor K of W (if W > 1), ghost:G for half a shard (when smaller than it). */
export function defaultModes(devices: number, rows: number, inner: number): string[] {
  checkDefaultModesArgs(devices, rows, inner);
  const modes = ['local', 'sync'];
  const k = smallestFactor(devices);
  if (k !== undefined && k < devices) modes.push(`group:${k}`);
  const shard = Math.ceil(rows / devices);
  const ghost = Math.max(inner === 1 ? 2 : 1, Math.floor(shard / 2));
  if (ghost < shard) modes.push(`ghost:${ghost}`);
  return modes;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Default eps of the forwards. */
const DEFAULT_EPS = 1e-5;
/** Momentum of every forward: running statistics stay at 0 and 1 (see CompareReport.settings). */
const COMPARE_MOMENTUM = 0;

function momentsRow(m: Moments): MomentsRow {
  return { count: m.count, mean: Array.from(m.mean), var: Array.from(m.var) };
}

export async function compareModes(options: CompareOptions = {}): Promise<CompareReport> {
  checkCompareOptions(options);
  const devices = options.devices ?? DEFAULT_COMPARE_DEVICES;
  const seed = options.seed ?? 0;
  const input = options.input ?? syntheticBatch(options.shape ?? DEFAULT_COMPARE_SHAPE, seed);
  const layout = channelLayout(input.shape);
  const gradOutput = options.gradOutput ?? syntheticGradient(input.shape, seed + 1, dtypeOf(input.data));
  if (options.gradOutput) {
    requireInput(dtypeOf(options.gradOutput.data) === dtypeOf(input.data), () => `grad output must have the input's dtype (${dtypeOf(input.data)}), got ${dtypeOf(options.gradOutput!.data)}`);
  }
  const modes = options.modes ?? defaultModes(devices, layout.rows, layout.inner);
  requireInput(modes.length > 0, 'give at least one mode');
  requireInput(modes.length <= MAX_COMPARE_MODES, () => `modes: ${modes.length} given; the limit is ${MAX_COMPARE_MODES}`);
  for (const m of modes) parseMode(m, devices);
  const eps = options.eps ?? DEFAULT_EPS;
  const momentum = COMPARE_MOMENTUM;

  // The reference, which also validates the batch (shape, values) before any thread starts.
  const single = batchNorm(input, { gradOutput, stats: options.stats, accumulator: options.accumulator, eps });
  const scale = { output: maxAbs(single.output.data), grad_input: maxAbs(single.gradInput!.data), grad_weight: maxAbs(single.gradWeight!) };
  const cluster = Cluster.start({ devices, threads: options.threads, algorithm: options.algorithm, stats: options.stats, accumulator: options.accumulator, timeoutMs: options.timeoutMs });
  try {
    const modeRows: ModeRow[] = [];
    let perDevice: DeviceRow[] = [];
    for (const mode of modes) {
      const f = await cluster.forward(input, { mode, eps, momentum });
      const b = await cluster.backward(gradOutput);
      if (perDevice.length === 0) {
        perDevice = f.devices.map((d) => ({ rank: d.rank, rows: [d.rows[0], d.rows[1]], ...momentsRow(d.local) }));
      }
      const diffs = {
        output: maxAbsDiff(f.output.data, single.output.data),
        grad_input: maxAbsDiff(b.gradInput.data, single.gradInput!.data),
        grad_weight: maxAbsDiff(b.gradWeight, single.gradWeight!),
      };
      const relative = (key: keyof typeof diffs) => (scale[key] === 0 ? null : diffs[key] / scale[key]);
      modeRows.push({
        mode: f.mode,
        max_abs_diff_output: diffs.output,
        max_abs_diff_grad_input: diffs.grad_input,
        max_abs_diff_grad_weight: diffs.grad_weight,
        rel_diff_output: relative('output'),
        rel_diff_grad_input: relative('grad_input'),
        rel_diff_grad_weight: relative('grad_weight'),
        messages: f.comm.messages + b.comm.messages,
        bytes: f.comm.bytes + b.comm.bytes,
      });
    }
    const algorithms: AlgorithmRow[] = [];
    for (const algorithm of ALGORITHM_NAMES) {
      const f = await cluster.forward(input, { mode: 'sync', algorithm, eps, momentum });
      const b = await cluster.backward(gradOutput);
      const first = f.devices[0].used;
      const identical = f.devices.every(
        (d) => d.used.mean.every((v, c) => Object.is(v, first.mean[c])) && d.used.var.every((v, c) => Object.is(v, first.var[c])),
      );
      algorithms.push({
        algorithm,
        messages: f.comm.messages + b.comm.messages,
        bytes: f.comm.bytes + b.comm.bytes,
        max_messages_per_rank: Math.max(...f.comm.perRank.map((r, i) => r.messages + b.comm.perRank[i].messages)),
        max_abs_diff_output: maxAbsDiff(f.output.data, single.output.data),
        identical_on_all_ranks: identical,
      });
    }
    const shift =
      cluster.stats === 'shifted-sums'
        ? { by: 'the running mean', value: 0, note: 'shifted-sums shifts by the running mean, which is 0 in every row here (compare keeps momentum 0): the results are exactly those of sums' }
        : undefined;
    return {
      batch: { shape: [...input.shape], dtype: dtypeOf(input.data), source: options.input ? 'input' : 'synthetic', ...(options.input ? {} : { seed }) },
      grad_output: options.gradOutput ? { source: 'input' } : { source: 'synthetic', seed: seed + 1 },
      devices,
      stats: cluster.stats,
      settings: { eps, accumulator: cluster.accumulator, algorithm: cluster.algorithm, momentum, ...(shift ? { shift } : {}) },
      scale,
      global: momentsRow(single.stats),
      per_device: perDevice,
      summary: summarize(perDevice, single.stats),
      modes: modeRows,
      algorithms,
    };
  } finally {
    await cluster.close();
  }
}

function summarize(devices: readonly DeviceRow[], global: Moments): CompareReport['summary'] {
  let shiftSq = 0;
  let maxShift = 0;
  let iidSq = 0;
  let iidTerms = 0;
  const N = global.count;
  for (const d of devices) {
    if (d.count === 0) continue;
    if (N > 1) iidSq += (1 / d.count - 1 / N) * (N / (N - 1));
    iidTerms++;
  }
  let ratioSq = 0;
  let minRatio = Infinity;
  let maxRatio = -Infinity;
  let terms = 0;
  for (const d of devices) {
    if (d.count === 0) continue;
    for (let c = 0; c < global.mean.length; c++) {
      const std = Math.sqrt(global.var[c]);
      if (std === 0) continue;
      const shift = Math.abs(d.mean[c] - global.mean[c]) / std;
      const ratio = d.var[c] / global.var[c];
      shiftSq += shift * shift;
      maxShift = Math.max(maxShift, shift);
      ratioSq += (ratio - 1) ** 2;
      minRatio = Math.min(minRatio, ratio);
      maxRatio = Math.max(maxRatio, ratio);
      terms++;
    }
  }
  const rms = (s: number) => (terms === 0 ? 0 : Math.sqrt(s / terms));
  return {
    rms_mean_shift_in_std: rms(shiftSq),
    iid_rms_mean_shift_in_std: iidTerms === 0 ? 0 : Math.sqrt(iidSq / iidTerms),
    max_mean_shift_in_std: maxShift,
    rms_var_ratio_error: rms(ratioSq),
    min_var_ratio: terms === 0 ? 1 : minRatio,
    max_var_ratio: terms === 0 ? 1 : maxRatio,
    empty_devices: devices.filter((d) => d.count === 0).length,
  };
}

/** The rows each device holds, for a header line. */
export function shardSizes(rows: number, devices: number): number[] {
  return Array.from({ length: devices }, (_, r) => {
    const [s, e] = shardRows(rows, devices, r);
    return e - s;
  });
}
