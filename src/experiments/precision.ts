/**
 * `precision`: how exact each statistics method's variance is when |mean| >> std, on the real
 * cluster (worker-thread devices, allgather all-reduce), and what it costs to communicate.
 *
 * For every (|mean|/std ratio, dtype, method) the same seeded batches are normalized in sync mode
 * over W devices; each device's variance is compared with the exact variance of the batch as
 * stored (float32 data read exactly as float64), computed by a compensated two-pass. Methods:
 *
 *   sums-float32, sums-float64  [count, sum x, sum x^2], var = E[x^2] - E[x]^2   1 round, 2C+1 values
 *   welford                     (n, mean, M2) per channel, Chan's merge            1 round, 3C values
 *   two-pass                    [count, sum x], then sum (x - mean)^2              2 rounds, C+1 then C
 *   shifted-sums                sums of x - K, K = the running mean (float64 sums)  1 round, 2C+1 values
 *   pytorch-roundtrip           PyTorch's (mean, invstd, count) all-gather and
 *                               batch_norm_gather_stats_with_counts (pure, no threads)  1 round, 2C+1
 *
 * Shifted sums are as good as their shift: before each step the devices' running mean is set to
 * the mean of a separate warm-up batch from the same distribution, as it would be after some
 * training (the shift then misses the batch mean by about std / sqrt(N)).
 *
 * Returns plain data; src/cli/precision-command.ts prints it.
 */
import { pytorchRoundTrip, torchNormalize } from '../bn/pytorch-roundtrip.js';
import type { StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator } from '../bn/moments.js';
import { Cluster, MAX_DEVICES } from '../cluster/cluster.js';
import { shardRows } from '../tensor/sharding.js';
import { checkBlock, checkChoiceList, checkLayout } from '../args.js';
import { requireInput } from '../errors.js';
import { median } from '../summary-stats.js';
import { SeededRandom } from '../tensor/random.js';
import type { ChannelLayout, DType, FloatArray } from '../tensor/tensor.js';
import { type ProgressFn, throwIfInterrupted } from './interrupt.js';
import { HALF_FORMATS, type HalfFormat } from '../half/formats.js';
import { halfRounding } from '../half/round.js';
import { runningVarWithCount, storedCount } from '../half/counts.js';
import { checkPrecisionOptions } from './option-checks.js';

/**
 * Every method the experiment can compare, in the order it reports them: the four statistics
 * methods of the cluster (sums split by accumulator, since float32 sums are the case that
 * cancels), and PyTorch's own round trip through (mean, invstd, count).
 */
export const PRECISION_METHODS = [
  'sums-float32',
  'sums-float64',
  'welford',
  'two-pass',
  'shifted-sums',
  'pytorch-roundtrip',
] as const;
/** One of {@link PRECISION_METHODS}. */
export type PrecisionMethod = (typeof PRECISION_METHODS)[number];
/** The data types the data may be stored in: float32 is where cancellation shows first. */
export const PRECISION_DTYPES: readonly DType[] = ['float32', 'float64'];

/** A precision case's storage: float32, float64, or a 16-bit format (mixed precision). */
export type PrecisionDType = DType | HalfFormat;

/** Every storage `precision --dtype` takes: the default two, and float16 and bfloat16. */
export const PRECISION_ALL_DTYPES: readonly PrecisionDType[] = ['float32', 'float64', ...HALF_FORMATS];

/** Largest finite value of each storage. */
const MAX_FINITE: Readonly<Record<PrecisionDType, number>> = {
  float32: 3.4028234663852886e38,
  float64: Number.MAX_VALUE,
  float16: 65504,
  bfloat16: 3.3895313892515355e38,
};

/** The counts the half-precision rows show: the last exact float16 integer, the first inexact, float16's largest, its overflow, and one ResNet stage at batch 32 (32 x 56 x 56). */
export const HALF_COUNTS: readonly number[] = [2048, 2049, 65504, 65520, 100352];

/** One count kept in a 16-bit format, and what it does to PyTorch's unbiased running variance. */
export interface HalfCountRow {
  /** The 16-bit format the count is kept in. */
  readonly format: HalfFormat;
  /** Values per channel in the (global) batch. */
  readonly count: number;
  /** The count as the format stores it (Infinity past its range). */
  readonly stored: number;
  /** Whether the format stores the count as itself. */
  readonly exact: boolean;
  /** Running variance after one step from 1, batch variance 1, momentum 0.1, with the exact count. */
  readonly runningVarExact: number;
  /** The same with the stored count (NaN when it is infinite: n / (n - 1) = inf / inf). */
  readonly runningVarStored: number;
}

