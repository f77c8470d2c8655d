/**
 * `compare`, the main job: one batch split over W devices, every BN mode side by side against
 * single-device BN on the whole batch, and what each all-reduce algorithm sent to get there.
 * Returns plain data, typed in camelCase: src/report/tables/compare-table.ts prints it and
 * src/report/json/compare-json.ts maps it to the documented JSON.
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
import { HALF_FORMATS, type HalfFormat } from '../half/formats.js';
import { checkChoice } from '../args.js';
import { overflowedCount, roundInPlace, toHalfStorage } from '../half/storage.js';
import { checkCompareOptions, checkDefaultModesArgs } from './option-checks.js';

/** The built-in batch: 32 rows of 8 channels of 4x4, so 4 rows per device on 8 devices. */
export const DEFAULT_COMPARE_SHAPE: readonly number[] = [32, 8, 4, 4];
/** Devices of a comparison when none are asked for. */
export const DEFAULT_COMPARE_DEVICES = 8;
/** Most modes one comparison runs (each is a forward and a backward on the cluster). */
export const MAX_COMPARE_MODES = 64;

/** What {@link compareModes} compares, and how. */
export interface CompareOptions {
  /** Worker threads hosting the devices (1 to the devices); default min(devices, cores). Results do not depend on it. */
  readonly threads?: number;
  /** The user's batch, [N,C] or [N,C,H,W]; without it, a synthetic one of `shape`. */
  readonly input?: Tensor;
  /** Shape of the synthetic batch; default {@link DEFAULT_COMPARE_SHAPE}. Ignored with `input`. */
  readonly shape?: readonly number[];
  /** Seed of the synthetic batch (and, plus 1, of the synthetic gradient); default 0. */
  readonly seed?: number;
  /** Simulated devices W, 1 to MAX_DEVICES; default {@link DEFAULT_COMPARE_DEVICES}. */
  readonly devices?: number;
  /** Modes to compare; default local, sync, group:K (K the smallest factor of W) and ghost:G (half a shard), see {@link defaultModes}. */
  readonly modes?: readonly string[];
  /** All-reduce of the mode rows; default the cluster's (allgather). Every algorithm is also run in sync mode. */
  readonly algorithm?: AlgorithmName;
  /** How partial statistics are computed and merged; default 'sums'. */
  readonly stats?: StatsMethod;
  /** Precision of the sums; default 'float64'. */
  readonly accumulator?: Accumulator;
  /** Added to the variance; default 1e-5. */
  readonly eps?: number;
  /** How long a device waits for a peer, in ms; default the cluster's (30,000). */
  readonly timeoutMs?: number;
  /** dL/dy of the input's shape and dtype; default a seeded synthetic gradient (seed + 1). */
  readonly gradOutput?: Tensor;
  /**
   * Store the batch, the gradient and every output in float16 or bfloat16 (mixed precision:
   * statistics and parameters in float32 or wider); outputs are compared after that rounding.
   */
  readonly storage?: HalfFormat;
}

/** Count, mean and biased variance per channel, as plain arrays. */
export interface MomentsRow {
  /** Values per channel. */
  readonly count: number;
  /** Mean per channel (NaN for an empty shard). */
  readonly mean: number[];
  /** Biased variance per channel (NaN for an empty shard). */
  readonly var: number[];
}

/** The statistics one device sees of its own shard. */
export interface DeviceRow extends MomentsRow {
  /** The device's rank. */
  readonly rank: number;
  /** Its shard: rows from the first up to (not including) the second. */
  readonly rows: [number, number];
}

/** One BN mode against single-device BN on the whole batch, forward and backward. */
export interface ModeRow {
  /** The mode, as the cluster names it ('local', 'sync', 'group:2', 'ghost:2'). */
  readonly mode: string;
  /** Largest |difference| of the output from single-device BN on the whole batch. */
  readonly maxAbsDiffOutput: number;
  /** The same for dL/dx. */
  readonly maxAbsDiffGradInput: number;
  /** The same for dL/dgamma. */
  readonly maxAbsDiffGradWeight: number;
  /** maxAbsDiffOutput over the single-device output's scale ({@link CompareReport.scale}); null when that scale is 0. */
  readonly relDiffOutput: number | null;
  /** The same for dL/dx. */
  readonly relDiffGradInput: number | null;
  /** The same for dL/dgamma. */
  readonly relDiffGradWeight: number | null;
  /** Messages all devices sent, forward plus backward. */
  readonly messages: number;
  /** Bytes all devices sent, forward plus backward. */
  readonly bytes: number;
}

