/**
 * The `run` job: batch norm on a user's own arrays, from .npy files to .npy files.
 * Loading, computing and turning results into files are separate steps so that the library can
 * call the middle one on arrays it already holds.
 */
import {
  type BatchNormOptions,
  type BatchNormResult,
  batchNorm,
  checkBatchNormInputs,
  resolveSettings,
} from '../bn/batch-norm.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import { Cluster, type DeviceStats, type RunningStatsOfRank } from '../cluster/cluster.js';
import { modeName, parseMode } from '../bn/modes.js';
import type { Fault } from '../cluster/protocol.js';
import { batchMoments } from '../bn/batch-moments.js';
import type { Moments } from '../bn/moments.js';
import { InputError, requireInput } from '../errors.js';
import type { HalfFormat } from '../half/formats.js';
import { overflowedCount, roundInPlace, toHalfStorage } from '../half/storage.js';
import type { NamedInput } from '../io/atomic-write.js';
import { nonFiniteChannels, nonFiniteIndices } from '../tensor/finite.js';
import { type NpyReadOptions, readNpyFile } from '../tensor/npy.js';
import { type Tensor, channelLayout } from '../tensor/tensor.js';
import { checkClusterRunSettings, checkRunInputPaths, checkRunInputs } from './option-checks.js';

/** Paths of the .npy files a run reads; only `input` is required. */
export interface RunInputPaths {
  /** The batch, [N,C] or [N,C,H,W], float32 or float64 (`--input`). */
  readonly input: string;
  /** dL/dy, the input's shape; without it the run stops after the forward pass (`--grad-output`). */
  readonly gradOutput?: string;
  /** gamma, 1-D [C]; default all ones (`--weight`). */
  readonly weight?: string;
  /** beta, 1-D [C]; default all zeros (`--bias`). */
  readonly bias?: string;
  /** The running mean before the step, 1-D [C]; default zeros (`--running-mean`). */
  readonly runningMean?: string;
  /** The running variance before the step, 1-D [C]; default ones (`--running-var`). */
  readonly runningVar?: string;
}

/** The arrays of a run, as {@link loadRunInputs} reads them from {@link RunInputPaths} or a caller builds them. */
export interface RunInputs {
  /** The batch, [N,C] or [N,C,H,W]. */
  readonly input: Tensor;
  /** dL/dy, the input's shape; without it only the forward pass runs. */
  readonly gradOutput?: Tensor;
  /** gamma, [C]; default all ones. */
  readonly weight?: Tensor;
  /** beta, [C]; default all zeros. */
  readonly bias?: Tensor;
  /** The running mean before the step, [C]; default zeros (also the shift of 'shifted-sums'). */
  readonly runningMean?: Tensor;
  /** The running variance before the step, [C]; default ones. */
  readonly runningVar?: Tensor;
}

/** The flag that names each input file, for messages. */
const INPUT_FLAGS: Readonly<Record<keyof RunInputPaths, string>> = {
  input: '--input',
  gradOutput: '--grad-output',
  weight: '--weight',
  bias: '--bias',
  runningMean: '--running-mean',
  runningVar: '--running-var',
};

/**
 * The input files given, named by their flags: no output may overwrite one of them.
 *
 * @param paths - the files of the run.
 * @returns one entry per path given, with the flag that named it.
 */
export function runInputFiles(paths: RunInputPaths): NamedInput[] {
  return (Object.keys(INPUT_FLAGS) as (keyof RunInputPaths)[]).flatMap((key) =>
    paths[key] === undefined ? [] : [{ path: paths[key]!, what: INPUT_FLAGS[key] }],
  );
}

/**
 * Every file `run` may write. A run writes some of them; the others, left by an earlier run in
 * the same directory, are removed in the same all-or-nothing commit.
 */
export const RUN_OUTPUT_NAMES: readonly string[] = [
  'output.npy',
  'grad_input.npy',
  'grad_weight.npy',
  'grad_bias.npy',
  'running_mean.npy',
  'running_var.npy',
  'stats.json',
];