/**
 * Where counts kept in a 16-bit format break, and the running variance PyTorch's update gives
 * with them (src/half/counts.ts; PyTorch's SyncBatchNorm casts its counts to the running
 * statistics' dtype, torch/nn/modules/_functions.py).
 * @param formats - the 16-bit formats.
 * @returns a row per format and count of {@link HALF_COUNTS}.
 * @throws InputError when formats is not an array of 16-bit format names.
 */
export function halfCountRows(formats: readonly HalfFormat[]): HalfCountRow[] {
  return checkChoiceList('formats', formats, HALF_FORMATS).flatMap((format) =>
    HALF_COUNTS.map((count) => {
      const stored = storedCount(count, format);
      return {
        format,
        count,
        stored,
        exact: stored === count,
        runningVarExact: runningVarWithCount(1, 1, count, 0.1, 'exact'),
        runningVarStored: runningVarWithCount(1, 1, count, 0.1, format),
      };
    }),
  );
}
/** |mean| / std of the default sweep. */
export const DEFAULT_RATIOS: readonly number[] = [1, 1e2, 1e4, 1e6, 1e8];

/** The default of each numeric option of {@link PrecisionOptions}. */
export const PRECISION_DEFAULTS = {
  rows: 256,
  channels: 8,
  devices: 8,
  trials: 5,
  seed: 0,
  scale: 1,
  eps: 1e-5,
} as const;

/** Largest batch, rows x channels. */
const MAX_ELEMENTS = 2 ** 24;
/** Most trials (batches per case). */
export const MAX_PRECISION_TRIALS = 100_000;
/** Most values normalized over a whole run (every case and trial): 2^34, minutes of work. */
export const MAX_PRECISION_TOTAL_ELEMENTS = 2 ** 34;
/** Smallest positive normal number of each dtype: below it values lose their significant digits. */
const MIN_NORMAL: Readonly<Record<PrecisionDType, number>> = {
  float32: 2 ** -126,
  float64: 2 ** -1022,
  float16: 2 ** -14,
  bfloat16: 2 ** -126,
};
/** The all-reduce every cluster method uses (PyTorch's choice, one round per all-reduce). */
const ALGORITHM = 'allgather';

/** What {@link precisionExperiment} sweeps, and how; every field is optional. */
export interface PrecisionOptions {
  /** Worker threads hosting the devices (1 to the devices); default min(devices, cores). Results do not depend on it. */
  readonly threads?: number;
  /** The data's mean; without it, a sweep with offset = ratio x scale for each DEFAULT_RATIOS. */
  readonly offset?: number;
  /** The data's standard deviation, > 0; default 1. */
  readonly scale?: number;
  /**
   * Data types to run; default float32 and float64. float16 and bfloat16 store the data in 16
   * bits (the methods then run on those values as float32 data, mixed precision) and add the
   * half-precision count rows.
   */
  readonly dtypes?: readonly PrecisionDType[];
  /** N, rows of each batch, at least 2; default 256. */
  readonly rows?: number;
  /** C, channels of each batch; default 8 (rows x channels at most 2^24). */
  readonly channels?: number;
  /** W, simulated devices the batch is split over, 1 to MAX_DEVICES; default 8. */
  readonly devices?: number;
  /** Batches per case (seeds seed, seed+1, ...); errors are the worst and counts the sum over trials. */
  readonly trials?: number;
  /** Seed of the first batch; default 0. */
  readonly seed?: number;
  /** Methods to compare, names from {@link PRECISION_METHODS}; default all of them. */
  readonly methods?: readonly string[];
  /** Added to the variance before normalizing; default 1e-5. */
  readonly eps?: number;
  /** How long a device waits for a peer, in ms; default the cluster's (30,000). */
  readonly timeoutMs?: number;
  /** Checked between units of work; an abort throws InterruptedError. */
  readonly signal?: AbortSignal;
  /** Called after each (case, trial); default none. */
  readonly onProgress?: ProgressFn;
}

