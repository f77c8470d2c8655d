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

/** Options of {@link batchNorm}: the mode, the statistics method, gamma and beta, the running statistics, and dL/dy. */
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

/** The scalar settings of a batch-norm step with every default filled in, as used. */
export interface BatchNormSettings {
  /** Train mode (batch statistics, running statistics updated) or eval mode. */
  readonly training: boolean;
  /** Running-statistics momentum, in [0, 1]. */
  readonly momentum: number;
  /** Added to the variance before the square root, > 0. */
  readonly eps: number;
  /** How the batch statistics were computed. */
  readonly stats: StatsMethod;
  /** Precision of the sums of 'sums' and 'shifted-sums'. */
  readonly accumulator: Accumulator;
  /** How the running statistics are updated. */
  readonly convention: RunningConvention;
}

/** What {@link batchNorm} returns: the output, the statistics used, the running statistics, and the gradients when asked. */
export interface BatchNormResult {
  /** y = gamma * (x - mean) / sqrt(var + eps) + beta, in the input's shape and dtype. */
  readonly output: Tensor;
  /** The statistics the output was normalized with (batch ones in train mode; biased variance). */
  readonly stats: Moments;
  /** Running mean after the step (unchanged in eval mode), in the input's dtype. */
  readonly runningMean: FloatArray;
  /** Running variance after the step (unchanged in eval mode), in the input's dtype. */
  readonly runningVar: FloatArray;
  /** dL/dx, in the input's shape and dtype (only with `gradOutput`). */
  readonly gradInput?: Tensor;
  /** dL/dgamma = sum(dy * xhat) per channel (only with `gradOutput`). */
  readonly gradWeight?: FloatArray;
  /** dL/dbeta = sum(dy) per channel (only with `gradOutput`). */
  readonly gradBias?: FloatArray;
}

/**
 * Fills in the defaults of the scalar options and checks them.
 *
 * @param options - the options of a batch-norm step.
 * @returns the settings as they will be used (momentum 0.1, or 0.99 for the keras convention; eps
 *   1e-5; stats 'sums'; accumulator 'float64'; convention 'pytorch'; training true).
 * @throws {@link InputError} naming the first bad option.
 */
export function resolveSettings(options: BatchNormOptions): BatchNormSettings {
  checkOptions('options', options);
  const convention =
    options.convention === undefined ? 'pytorch' : checkChoice('convention', options.convention, ['pytorch', 'keras']);
  const momentum =
    options.momentum === undefined
      ? DEFAULT_MOMENTUM[convention]
      : checkNumber('momentum', options.momentum, { min: 0, max: 1 });
  const eps = options.eps === undefined ? 1e-5 : checkNumber('eps', options.eps, { above: 0 });
  const stats = options.stats === undefined ? 'sums' : checkChoice('stats', options.stats, STATS_METHODS);
  const accumulator =
    options.accumulator === undefined
      ? 'float64'
      : checkChoice('accumulator', options.accumulator, ['float64', 'float32']);
  const training = options.training === undefined ? true : checkBoolean('training', options.training);
  return { training, momentum, eps, stats, accumulator, convention };
}

/**
 * Checks that a per-channel parameter, when given, has exactly C finite values.
 *
 * @param values - the parameter (gamma, beta, a running statistic), or undefined.
 * @param channels - C.
 * @param name - the parameter's name in messages.
 * @throws {@link InputError} naming the parameter.
 */
export function checkPerChannel(values: ArrayLike<number> | undefined, channels: number, name: string): void {
  if (values !== undefined) checkNumbers(name, values, channels);
}

/**
 * Refuses NaN and infinity: BN would silently spread one over a whole channel.
 *
 * @param data - the values.
 * @param name - the array's name in messages.
 * @throws {@link InputError} naming the first non-finite value and its flat index.
 */
export function checkFinite(data: ArrayLike<number>, name: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new InputError(`${name} contains ${data[i]} at flat index ${i}`);
  }
}

/**
 * Validates the input tensor, and the per-channel options and the gradient against it.
 *
 * @param input - the batch, [N,C] or [N,C,H,W].
 * @param options - the step's options (gamma, beta, running statistics, gradOutput).
 * @param training - train mode needs more than one value per channel.
 * @param flags - `checkValues: false` skips the scan for NaN and infinity (a caller that scans elsewhere).
 * @returns the input's channel layout.
 * @throws {@link InputError} naming the problem.
 */
export function checkBatchNormInputs(
  input: Tensor,
  options: BatchNormOptions,
  training: boolean,
  { checkValues = true }: { checkValues?: boolean } = {},
): ChannelLayout {
  checkTensor('input', input);
  const layout = channelLayout(input.shape);
  if (training) {
    requireInput(
      layout.rows * layout.inner > 1,
      () => `expected more than 1 value per channel when training, got input shape [${input.shape.join(',')}]`,
    );
  }
  if (checkValues) checkFinite(input.data, 'input');
  checkPerChannel(options.weight, layout.channels, 'weight');
  checkPerChannel(options.bias, layout.channels, 'bias');
  checkPerChannel(options.runningMean, layout.channels, 'running mean');
  checkPerChannel(options.runningVar, layout.channels, 'running var');
  if (options.runningVar) {
    for (let c = 0; c < layout.channels; c++) {
      requireInput(
        options.runningVar[c] >= 0,
        () => `running var must be >= 0, got ${options.runningVar![c]} at channel ${c}`,
      );
    }
  }
  const dy = options.gradOutput;
  if (dy !== undefined) {
    checkTensor('gradOutput', dy);
    const same = dy.shape.length === input.shape.length && dy.shape.every((d, i) => d === input.shape[i]);
    requireInput(
      same,
      () => `grad output must have the input's shape [${input.shape.join(',')}], got [${dy.shape.join(',')}]`,
    );
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
 * Batch norm on one device: the forward pass (train or eval), the running-statistics update and,
 * given `gradOutput`, the backward pass, as PyTorch's BatchNorm1d/BatchNorm2d compute them. The
 * reference every distributed mode is held to. Statistics are computed in float64 whatever the
 * input's dtype; outputs keep the input's dtype.
 *
 * @param input - the batch, [N,C] (per feature) or [N,C,H,W] (per channel), float32 or float64, C order.
 * @param options - mode, statistics method, gamma and beta, running statistics, dL/dy; every field
 *   has a default (PyTorch's: momentum 0.1, eps 1e-5, gamma 1, beta 0, running mean 0 and variance 1).
 * @returns the output, the statistics it was normalized with, the running statistics after the
 *   step and, with `gradOutput`, dL/dx, dL/dgamma and dL/dbeta.
 * @throws {@link InputError} for unusable input: a shape that is not 2-D or 4-D, one value per
 *   channel in train mode, NaN or infinity, per-channel arrays that are not [C], a gradient of
 *   another shape, an option out of range.
 * @example
 * ```ts
 * import { batchNorm } from 'syncbn-sim';
 *
 * // [N=4, C=2]: channel 0 holds 1, 3, 5, 7 and channel 1 holds 2, 4, 6, 8.
 * const x = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [4, 2] };
 * const dy = { data: new Float32Array([1, 0, 0, 1, -1, 0, 0, -1]), shape: [4, 2] };
 * const r = batchNorm(x, { stats: 'welford', weight: [1, 0.5], gradOutput: dy });
 * r.stats.mean; // [4, 5]
 * r.stats.var; // [5, 5] (biased)
 * r.runningMean; // [0.4, 0.5]: 0.1 * mean
 * r.gradWeight; // dL/dgamma per channel
 * ```
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