/**
 * Loads every given file; per-channel files must be 1-D (but for the weight and bias with
 * `anyAffineShape`: layer norm's have the shape of one example, which the operator then checks).
 *
 * @param paths - the .npy files to read; only `input` is required.
 * @param options - `shared: true` reads the input and the gradient straight into shared memory,
 *   where simulated devices read them without a copy (for {@link runOnCluster}); default false.
 *   `anyAffineShape: true` lets the weight and bias have any shape (for `run --norm layer-norm`).
 * @returns the arrays, in the dtype each file holds.
 * @throws InputError naming the file: unreadable, not a .npy of float32 or float64, or a
 *   per-channel file that is not 1-D.
 */
export function loadRunInputs(
  paths: RunInputPaths,
  options: { readonly shared?: boolean; readonly anyAffineShape?: boolean } = {},
): RunInputs {
  checkRunInputPaths(paths);
  const shared: NpyReadOptions = options.shared
    ? { allocate: (dtype, length) => Cluster.sharedTensor([length], dtype).data }
    : {};
  const load = (path: string | undefined, what: string, oneDimensional: boolean): Tensor | undefined => {
    if (path === undefined) return undefined;
    const tensor = readNpyFile(path, what, oneDimensional ? {} : shared);
    if (oneDimensional && tensor.shape.length !== 1) {
      throw new InputError(
        `${what} ${path}: must be 1-D with one value per channel, got shape [${tensor.shape.join(',')}]`,
      );
    }
    return tensor;
  };
  return {
    input: load(paths.input, 'input', false)!,
    gradOutput: load(paths.gradOutput, 'grad output', false),
    weight: load(paths.weight, 'weight', options.anyAffineShape !== true),
    bias: load(paths.bias, 'bias', options.anyAffineShape !== true),
    runningMean: load(paths.runningMean, 'running mean', true),
    runningVar: load(paths.runningVar, 'running var', true),
  };
}

/**
 * How the operator runs: every option of `batchNorm` except the arrays, which come from
 * {@link RunInputs}. Defaults are PyTorch's (train mode, momentum 0.1, eps 1e-5, 'sums' in float64).
 */
export type RunSettings = Omit<BatchNormOptions, 'weight' | 'bias' | 'runningMean' | 'runningVar' | 'gradOutput'>;

/** How a run is spread over simulated devices. */
export interface ClusterRunSettings {
  /** Worker threads hosting the devices (1 to the devices); default min(devices, cores). Results do not depend on it. */
  readonly threads?: number;
  /** W: the simulated devices the batch is split over (as numpy.array_split splits it), 1 to MAX_DEVICES. */
  readonly devices: number;
  /** 'local', 'sync', 'group:K' or 'ghost:G'; default 'sync'. */
  readonly mode?: string;
  /** The all-reduce algorithm; default 'allgather' (DEFAULT_ALGORITHM). */
  readonly algorithm?: AlgorithmName;
  /** How long any device may wait for a peer before the run fails, in ms; default 30000. */
  readonly timeoutMs?: number;
  /** A failure to inject into one rank, to see how the cluster reports it; default none. */
  readonly fault?: Fault;
}

/** What the devices did in a cluster run. */
export interface ClusterRunDetails {
  /** W, as given. */
  readonly devices: number;
  /** The mode the devices ran, normalized ('sync', 'group:2', ...). */
  readonly mode: string;
  /** Per rank: its rows, its shard's statistics and the statistics it normalized with. */
  readonly perDevice: readonly DeviceStats[];
  /** Every rank's running statistics after the step (they differ between ranks unless the mode syncs). */
  readonly running: readonly RunningStatsOfRank[];
  /** Forward plus backward traffic. */
  readonly comm: {
    /** The all-reduce algorithm used. */
    readonly algorithm: AlgorithmName;
    /** Messages sent, summed over ranks. */
    readonly messages: number;
    /** Bytes sent, summed over ranks. */
    readonly bytes: number;
  };
}

/** What a run computed, with what it was given: enough for `runOutputFiles` (src/report/run-files.ts) to write every file. */
export interface RunReport {
  /** The output, the running statistics after the step and, given dL/dy, the gradients. */
  readonly result: BatchNormResult;
  /** Statistics of the whole input batch (what sync BN in train mode normalizes with). */
  readonly global: Moments;
  /** The arrays the run was given. */
  readonly inputs: RunInputs;
  /** The settings as given (defaults not filled in; `runStatsJson` in src/report/json/run-json.ts fills them). */
  readonly settings: RunSettings;
  /** Present when the run went through simulated devices. */
  readonly cluster?: ClusterRunDetails;
  /** The 16-bit format the input, grad output, output and grad input were stored in (`run --dtype`). */
  readonly storage?: HalfFormat;
}