/** The error of one method on one dtype at one |mean| / std, and what it costs to communicate. */
export interface PrecisionRow {
  /** The statistics method. */
  readonly method: PrecisionMethod;
  /** The dtype the data was stored in (a 16-bit one held as float32 values). */
  readonly dtype: PrecisionDType;
  /** |mean| / std of the distribution the data was drawn from (|offset| / scale). */
  readonly ratio: number;
  /** The distribution's mean. */
  readonly offset: number;
  /** The distribution's standard deviation. */
  readonly scale: number;
  /**
   * Worst over channels and trials of |var - ref| / ref, ref the exact variance of the stored
   * data. Where a stored channel is constant (ref = 0, float32 at ratio 1e8), scale^2 stands in
   * for ref. NaN variances are left out here and counted in nan_count.
   */
  readonly relError: number;
  /** Median of the same over channels and trials. */
  readonly medianRelError: number;
  /** Channel-trials whose variance came out negative. */
  readonly negativeCount: number;
  /** Channel-trials whose variance or normalized output held NaN. */
  readonly nanCount: number;
  /** Channels times trials: what the counts are out of. */
  readonly channelTrials: number;
  /** Channel-trials whose stored values are all equal (the dtype could not hold the spread). */
  readonly constantChannels: number;
  /** max |y - y_exact| over the batch, y_exact normalized with the exact statistics (same eps). */
  readonly outputMaxAbsError: number;
  /** All-reduces per step (sequential rounds of communication). */
  readonly rounds: number;
  /** Values per device in each all-reduce. */
  readonly valuesPerAllreduce: number[];
  /** The same in terms of C: '2C+1', '3C', 'C+1, C'. */
  readonly valuesFormula: string;
  /** Bytes one device sends for the statistics of one forward step (measured on the cluster). */
  readonly bytesPerDevice: number;
}

/** What {@link precisionExperiment} measured; src/report/json/precision-json.ts maps it to the documented JSON. */
export interface PrecisionReport {
  /** Every setting as used, defaults filled in. */
  readonly settings: {
    /** N. */
    readonly rows: number;
    /** C. */
    readonly channels: number;
    /** W. */
    readonly devices: number;
    /** Batches per case. */
    readonly trials: number;
    /** Seed of the first batch. */
    readonly seed: number;
    /** Added to the variance. */
    readonly eps: number;
    /** The data's standard deviation. */
    readonly scale: number;
    /** The data's mean as given; null for the default sweep over ratios. */
    readonly offset: number | null;
    /** |mean| / std of each case, in order. */
    readonly ratios: number[];
    /** Data types run. */
    readonly dtypes: PrecisionDType[];
    /** Methods compared. */
    readonly methods: PrecisionMethod[];
    /** The all-reduce of every cluster method ('allgather', one round per all-reduce as in PyTorch). */
    readonly algorithm: string;
  };
  /** One row per (ratio, dtype, method), in that nesting order. */
  readonly rows: PrecisionRow[];
  /** Present when a 16-bit dtype ran: where its counts break ({@link halfCountRows}). */
  readonly halfCounts?: HalfCountRow[];
}

interface ResolvedOptions {
  readonly rows: number;
  readonly channels: number;
  readonly devices: number;
  readonly trials: number;
  readonly seed: number;
  readonly scale: number;
  readonly eps: number;
  readonly offsets: number[];
  readonly dtypes: PrecisionDType[];
  readonly methods: PrecisionMethod[];
  readonly timeoutMs?: number;
}

/** A number in 3 significant digits, for messages. */
const short = (x: number): string => String(Number(x.toPrecision(3)));

const isWhole = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

/**
 * Checks every option and fills defaults, so the sweep refuses bad input before a thread starts.
 *
 * @param options - as given to {@link precisionExperiment}.
 * @returns every option with its default, and the offsets of each case.
 * @throws InputError naming the bad option.
 */
