/**
 * The single-device batch-norm operator: forward (train or eval), optional backward and the
 * running-statistics update, composed from the pure kernels beside this file. Float32 input gives
 * float32 outputs; statistics and per-channel factors are always computed in float64.
 */
import { checkBoolean, checkChoice, checkNumber, checkNumbers, checkOptions, checkTensor } from '../args.js';
import { InputError, requireInput } from '../errors.js';
import { type ChannelLayout, type FloatArray, type Tensor, allocLike, channelLayout } from '../tensor/tensor.js';
import { type GradSums, gradInputEval, gradSums, gradTrain } from './backward.js';
import { type StatsMethod, STATS_METHODS, batchMoments } from './batch-moments.js';
import { forwardTrain } from './forward.js';
import type { Accumulator, Moments } from './moments.js';
import { inverseStd, normalize } from './normalize.js';
import { DEFAULT_MOMENTUM, type RunningConvention, updateRunningStats } from './running-stats.js';

export interface BatchNormOptions {
  /** Train mode normalizes with batch statistics and updates the running ones; default true. */
  readonly training?: boolean;
  /** Default 0.1 (pytorch convention) or 0.99 (keras). Must lie in [0, 1]. */
  readonly momentum?: number;
  /** Added to the variance; default 1e-5. Must be > 0. */
  readonly eps?: number;
  /** How batch statistics are computed; default 'sums'. */
  readonly stats?: StatsMethod;
  /** Precision of sums for 'sums' and 'shifted-sums'; default 'float64'. */
  readonly accumulator?: Accumulator;
  /** Running-statistics convention; default 'pytorch'. */
  readonly convention?: RunningConvention;
  /** gamma, shape [C]; default all ones. */
  readonly weight?: ArrayLike<number>;
  /** beta, shape [C]; default all zeros. */
  readonly bias?: ArrayLike<number>;
  /** Running mean before the step, shape [C]; default zeros. */
  readonly runningMean?: ArrayLike<number>;
  /** Running variance before the step, shape [C]; default ones. */
  readonly runningVar?: ArrayLike<number>;
  /** dL/dy, same shape as the input: when given, the backward pass runs too. */
  readonly gradOutput?: Tensor;
}

/** Fully resolved settings (every default filled in). */
export interface BatchNormSettings {
  readonly training: boolean;
  readonly momentum: number;
  readonly eps: number;
  readonly stats: StatsMethod;
  readonly accumulator: Accumulator;
  readonly convention: RunningConvention;
}

export interface BatchNormResult {
  readonly output: Tensor;
  /** The statistics the output was normalized with (batch ones in train mode). */
  readonly stats: Moments;
  /** Running statistics after the step (unchanged in eval mode), in the input's dtype. */
  readonly runningMean: FloatArray;
  readonly runningVar: FloatArray;
  readonly gradInput?: Tensor;
  readonly gradWeight?: FloatArray;
  readonly gradBias?: FloatArray;
}

/** Fills defaults and checks the scalar options; throws InputError naming the bad one. */
export function resolveSettings(options: BatchNormOptions): BatchNormSettings {
  checkOptions('options', options);
  const convention = options.convention === undefined ? 'pytorch' : checkChoice('convention', options.convention, ['pytorch', 'keras']);
  const momentum = options.momentum === undefined ? DEFAULT_MOMENTUM[convention] : checkNumber('momentum', options.momentum, { min: 0, max: 1 });
  const eps = options.eps === undefined ? 1e-5 : checkNumber('eps', options.eps, { above: 0 });
  const stats = options.stats === undefined ? 'sums' : checkChoice('stats', options.stats, STATS_METHODS);
  const accumulator = options.accumulator === undefined ? 'float64' : checkChoice('accumulator', options.accumulator, ['float64', 'float32']);
  const training = options.training === undefined ? true : checkBoolean('training', options.training);
  return { training, momentum, eps, stats, accumulator, convention };
}

/** Checks that a per-channel parameter has exactly C finite values. */
export function checkPerChannel(values: ArrayLike<number> | undefined, channels: number, name: string): void {
  if (values !== undefined) checkNumbers(name, values, channels);
}

/** Throws when any element is NaN or infinite: BN would silently spread it over a whole channel. */
export function checkFinite(data: ArrayLike<number>, name: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new InputError(`${name} contains ${data[i]} at flat index ${i}`);
  }
}