/** Sync BN with one all-reduce algorithm. */
export interface AlgorithmRow {
  /** The algorithm. */
  readonly algorithm: AlgorithmName;
  /** Messages all devices sent, forward plus backward. */
  readonly messages: number;
  /** Bytes all devices sent, forward plus backward. */
  readonly bytes: number;
  /** Most messages one device sent, forward plus backward. */
  readonly maxMessagesPerRank: number;
  /** Largest |difference| of the output from single-device BN on the whole batch. */
  readonly maxAbsDiffOutput: number;
  /** Every device normalized with bitwise the same mean and variance. */
  readonly identicalOnAllRanks: boolean;
}

/** How far the devices' own statistics stray from the whole batch's, over every channel. */
export interface StraySummary {
  /** Root mean square over devices and channels of (device mean - batch mean) / batch std. */
  readonly rmsMeanShiftInStd: number;
  /**
   * What i.i.d. values would give for the same: sqrt of the mean over non-empty devices of
   * (1/n - 1/N) N/(N-1), n a device's values per channel and N the batch's (shards drawn from
   * the batch without replacement; the batch std here is the biased one).
   */
  readonly iidRmsMeanShiftInStd: number;
  /** Largest |device mean - batch mean| / batch std. */
  readonly maxMeanShiftInStd: number;
  /** Root mean square of (device var / batch var - 1). */
  readonly rmsVarRatioError: number;
  /** Smallest device var / batch var. */
  readonly minVarRatio: number;
  /** Largest device var / batch var. */
  readonly maxVarRatio: number;
  /** Devices whose shard holds no rows. */
  readonly emptyDevices: number;
}

/** What {@link compareModes} found; src/report/json/compare-json.ts maps it to the documented JSON. */
export interface CompareReport {
  /** The batch compared: its shape, dtype, and where it came from (with the seed when synthetic). */
  readonly batch: {
    /** [N,C] or [N,C,H,W]. */
    readonly shape: number[];
    /** 'float32' or 'float64'. */
    readonly dtype: string;
  } & (
    | {
        /** A seeded synthetic batch. */
        readonly source: 'synthetic';
        /** Its seed. */
        readonly seed: number;
      }
    | {
        /** The caller's batch. */
        readonly source: 'input';
      }
  );
  /** Where dL/dy came from: the user's file, or synthetic with this seed. */
  readonly gradOutput:
    | {
        /** A seeded synthetic gradient. */
        readonly source: 'synthetic';
        /** Its seed (the batch's plus 1). */
        readonly seed: number;
      }
    | {
        /** The caller's gradient. */
        readonly source: 'input';
      };
  /** Simulated devices W. */
  readonly devices: number;
  /** How partial statistics were computed and merged. */
  readonly stats: StatsMethod;
  /** Every setting as used, defaults filled in. */
  readonly settings: {
    /** Added to the variance. */
    readonly eps: number;
    /** Precision of the sums. */
    readonly accumulator: Accumulator;
    /** All-reduce of the mode rows. */
    readonly algorithm: AlgorithmName;
    /**
     * Running-statistics momentum of the forwards: 0, so that every mode starts from the same
     * running statistics (0 and 1) and the shift of shifted-sums is the same in every row.
     */
    readonly momentum: number;
    /** With stats shifted-sums: the shift (the running mean, 0 here), which makes the results those of sums. */
    readonly shift?: {
      /** What the shift is: 'the running mean'. */
      readonly by: string;
      /** Its value in every channel. */
      readonly value: number;
      /** Why the results are then exactly those of sums. */
      readonly note: string;
    };
  };
  /** What relative differences are relative to: max |single-device value| of each array. */
  readonly scale: {
    /** max |y|. */
    readonly output: number;
    /** max |dL/dx|. */
    readonly gradInput: number;
    /** max |dL/dgamma|. */
    readonly gradWeight: number;
  };
  /** Statistics of the whole batch (single-device BN). */
  readonly global: MomentsRow;
  /** Statistics each device sees of its own shard, by rank. */
  readonly perDevice: DeviceRow[];
  /** How far the devices' own statistics stray from the whole batch's. */
  readonly summary: StraySummary;
  /** One row per mode compared, in the order asked for. */
  readonly modes: ModeRow[];
  /** One row per all-reduce algorithm, sync mode. */
  readonly algorithms: AlgorithmRow[];
}