export function resolvePrecisionOptions(options: PrecisionOptions): ResolvedOptions {
  checkPrecisionOptions(options);
  const d = PRECISION_DEFAULTS;
  const rows = options.rows ?? d.rows;
  const channels = options.channels ?? d.channels;
  const devices = options.devices ?? d.devices;
  const trials = options.trials ?? d.trials;
  const seed = options.seed ?? d.seed;
  const scale = options.scale ?? d.scale;
  const eps = options.eps ?? d.eps;
  requireInput(isWhole(rows, 2), () => `rows must be a whole number >= 2, got ${rows}`);
  requireInput(isWhole(channels, 1), () => `channels must be a whole number >= 1, got ${channels}`);
  requireInput(rows * channels <= MAX_ELEMENTS, () => `rows x channels is ${rows * channels}; at most ${MAX_ELEMENTS}`);
  requireInput(
    isWhole(devices, 1) && devices <= MAX_DEVICES,
    () => `devices must be a whole number from 1 to ${MAX_DEVICES}, got ${devices}`,
  );
  requireInput(isWhole(trials, 1), () => `trials must be a whole number >= 1, got ${trials}`);
  requireInput(trials <= MAX_PRECISION_TRIALS, () => `trials must be at most ${MAX_PRECISION_TRIALS}, got ${trials}`);
  requireInput(isWhole(seed, 0), () => `seed must be a whole number >= 0, got ${seed}`);
  requireInput(Number.isFinite(scale) && scale > 0, () => `scale must be a finite number > 0, got ${scale}`);
  requireInput(Number.isFinite(eps) && eps > 0, () => `eps must be a finite number > 0, got ${eps}`);
  if (options.offset !== undefined)
    requireInput(Number.isFinite(options.offset), () => `offset must be a finite number, got ${options.offset}`);
  const dtypes = [...(options.dtypes ?? PRECISION_DTYPES)];
  requireInput(dtypes.length > 0, 'give at least one dtype');
  for (const t of dtypes)
    requireInput(PRECISION_ALL_DTYPES.includes(t), () => `unknown dtype '${t}' (${PRECISION_ALL_DTYPES.join(', ')})`);
  const methods = [...(options.methods ?? PRECISION_METHODS)];
  requireInput(methods.length > 0, 'give at least one method');
  for (const m of methods) {
    requireInput(
      (PRECISION_METHODS as readonly string[]).includes(m),
      () => `unknown method '${m}' (${PRECISION_METHODS.join(', ')})`,
    );
  }
  for (const t of dtypes) {
    // The variance is scale^2: it (and so every square the sums add up) must be a normal number of the dtype.
    requireInput(
      scale * scale >= MIN_NORMAL[t],
      () =>
        `scale ${scale} is too small for ${t} data: its variance (scale^2 = ${short(scale * scale)}) is below the smallest normal ${t}, ${short(MIN_NORMAL[t])}, so the spread and the squares of the data would lose their digits` +
        (t === 'float32' && scale * scale >= MIN_NORMAL.float64 ? ' (try --dtype float64)' : ''),
    );
  }
  const narrowest = dtypes.reduce((a, t) => (MAX_FINITE[t] < MAX_FINITE[a] ? t : a), dtypes[0]);
  // The default sweep stops where the narrowest dtype asked for cannot hold the data (float16: 65504).
  const offsets =
    options.offset !== undefined
      ? [options.offset]
      : DEFAULT_RATIOS.map((r) => r * scale).filter(
          (off, i) => i === 0 || Math.abs(off) + 40 * scale <= MAX_FINITE[narrowest],
        );
  for (const offset of offsets) {
    // Data up to 40 std from the mean must stay finite in every dtype asked for, squares included in float64.
    const top = Math.abs(offset) + 40 * scale;
    requireInput(Number.isFinite(top) && top <= MAX_FINITE[narrowest], () =>
      Number.isFinite(top)
        ? `offset ${offset} with scale ${scale} does not fit ${narrowest}${narrowest === 'float32' ? ' (try --dtype float64)' : ` (largest finite ${short(MAX_FINITE[narrowest])})`}`
        : `offset ${offset} with scale ${scale} does not fit float64`,
    );
    requireInput(
      Number.isFinite(rows * top * top),
      () => `offset ${offset} with scale ${scale}: the sum of squares of ${rows} rows overflows float64`,
    );
  }
  const cases = new Set(offsets).size * new Set(dtypes).size;
  requireInput(
    cases * trials * rows * channels <= MAX_PRECISION_TOTAL_ELEMENTS,
    () =>
      `${trials} trials of ${cases} cases of ${rows} x ${channels} values make ${cases * trials * rows * channels} values in all; the limit is ${MAX_PRECISION_TOTAL_ELEMENTS} (use fewer trials)`,
  );
  return {
    rows,
    channels,
    devices,
    trials,
    seed,
    scale,
    eps,
    offsets: [...new Set(offsets)],
    dtypes: [...new Set(dtypes)],
    methods: PRECISION_METHODS.filter((m) => methods.includes(m)),
    timeoutMs: options.timeoutMs,
  };
}