/** What stats.json says of 16-bit storage. */
export const HALF_STORAGE_NOTE =
  'input and grad output rounded to the 16-bit format (round to nearest even), statistics computed from those values and kept in float32 or wider, ' +
  'weight, bias and running statistics in float32 (mixed precision, as PyTorch: acc_type<Half> is float), output and grad input rounded back to 16 bits; ' +
  'the .npy files hold float32 values that are exactly the 16-bit ones (numpy .astype(float16) is lossless)';

/**
 * Inputs stored in a 16-bit format: the input and grad output rounded (weight, bias and running
 * statistics stay as they are: float32 in mixed precision).
 * @param inputs - the loaded arrays.
 * @param format - float16 or bfloat16.
 * @returns the arrays as the devices hold them.
 * @throws InputError when a value overflows the format (float16's largest is 65504).
 */
export function storeInputsInHalf(inputs: RunInputs, format: HalfFormat): RunInputs {
  const store = (t: Tensor, what: string) => {
    const stored = toHalfStorage(t, format);
    const lost = overflowedCount(t.data, stored.data);
    requireInput(
      lost === 0,
      () =>
        `--dtype ${format}: ${lost} value${lost === 1 ? '' : 's'} of the ${what} overflow ${format} (largest finite ${format === 'float16' ? '65504' : '3.39e38'})`,
    );
    return stored;
  };
  return {
    ...inputs,
    input: store(inputs.input, 'input'),
    gradOutput: inputs.gradOutput ? store(inputs.gradOutput, 'grad output') : undefined,
  };
}

/**
 * A run's outputs stored back in a 16-bit format: output and grad input rounded in place.
 * @param report - the run.
 * @param format - float16 or bfloat16.
 * @returns the report, marked with its storage.
 */
export function storeOutputsInHalf(report: RunReport, format: HalfFormat): RunReport {
  roundInPlace(report.result.output.data, format);
  if (report.result.gradInput) roundInPlace(report.result.gradInput.data, format);
  return { ...report, storage: format };
}

/**
 * Runs the operator on loaded arrays, on one device.
 *
 * @param inputs - the arrays; `input` is required.
 * @param settings - the operator's options; every one has PyTorch's default.
 * @returns the result, the batch's own statistics (also in eval mode, where the output used the
 *   running ones), and what the run was given.
 * @throws InputError for unusable arrays or options, as `batchNorm` does.
 * @example
 * ```ts
 * const x = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [4, 2] };
 * const report = runBatchNorm({ input: x }, { stats: 'welford' });
 * report.global.mean; // [4, 5]
 * ```
 */
export function runBatchNorm(inputs: RunInputs, settings: RunSettings): RunReport {
  checkRunInputs(inputs);
  const result = batchNorm(inputs.input, {
    ...settings,
    weight: inputs.weight?.data,
    bias: inputs.bias?.data,
    runningMean: inputs.runningMean?.data,
    runningVar: inputs.runningVar?.data,
    gradOutput: inputs.gradOutput,
  });
  const training = settings.training ?? true;
  // In eval mode the output used the running statistics; the batch's own are still reported.
  const global = training
    ? result.stats
    : batchMoments(inputs.input.data, channelLayout(inputs.input.shape), { method: 'two-pass' });
  return { result, global, inputs, settings };
}

/**
 * Checks a run's inputs and options as {@link batchNorm} does, and computes what the run reports
 * of the whole batch without the single-device forward and backward: the statistics the output
 * was normalized with (the batch's in train mode, the running ones in eval mode) and the batch's.
 */
function wholeBatchStats(inputs: RunInputs, settings: RunSettings): { stats: Moments; global: Moments } {
  const options: BatchNormOptions = {
    ...settings,
    weight: inputs.weight?.data,
    bias: inputs.bias?.data,
    runningMean: inputs.runningMean?.data,
    runningVar: inputs.runningVar?.data,
    gradOutput: inputs.gradOutput,
  };
  const resolved = resolveSettings(options);
  const layout = checkBatchNormInputs(inputs.input, options, resolved.training);
  const x = inputs.input.data;
  if (resolved.training) {
    const shift = options.runningMean ?? new Float64Array(layout.channels);
    const stats = batchMoments(x, layout, { method: resolved.stats, accumulator: resolved.accumulator, shift });
    return { stats, global: stats };
  }
  const running = {
    count: layout.rows * layout.inner,
    mean: Float64Array.from(options.runningMean ?? new Float64Array(layout.channels)),
    var: Float64Array.from(options.runningVar ?? new Float64Array(layout.channels).fill(1)),
  };
  return { stats: running, global: batchMoments(x, layout, { method: 'two-pass' }) };
}