function smallestFactor(n: number): number | undefined {
  for (let k = 2; k <= n; k++) if (n % k === 0) return k;
  return undefined;
}

/**
 * The modes a comparison runs by default: local, sync, group:K for the smallest factor K of W (if
 * W > 1), and ghost:G for half a shard (when smaller than it).
 * @param devices - W.
 * @param rows - rows of the batch.
 * @param inner - values per row and channel (H x W; 1 for [N,C]): a ghost chunk needs 2 values.
 * @returns the mode names.
 * @throws InputError for arguments that are not whole numbers in range.
 */
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

/**
 * The main job: one batch split over W devices, every BN mode side by side against single-device
 * BN on the whole batch (forward and backward), and sync BN with every all-reduce algorithm. Every
 * mode runs with momentum 0, so that each starts from the same running statistics.
 * @param options - the batch (or a synthetic one), W, the modes, the algorithm and statistics method.
 * @returns the comparison, in camelCase (src/report/json/compare-json.ts gives the documented JSON).
 * @throws InputError for bad options or a bad batch, before any thread starts.
 * @throws DeviceFailureError when a device fails.
 * @example
 * ```ts
 * const report = await compareModes({ devices: 4, shape: [16, 3, 2, 2], modes: ['local', 'sync'] });
 * console.log(report.modes.map((m) => `${m.mode}: ${m.maxAbsDiffOutput}`));
 * ```
 */