/** How each method is run and what it sends. */
interface MethodPlan {
  readonly cluster?: { readonly stats: StatsMethod; readonly accumulator: Accumulator };
  readonly rounds: number;
  readonly values: (C: number) => number[];
  readonly formula: string;
}

const PLANS: Record<PrecisionMethod, MethodPlan> = {
  'sums-float32': {
    cluster: { stats: 'sums', accumulator: 'float32' },
    rounds: 1,
    values: (C) => [2 * C + 1],
    formula: '2C+1',
  },
  'sums-float64': {
    cluster: { stats: 'sums', accumulator: 'float64' },
    rounds: 1,
    values: (C) => [2 * C + 1],
    formula: '2C+1',
  },
  welford: { cluster: { stats: 'welford', accumulator: 'float64' }, rounds: 1, values: (C) => [3 * C], formula: '3C' },
  'two-pass': {
    cluster: { stats: 'two-pass', accumulator: 'float64' },
    rounds: 2,
    values: (C) => [C + 1, C],
    formula: 'C+1, C',
  },
  'shifted-sums': {
    cluster: { stats: 'shifted-sums', accumulator: 'float64' },
    rounds: 1,
    values: (C) => [2 * C + 1],
    formula: '2C+1',
  },
  'pytorch-roundtrip': { rounds: 1, values: (C) => [2 * C + 1], formula: '2C+1' },
};

// ---------------------------------------------------------------------------------------------
// The exact reference

/** Neumaier's compensated sum of f(i) for i in the channel's elements. */
function compensatedSum(x: FloatArray, layout: ChannelLayout, c: number, f: (v: number) => number): number {
  let sum = 0;
  let comp = 0;
  const { rows, channels: C, inner } = layout;
  for (let r = 0; r < rows; r++) {
    const start = (r * C + c) * inner;
    for (let i = start; i < start + inner; i++) {
      const v = f(x[i]);
      const t = sum + v;
      comp += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
      sum = t;
    }
  }
  return sum + comp;
}

/**
 * The mean and biased variance of the stored values, per channel, to about float64 precision:
 * a compensated mean, then the corrected two-pass sum((x - mean)^2) - (sum(x - mean))^2 / n, both
 * sums compensated. x - mean is exact (Sterbenz) whenever |mean| >> std.
 *
 * @param x - the values, C order (float32 values are read exactly as float64).
 * @param layout - rows, channels and values per row and channel of `x`.
 * @returns the reference each method's variance is held to.
 * @throws InputError when `x` does not hold `layout`'s values.
 * @example
 * ```ts
 * const x = new Float32Array([1e8, 1e8 + 8, 1e8 + 16, 1e8 + 24]);
 * exactMoments(x, { rows: 4, channels: 1, inner: 1 }).var; // [80]
 * ```
 */
export function exactMoments(
  x: FloatArray,
  layout: ChannelLayout,
): {
  /** Mean per channel. */
  mean: Float64Array;
  /** Biased variance per channel, never negative. */
  var: Float64Array;
} {
  checkBlock('x', x, checkLayout('layout', layout));
  const C = layout.channels;
  const n = layout.rows * layout.inner;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const mu = compensatedSum(x, layout, c, (v) => v) / n;
    const s1 = compensatedSum(x, layout, c, (v) => v - mu);
    const s2 = compensatedSum(x, layout, c, (v) => (v - mu) * (v - mu));
    mean[c] = mu + s1 / n;
    variance[c] = Math.max(0, (s2 - (s1 * s1) / n) / n);
  }
  return { mean, var: variance };
}

// ---------------------------------------------------------------------------------------------
// Data

interface Trial {
  /** Standard normal draws for the batch and for the warm-up batch, [N, C] each. */
  readonly z: Float64Array;
  readonly warmZ: Float64Array;
}

function drawTrial(seed: number, n: number): Trial {
  const rng = new SeededRandom(seed);
  const z = new Float64Array(n);
  const warmZ = new Float64Array(n);
  for (let i = 0; i < n; i++) z[i] = rng.normal();
  for (let i = 0; i < n; i++) warmZ[i] = rng.normal();
  return { z, warmZ };
}

