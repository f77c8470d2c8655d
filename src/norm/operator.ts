/**
 * The single-device operator behind group norm, layer norm and instance norm (and, with the batch
 * axis, batch norm itself): statistics over the axes, normalize, optional backward. Float32 input
 * gives float32 outputs; statistics, per-set factors and gradients are computed in float64.
 */
import { checkNumber, checkOptions, checkTensor } from '../args.js';
import { checkFinite } from '../bn/batch-norm.js';
import { inverseStd } from '../bn/normalize.js';
import { requireInput } from '../errors.js';
import { type ChannelLayout, type FloatArray, type Tensor, allocLike, channelLayout } from '../tensor/tensor.js';
import { type AffineKind, affineGrads, checkAffine, normalizeSets, setGradInput, setGradSums } from './apply.js';
import { type StatsAxes, checkAxes } from './axes.js';
import { type SetMoments, setMoments } from './reduce.js';

/** Options every normalization operator takes. */
export interface NormOptions {
  /** Added to the variance; default 1e-5 (PyTorch's default for GroupNorm, LayerNorm, InstanceNorm). */
  readonly eps?: number;
  /** gamma: [C] per channel, or [C*H*W] for an elementwise affine; default all ones. */
  readonly weight?: ArrayLike<number>;
  /** beta, shaped as gamma; default all zeros. */
  readonly bias?: ArrayLike<number>;
  /** dL/dy, same shape as the input: when given, the backward pass runs too. */
  readonly gradOutput?: Tensor;
}

/** What a normalization operator returns. */
export interface NormResult {
  /** y, the input's shape and dtype. */
  readonly output: Tensor;
  /** The statistics each set was normalized with (count per set, mean, biased variance). */
  readonly stats: SetMoments;
  /** dL/dx, given dL/dy. */
  readonly gradInput?: Tensor;
  /** dL/dgamma, in the input's dtype. */
  readonly gradWeight?: FloatArray;
  /** dL/dbeta, in the input's dtype. */
  readonly gradBias?: FloatArray;
}

/**
 * Checks an input tensor, its gradient and the options; returns the layout and eps.
 * @param input - the input.
 * @param options - the options.
 * @param kind - the affine's kind (for the length of gamma and beta).
 * @returns the layout and eps.
 * @throws InputError for a bad shape, non-finite values or bad options.
 */
export function checkNormInputs(
  input: Tensor,
  options: NormOptions,
  kind: AffineKind,
): { layout: ChannelLayout; eps: number } {
  checkTensor('input', input);
  checkOptions('options', options);
  const layout = channelLayout(input.shape);
  checkFinite(input.data, 'input');
  const eps = options.eps === undefined ? 1e-5 : checkNumber('eps', options.eps, { above: 0 });
  checkAffine('affine', { kind, weight: options.weight, bias: options.bias }, layout);
  const dy = options.gradOutput;
  if (dy !== undefined) {
    checkTensor('gradOutput', dy);
    const same = dy.shape.length === input.shape.length && dy.shape.every((d, i) => d === input.shape[i]);
    requireInput(
      same,
      () => `grad output must have the input's shape [${input.shape.join(',')}], got [${dy.shape.join(',')}]`,
    );
    checkFinite(dy.data, 'grad output');
  }
  return { layout, eps };
}

function toDtypeOf(like: FloatArray, values: ArrayLike<number>): FloatArray {
  const out = allocLike(like, values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

/**
 * A normalization over `axes` with an affine of `kind`, on one device, forward and (with
 * `gradOutput`) backward.
 * @param input - [N, C] or [N, C, H, W].
 * @param axes - the axes of the statistics.
 * @param kind - per-channel or elementwise gamma and beta.
 * @param options - eps, gamma, beta, dL/dy.
 * @returns output, statistics and gradients.
 * @throws InputError for a bad shape, non-finite values, bad options or groups that do not divide C.
 */
export function normOperator(input: Tensor, axes: StatsAxes, kind: AffineKind, options: NormOptions = {}): NormResult {
  const { layout, eps } = checkNormInputs(input, options, kind);
  checkAxes('axes', axes, layout);
  const x = input.data;
  const stats = setMoments(x, layout, axes);
  const invStd = inverseStd(stats.var, eps);
  const affine = { kind, weight: options.weight, bias: options.bias };
  const output = allocLike(x, x.length);
  normalizeSets(x, layout, axes, stats.mean, invStd, affine, output);
  const result: NormResult = { output: { data: output, shape: [...input.shape] }, stats };
  if (!options.gradOutput) return result;
  const dy = options.gradOutput.data;
  const gradInput = allocLike(x, x.length);
  const sums = setGradSums(dy, x, layout, axes, stats.mean, invStd, affine);
  setGradInput(dy, x, layout, axes, stats.mean, invStd, affine, sums, stats.count, gradInput);
  const { gradWeight, gradBias } = affineGrads(dy, x, layout, axes, stats.mean, invStd, kind);
  return {
    ...result,
    gradInput: { data: gradInput, shape: [...input.shape] },
    gradWeight: toDtypeOf(x, gradWeight),
    gradBias: toDtypeOf(x, gradBias),
  };
}