export async function compareModes(options: CompareOptions = {}): Promise<CompareReport> {
  checkCompareOptions(options);
  const devices = options.devices ?? DEFAULT_COMPARE_DEVICES;
  const seed = options.seed ?? 0;
  const given = options.input ?? syntheticBatch(options.shape ?? DEFAULT_COMPARE_SHAPE, seed);
  const layout = channelLayout(given.shape);
  const givenGrad = options.gradOutput ?? syntheticGradient(given.shape, seed + 1, dtypeOf(given.data));
  if (options.gradOutput) {
    requireInput(
      dtypeOf(options.gradOutput.data) === dtypeOf(given.data),
      () =>
        `grad output must have the input's dtype (${dtypeOf(given.data)}), got ${dtypeOf(options.gradOutput!.data)}`,
    );
  }
  const storage = options.storage === undefined ? undefined : checkChoice('storage', options.storage, HALF_FORMATS);
  const stored = (t: Tensor, what: string) => {
    if (storage === undefined) return t;
    const s = toHalfStorage(t, storage);
    const lost = overflowedCount(t.data, s.data);
    requireInput(
      lost === 0,
      () => `--dtype ${storage}: ${lost} value${lost === 1 ? '' : 's'} of the ${what} overflow ${storage}`,
    );
    return s;
  };
  const input = stored(given, 'input');
  const gradOutput = stored(givenGrad, 'grad output');
  // Every output is stored back in 16 bits before it is compared.
  const back = <A extends Float32Array | Float64Array>(a: A): A =>
    storage === undefined ? a : roundInPlace(a, storage);
  const modes = options.modes ?? defaultModes(devices, layout.rows, layout.inner);
  requireInput(modes.length > 0, 'give at least one mode');
  requireInput(
    modes.length <= MAX_COMPARE_MODES,
    () => `modes: ${modes.length} given; the limit is ${MAX_COMPARE_MODES}`,
  );
  for (const m of modes) parseMode(m, devices);
  const eps = options.eps ?? DEFAULT_EPS;
  const momentum = COMPARE_MOMENTUM;

  // The reference, which also validates the batch (shape, values) before any thread starts.
  const single = batchNorm(input, { gradOutput, stats: options.stats, accumulator: options.accumulator, eps });
  back(single.output.data);
  back(single.gradInput!.data);
  const scale = {
    output: maxAbs(single.output.data),
    gradInput: maxAbs(single.gradInput!.data),
    gradWeight: maxAbs(single.gradWeight!),
  };
  const cluster = Cluster.start({
    devices,
    threads: options.threads,
    algorithm: options.algorithm,
    stats: options.stats,
    accumulator: options.accumulator,
    timeoutMs: options.timeoutMs,
  });
  try {
    const modeRows: ModeRow[] = [];
    let perDevice: DeviceRow[] = [];
    for (const mode of modes) {
      const f = await cluster.forward(input, { mode, eps, momentum });
      const b = await cluster.backward(gradOutput);
      back(f.output.data);
      back(b.gradInput.data);
      if (perDevice.length === 0) {
        perDevice = f.devices.map((d) => ({ rank: d.rank, rows: [d.rows[0], d.rows[1]], ...momentsRow(d.local) }));
      }
      const diffs = {
        output: maxAbsDiff(f.output.data, single.output.data),
        gradInput: maxAbsDiff(b.gradInput.data, single.gradInput!.data),
        gradWeight: maxAbsDiff(b.gradWeight, single.gradWeight!),
      };
      const relative = (key: keyof typeof diffs) => (scale[key] === 0 ? null : diffs[key] / scale[key]);
      modeRows.push({
        mode: f.mode,
        maxAbsDiffOutput: diffs.output,
        maxAbsDiffGradInput: diffs.gradInput,
        maxAbsDiffGradWeight: diffs.gradWeight,
        relDiffOutput: relative('output'),
        relDiffGradInput: relative('gradInput'),
        relDiffGradWeight: relative('gradWeight'),
        messages: f.comm.messages + b.comm.messages,
        bytes: f.comm.bytes + b.comm.bytes,
      });
    }
    const algorithms: AlgorithmRow[] = [];
    for (const algorithm of ALGORITHM_NAMES) {
      const f = await cluster.forward(input, { mode: 'sync', algorithm, eps, momentum });
      const b = await cluster.backward(gradOutput);
      back(f.output.data);
      const first = f.devices[0].used;
      const identical = f.devices.every(
        (d) =>
          d.used.mean.every((v, c) => Object.is(v, first.mean[c])) &&
          d.used.var.every((v, c) => Object.is(v, first.var[c])),
      );
      algorithms.push({
        algorithm,
        messages: f.comm.messages + b.comm.messages,
        bytes: f.comm.bytes + b.comm.bytes,
        maxMessagesPerRank: Math.max(...f.comm.perRank.map((r, i) => r.messages + b.comm.perRank[i].messages)),
        maxAbsDiffOutput: maxAbsDiff(f.output.data, single.output.data),
        identicalOnAllRanks: identical,
      });
    }
    const shift =
      cluster.stats === 'shifted-sums'
        ? {
            by: 'the running mean',
            value: 0,
            note: 'shifted-sums shifts by the running mean, which is 0 in every row here (compare keeps momentum 0): the results are exactly those of sums',
          }
        : undefined;
    return {
      batch: {
        shape: [...input.shape],
        dtype: storage ?? dtypeOf(input.data),
        ...(options.input ? { source: 'input' as const } : { source: 'synthetic' as const, seed }),
      },
      gradOutput: options.gradOutput ? { source: 'input' } : { source: 'synthetic', seed: seed + 1 },
      devices,
      stats: cluster.stats,
      settings: {
        eps,
        accumulator: cluster.accumulator,
        algorithm: cluster.algorithm,
        momentum,
        ...(shift ? { shift } : {}),
      },
      scale,
      global: momentsRow(single.stats),
      perDevice,
      summary: summarize(perDevice, single.stats),
      modes: modeRows,
      algorithms,
    };
  } finally {
    await cluster.close();
  }
}

function summarize(devices: readonly DeviceRow[], global: Moments): StraySummary {
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
    rmsMeanShiftInStd: rms(shiftSq),
    iidRmsMeanShiftInStd: iidTerms === 0 ? 0 : Math.sqrt(iidSq / iidTerms),
    maxMeanShiftInStd: maxShift,
    rmsVarRatioError: rms(ratioSq),
    minVarRatio: terms === 0 ? 1 : minRatio,
    maxVarRatio: terms === 0 ? 1 : maxRatio,
    emptyDevices: devices.filter((d) => d.count === 0).length,
  };
}

/**
 * The rows each device holds when `rows` are split over `devices` as numpy.array_split does.
 * @param rows - rows of the batch.
 * @param devices - W.
 * @returns the shard sizes, by rank.
 */
export function shardSizes(rows: number, devices: number): number[] {
  return Array.from({ length: devices }, (_, r) => {
    const [s, e] = shardRows(rows, devices, r);
    return e - s;
  });
}