function materialize(z: Float64Array, offset: number, scale: number, dtype: PrecisionDType): FloatArray {
  const out = dtype === 'float64' ? new Float64Array(z.length) : new Float32Array(z.length);
  if (dtype === 'float16' || dtype === 'bfloat16') {
    // Stored in 16 bits: each value rounded once from the double; a Float32Array holds it exactly.
    const round = halfRounding(dtype);
    for (let i = 0; i < z.length; i++) out[i] = round(offset + scale * z[i]);
    return out;
  }
  for (let i = 0; i < z.length; i++) out[i] = offset + scale * z[i];
  return out;
}

/** One case: a batch as stored, its exact statistics, the exact output, and the warm-up mean. */
interface Case {
  readonly x: FloatArray;
  readonly refMean: Float64Array;
  readonly refVar: Float64Array;
  readonly yRef: Float64Array;
  readonly warmMean: Float64Array;
}

function buildCase(
  trial: Trial,
  offset: number,
  scale: number,
  dtype: PrecisionDType,
  layout: ChannelLayout,
  eps: number,
): Case {
  const x = materialize(trial.z, offset, scale, dtype);
  const ref = exactMoments(x, layout);
  const warm = exactMoments(materialize(trial.warmZ, offset, scale, dtype), layout);
  const yRef = new Float64Array(x.length);
  const C = layout.channels;
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    yRef[i] = (x[i] - ref.mean[c]) / Math.sqrt(ref.var[c] + eps);
  }
  return { x, refMean: ref.mean, refVar: ref.var, yRef, warmMean: warm.mean };
}

// ---------------------------------------------------------------------------------------------
// Aggregation

interface Accumulated {
  errors: number[];
  negative: number;
  nan: number;
  constant: number;
  outputMax: number;
  bytes: number;
}

function emptyAccumulated(): Accumulated {
  return { errors: [], negative: 0, nan: 0, constant: 0, outputMax: 0, bytes: 0 };
}

function record(
  acc: Accumulated,
  cs: Case,
  variance: ArrayLike<number>,
  y: ArrayLike<number>,
  scale: number,
  C: number,
): void {
  const nanChannel = new Array<boolean>(C).fill(false);
  for (let i = 0; i < y.length; i++) {
    const d = Math.abs(y[i] - cs.yRef[i]);
    if (Number.isNaN(d)) nanChannel[i % C] = true;
    else if (d > acc.outputMax) acc.outputMax = d;
  }
  for (let c = 0; c < C; c++) {
    const v = variance[c];
    const ref = cs.refVar[c];
    if (ref === 0) acc.constant++;
    if (Number.isNaN(v) || nanChannel[c]) acc.nan++;
    if (v < 0) acc.negative++;
    if (!Number.isNaN(v)) acc.errors.push(Math.abs(v - ref) / (ref > 0 ? ref : scale * scale));
  }
}

function maxOf(values: readonly number[]): number {
  let m = values.length === 0 ? NaN : 0;
  for (const v of values) if (v > m || Number.isNaN(m)) m = v;
  return m;
}

// ---------------------------------------------------------------------------------------------

/**
 * Runs the whole sweep. Starts one cluster of W devices per cluster method, one at a time, so a
 * sweep never holds more than W worker threads.
 *
 * @param options - the data, the cases and the methods; every field has a default.
 * @returns one row per (ratio, dtype, method), with the settings used.
 * @throws InputError for bad options, before any thread starts.
 * @throws InterruptedError when `signal` aborts; every cluster is closed.
 * @throws a DeviceFailureError when a device fails.
 * @example
 * ```ts
 * const report = await precisionExperiment({ dtypes: ['float32'], methods: ['sums-float32', 'welford'] });
 * for (const row of report.rows) console.log(row.ratio, row.method, row.relError);
 * ```
 */