/**
 * Runs the operator over W simulated devices. Outputs and gradients are those of one loss over
 * the whole batch; the running statistics returned in `result` are rank 0's (as DDP's
 * broadcast_buffers would keep), and every rank's are in `cluster.running`. The single-device run
 * comes first, so bad input is refused before any thread starts; the cluster is closed on every path.
 *
 * @param inputs - the arrays; `input` is required.
 * @param settings - the operator's options; every one has PyTorch's default.
 * @param spread - the devices, mode, algorithm and timeout.
 * @returns the report of {@link runBatchNorm} with the cluster's output, gradients and running
 *   statistics, and `cluster` holding what each device did and what was sent.
 * @throws InputError for unusable arrays or settings, or a `skip` fault in a mode that
 *   does not communicate.
 * @throws a DeviceFailureError (crash, hang, timeout) naming the rank and phase when a device fails.
 * @example
 * ```ts
 * const report = await runOnCluster(loadRunInputs({ input: 'x.npy' }), {}, { devices: 4, mode: 'group:2' });
 * report.cluster?.comm.messages;
 * ```
 */
export async function runOnCluster(
  inputs: RunInputs,
  settings: RunSettings,
  spread: ClusterRunSettings,
): Promise<RunReport> {
  checkRunInputs(inputs);
  checkClusterRunSettings(spread);
  const mode = parseMode(spread.mode ?? 'sync', spread.devices);
  if (spread.fault?.kind === 'skip' && (mode.kind === 'local' || mode.kind === 'ghost')) {
    throw new InputError(
      `fault skip:${spread.fault.rank} needs a mode that communicates (sync or group:K), not ${modeName(mode)}`,
    );
  }
  // Everything is validated before any thread starts; of the single-device computation only the
  // whole batch's statistics are needed, and they cost one pass over the input.
  const whole = wholeBatchStats(inputs, settings);
  const cluster = Cluster.start({
    devices: spread.devices,
    threads: spread.threads,
    algorithm: spread.algorithm,
    stats: settings.stats,
    accumulator: settings.accumulator,
    timeoutMs: spread.timeoutMs,
    fault: spread.fault,
  });
  try {
    const C = inputs.input.shape[1];
    cluster.setRunningStats(
      inputs.runningMean?.data ?? new Float64Array(C),
      inputs.runningVar?.data ?? new Float64Array(C).fill(1),
    );
    const forward = await cluster.forward(inputs.input, {
      mode,
      training: settings.training ?? true,
      weight: inputs.weight?.data,
      bias: inputs.bias?.data,
      momentum: settings.momentum,
      eps: settings.eps,
      convention: settings.convention,
    });
    const backward = inputs.gradOutput ? await cluster.backward(inputs.gradOutput) : undefined;
    const running = cluster.runningStats();
    const like = inputs.input.data;
    const toDtype = (v: ArrayLike<number>) => {
      const out = like instanceof Float32Array ? new Float32Array(v.length) : new Float64Array(v.length);
      out.set(Array.from(v));
      return out;
    };
    const result: BatchNormResult = {
      output: forward.output,
      stats: whole.stats,
      runningMean: toDtype(running[0].mean),
      runningVar: toDtype(running[0].var),
      gradInput: backward?.gradInput,
      gradWeight: backward?.gradWeight,
      gradBias: backward?.gradBias,
    };
    return {
      global: whole.global,
      inputs,
      settings,
      result,
      cluster: {
        devices: spread.devices,
        mode: forward.mode,
        perDevice: forward.devices,
        running,
        comm: {
          algorithm: forward.comm.algorithm,
          messages: forward.comm.messages + (backward?.comm.messages ?? 0),
          bytes: forward.comm.bytes + (backward?.comm.bytes ?? 0),
        },
      },
    };
  } finally {
    await cluster.close();
  }
}