/** Validates the input tensor and the per-channel options against it; returns its layout. */
export function checkBatchNormInputs(
  input: Tensor,
  options: BatchNormOptions,
  training: boolean,
  { checkValues = true }: { checkValues?: boolean } = {},
): ChannelLayout {
  checkTensor('input', input);
  const layout = channelLayout(input.shape);
  if (training) {
    requireInput(layout.rows * layout.inner > 1, () => `expected more than 1 value per channel when training, got input shape [${input.shape.join(',')}]`);
  }
  if (checkValues) checkFinite(input.data, 'input');
  checkPerChannel(options.weight, layout.channels, 'weight');
  checkPerChannel(options.bias, layout.channels, 'bias');
  checkPerChannel(options.runningMean, layout.channels, 'running mean');
  checkPerChannel(options.runningVar, layout.channels, 'running var');
  if (options.runningVar) {
    for (let c = 0; c < layout.channels; c++) {
      requireInput(options.runningVar[c] >= 0, () => `running var must be >= 0, got ${options.runningVar![c]} at channel ${c}`);
    }
  }
  const dy = options.gradOutput;
  if (dy !== undefined) {
    checkTensor('gradOutput', dy);
    const same = dy.shape.length === input.shape.length && dy.shape.every((d, i) => d === input.shape[i]);
    requireInput(same, () => `grad output must have the input's shape [${input.shape.join(',')}], got [${dy.shape.join(',')}]`);
    if (checkValues) checkFinite(dy.data, 'grad output');
  }
  return layout;
}

function toDtypeOf(like: FloatArray, values: ArrayLike<number>): FloatArray {
  const out = allocLike(like, values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

/**
 * Batch norm on one device: the reference every distributed mode is held to.
 * Throws InputError for unusable input (bad shape, non-finite values, bad options).
 */
export function batchNorm(input: Tensor, options: BatchNormOptions = {}): BatchNormResult {
  const settings = resolveSettings(options);
  const layout = checkBatchNormInputs(input, options, settings.training);
  const C = layout.channels;
  const x = input.data;
  const runningMean = options.runningMean ?? new Float64Array(C);
  const runningVar = options.runningVar ?? new Float64Array(C).fill(1);

  const output = allocLike(x, x.length);
  let stats: Moments;
  let invStd: Float64Array;
  if (settings.training && settings.stats === 'sums' && settings.accumulator === 'float64') {
    // The default statistics: computed and applied in one pass over x (src/bn/forward.ts).
    const fused = forwardTrain(x, layout, settings.eps, options.weight, options.bias, output);
    stats = { count: fused.count, mean: fused.mean, var: fused.var };
    invStd = fused.invStd;
  } else {
    stats = settings.training
      ? batchMoments(x, layout, { method: settings.stats, accumulator: settings.accumulator, shift: runningMean })
      : { count: layout.rows * layout.inner, mean: Float64Array.from(runningMean), var: Float64Array.from(runningVar) };
    invStd = inverseStd(stats.var, settings.eps);
    normalize(x, layout, stats.mean, invStd, options.weight, options.bias, output);
  }

  const updated = settings.training
    ? updateRunningStats({ mean: runningMean, var: runningVar }, stats, settings.momentum, settings.convention)
    : { mean: runningMean, var: runningVar };

  const result: BatchNormResult = {
    output: { data: output, shape: [...input.shape] },
    stats,
    runningMean: toDtypeOf(x, updated.mean),
    runningVar: toDtypeOf(x, updated.var),
  };
  if (!options.gradOutput) return result;

  const dy = options.gradOutput.data;
  const gradInput = allocLike(x, x.length);
  let sums: GradSums;
  if (settings.training) {
    // The statistics are this batch's own: reductions and grad input fused (src/bn/backward.ts).
    sums = gradTrain(dy, x, layout, stats.mean, invStd, options.weight, gradInput);
  } else {
    sums = gradSums(dy, x, layout, stats.mean, invStd);
    gradInputEval(dy, layout, invStd, options.weight, gradInput);
  }
  return {
    ...result,
    gradInput: { data: gradInput, shape: [...input.shape] },
    gradWeight: toDtypeOf(x, sums.sumDyXhat),
    gradBias: toDtypeOf(x, sums.sumDy),
  };
}