export async function precisionExperiment(options: PrecisionOptions = {}): Promise<PrecisionReport> {
  const o = resolvePrecisionOptions(options);
  const { rows: N, channels: C, devices: W, trials: T, scale, eps } = o;
  const layout: ChannelLayout = { rows: N, channels: C, inner: 1 };
  const shards = Array.from({ length: W }, (_, r) => shardRows(N, W, r));
  const signal = options.signal;
  throwIfInterrupted(signal);

  const caseKeys = o.offsets.flatMap((offset) => o.dtypes.map((dtype) => ({ offset, dtype })));

  const total = o.methods.length * caseKeys.length * T;
  let done = 0;
  const progress = (label: string) => options.onProgress?.(done, total, label);
  const results = new Map<string, Accumulated>();
  const resultKey = (method: PrecisionMethod, offset: number, dtype: PrecisionDType) => `${method}/${offset}/${dtype}`;

  for (const method of o.methods) {
    const plan = PLANS[method];
    throwIfInterrupted(signal);
    progress(`${method}: starting`);
    const cluster = plan.cluster
      ? Cluster.start({
          devices: W,
          threads: options.threads,
          algorithm: ALGORITHM,
          stats: plan.cluster.stats,
          accumulator: plan.cluster.accumulator,
          timeoutMs: o.timeoutMs,
        })
      : undefined;
    try {
      for (const { offset, dtype } of caseKeys) {
        const acc = emptyAccumulated();
        results.set(resultKey(method, offset, dtype), acc);
        for (let t = 0; t < T; t++) {
          throwIfInterrupted(signal);
          // Drawn again for each method (same seed, same batch): memory stays at one batch.
          const cs = buildCase(drawTrial(o.seed + t, N * C), offset, scale, dtype, layout, eps);
          if (cluster) {
            if (method === 'shifted-sums')
              cluster.setRunningStats(cs.warmMean, new Float64Array(C).fill(scale * scale));
            const f = await cluster.forward({ data: cs.x, shape: [N, C] }, { mode: 'sync', training: true, eps });
            // Every device normalizes with bitwise the same statistics; rank 0's stand for all.
            record(acc, cs, f.devices[0].used.var, f.output.data, scale, C);
            acc.bytes = Math.max(acc.bytes, ...f.comm.perRank.map((p) => p.bytes));
          } else {
            const rt = pytorchRoundTrip(cs.x, layout, shards, eps);
            const y = cs.x instanceof Float32Array ? new Float32Array(cs.x.length) : new Float64Array(cs.x.length);
            torchNormalize(cs.x, layout, rt.mean, rt.invstd, y);
            record(acc, cs, rt.var, y, scale, C);
            const live = shards.filter(([s, e]) => e > s).length;
            acc.bytes = (live - 1) * (2 * C + 1) * (dtype === 'float64' ? 8 : 4);
          }
          done++;
          progress(`${method} ${dtype} |mean|/std ${formatRatio(Math.abs(offset) / scale)} trial ${t + 1}/${T}`);
        }
      }
    } finally {
      await cluster?.close();
    }
  }

  const rows: PrecisionRow[] = [];
  const halfFormats = o.dtypes.filter((t): t is HalfFormat => t === 'float16' || t === 'bfloat16');
  for (const dtype of o.dtypes) {
    for (const method of o.methods) {
      const plan = PLANS[method];
      for (const offset of o.offsets) {
        const acc = results.get(resultKey(method, offset, dtype))!;
        rows.push({
          method,
          dtype,
          ratio: Math.abs(offset) / scale,
          offset,
          scale,
          relError: maxOf(acc.errors),
          medianRelError: median(acc.errors),
          negativeCount: acc.negative,
          nanCount: acc.nan,
          channelTrials: C * T,
          constantChannels: acc.constant,
          outputMaxAbsError: acc.outputMax,
          rounds: plan.rounds,
          valuesPerAllreduce: plan.values(C),
          valuesFormula: plan.formula,
          bytesPerDevice: acc.bytes,
        });
      }
    }
  }
  return {
    settings: {
      rows: N,
      channels: C,
      devices: W,
      trials: T,
      seed: o.seed,
      eps,
      scale,
      offset: options.offset ?? null,
      ratios: o.offsets.map((off) => Math.abs(off) / scale),
      dtypes: o.dtypes,
      methods: o.methods,
      algorithm: ALGORITHM,
    },
    rows,
    ...(halfFormats.length > 0 ? { halfCounts: halfCountRows(halfFormats) } : {}),
  };
}

/**
 * A ratio as tables and labels show it: 1e+8 as '1e8', 100 as '1e2', 1 as '1', 3.5 as '3.5'.
 *
 * @param ratio - |mean| / std, >= 0.
 * @returns the short text.
 */
export function formatRatio(ratio: number): string {
  if (ratio === 0) return '0';
  const exp = Math.round(Math.log10(ratio));
  if (exp !== 0 && 10 ** exp === ratio) return `1e${exp}`;
  if (ratio >= 1e3 || ratio < 1e-2)
    return ratio
      .toExponential(2)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e');
  return String(Number(ratio.toPrecision(4)));
}