/** Where a run's result overflowed to NaN or infinity although its inputs were finite. */
export interface OverflowNote {
  /** 'batch statistics' or the name of an output file. */
  readonly in: string;
  /** The channels (or indices, for per-channel files) that hold NaN or infinity, ascending. */
  readonly channels: number[];
}

/** Largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Every place a run's result holds NaN or infinity. Inputs are checked to be finite, so any such
 * value is an overflow: float32 sums past 3.4e38, or a statistic too large for a float32 file.
 *
 * @param report - a run's report.
 * @returns one note per place that overflowed; empty when everything is finite.
 */
export function runOverflow(report: RunReport): OverflowNote[] {
  const { result, inputs } = report;
  const layout = channelLayout(inputs.input.shape);
  const notes: OverflowNote[] = [];
  const add = (where: string, channels: number[]) => {
    if (channels.length > 0) notes.push({ in: where, channels });
  };
  add(
    'batch statistics',
    [...new Set([...nonFiniteIndices(report.global.mean), ...nonFiniteIndices(report.global.var)])].sort(
      (a, b) => a - b,
    ),
  );
  add('output.npy', nonFiniteChannels(result.output.data, layout));
  if (result.gradInput) add('grad_input.npy', nonFiniteChannels(result.gradInput.data, layout));
  if (result.gradWeight) add('grad_weight.npy', nonFiniteIndices(result.gradWeight));
  if (result.gradBias) add('grad_bias.npy', nonFiniteIndices(result.gradBias));
  if (report.settings.training ?? true) {
    add('running_mean.npy', nonFiniteIndices(result.runningMean));
    add('running_var.npy', nonFiniteIndices(result.runningVar));
  }
  return notes;
}

/**
 * One line on an overflow: where, and what to do about it.
 *
 * @param notes - from {@link runOverflow}, not empty.
 * @param accumulator - the accumulator used ('float32' or 'float64'): a float32 one is the usual cause.
 * @param dtype - the input's dtype, named when the values themselves exceed it.
 * @returns the message, without a trailing newline.
 */
export function describeOverflow(notes: readonly OverflowNote[], accumulator: string, dtype: string): string {
  const list = (cs: readonly number[]) =>
    cs.length > 6 ? `${cs.slice(0, 6).join(', ')} and ${cs.length - 6} more` : cs.join(', ');
  const where = notes
    .map((n) => `${n.in} (channel${n.channels.length === 1 ? '' : 's'} ${list(n.channels)})`)
    .join(', ');
  const statsOverflowed = notes.some((n) => n.in === 'batch statistics');
  const why = statsOverflowed
    ? accumulator === 'float32'
      ? `float32 sums overflow past ${FLOAT32_MAX.toPrecision(2)}: use --accumulator float64`
      : 'the sums overflow float64'
    : `the values exceed ${dtype}`;
  return `the result overflowed to NaN or infinity in ${where}; ${why} (stats.json lists it under "overflow")`;
}

/** The shift of --stats shifted-sums, as stats.json states it (`settings.shift`). */
export interface ShiftNote {
  /** What the sums are shifted by. */
  readonly by: string;
  /** The channels where the shift is 0 (`zero_channels`): there the results are exactly those of sums. */
  readonly zeroChannels: readonly number[];
  /** Why that matters, when some channels have a zero shift. */
  readonly note?: string;
}

/**
 * The shift of --stats shifted-sums, and where it is zero (then the results are exactly those of sums).
 *
 * @param report - a run's report.
 * @returns what stats.json says of the shift, or undefined unless the run used shifted sums in train mode.
 */
export function shiftNote(report: RunReport): ShiftNote | undefined {
  const { settings, inputs } = report;
  if ((settings.stats ?? 'sums') !== 'shifted-sums' || !(settings.training ?? true)) return undefined;
  const C = inputs.input.shape[1];
  const shift = inputs.runningMean?.data ?? new Float64Array(C);
  const zero = Array.from({ length: C }, (_, c) => c).filter((c) => shift[c] === 0);
  const where = zero.length === C ? 'every channel' : `${zero.length} of ${C} channels`;
  return {
    by: 'the running mean before the step',
    zeroChannels: zero,
    ...(zero.length > 0
      ? {
          note: `the shift is 0 in ${where}, so there the results are exactly those of --stats sums (give --running-mean to shift)`,
        }
      : {}),
  };
}
