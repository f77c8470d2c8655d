/**
 * Filter Response Normalization with a Thresholded Linear Unit (Singh and Krishnan 2020):
 *   nu2 = mean(x^2) over (H, W) per sample and channel
 *   xhat = x / sqrt(nu2 + eps),  y = max(gamma * xhat + beta, tau)
 * No mean is subtracted and no batch statistic is used. On [N, C] inputs (or 1x1 maps) nu2 is
 * x^2 itself and xhat is nearly sign(x) unless eps is large: the paper learns eps there,
 * eps = eps0 + |epsL| per channel, which `learnedEps` provides.
 *
 * Backward, with z = gamma * xhat + beta and s = 1 / sqrt(nu2 + eps): dz = dy where z >= tau (a
 * tie passes to z), dtau = sum of dy elsewhere; dxhat = gamma * dz;
 *   dx = s * (dxhat - xhat * mean(dxhat * xhat)),  deps = -s^2 / 2 * sum(dxhat * xhat)
 * with the mean and sum over the (sample, channel) set.
 */
import { checkBlock, checkLayout, checkNumber, checkNumbers, checkOptions, checkPerChannelStats } from '../args.js';
import { type ChannelLayout, type FloatArray, type Tensor, allocLike } from '../tensor/tensor.js';
import { sampleAxes } from './axes.js';
import { checkNormInputs } from './operator.js';
import { setMeanSquares } from './reduce.js';

/** Default eps0 of FRN (the paper's 1e-6). */
export const FRN_EPS = 1e-6;

/** Per-channel parameters of FRN; any left out take their identity value. */
export interface FrnParams {
  /** gamma [C], default 1. */
  readonly weight?: ArrayLike<number>;
  /** beta [C], default 0. */
  readonly bias?: ArrayLike<number>;
  /** tau [C], the TLU threshold, default 0 (a ReLU after the affine); -Infinity turns the TLU off. */
  readonly tau?: ArrayLike<number>;
  /** epsL [C]: eps = eps0 + |epsL| per channel; left out: eps = eps0. */
  readonly learnedEps?: ArrayLike<number>;
}

/** Options of the FRN operator. */
export interface FrnOptions extends FrnParams {
  /** eps0, default 1e-6. */
  readonly eps?: number;
  /** dL/dy, same shape as the input: when given, the backward pass runs too. */
  readonly gradOutput?: Tensor;
}

/** The gradients of FRN's per-channel parameters, in float64. */
export interface FrnParamGrads {
  /** dL/dgamma, [C]. */
  readonly gradWeight: Float64Array;
  /** dL/dbeta, [C]. */
  readonly gradBias: Float64Array;
  /** dL/dtau, [C]: the sum of dy where the TLU clipped. */
  readonly gradTau: Float64Array;
  /** d/d epsL (zero where epsL is zero, the kink of |epsL|). */
  readonly gradEps: Float64Array;
}

/** What the FRN operator returns. */
export interface FrnResult {
  /** y, the input's shape and dtype. */
  readonly output: Tensor;
  /** mean(x^2) per (sample, channel), N x C values. */
  readonly nu2: Float64Array;
  /** dL/dx, given dL/dy. */
  readonly gradInput?: Tensor;
  /** dL/dgamma, given dL/dy, in the input's dtype. */
  readonly gradWeight?: FloatArray;
  /** dL/dbeta, given dL/dy. */
  readonly gradBias?: FloatArray;
  /** dL/dtau, given dL/dy. */
  readonly gradTau?: FloatArray;
  /** dL/depsL, given dL/dy (zeros without learnedEps). */
  readonly gradEps?: FloatArray;
}

function checkParams(params: FrnParams, C: number): void {
  checkOptions('params', params);
  if (params.weight !== undefined) checkNumbers('weight', params.weight, C);
  if (params.bias !== undefined) checkNumbers('bias', params.bias, C);
  if (params.tau !== undefined) {
    const tau = checkNumbers('tau', params.tau, C, { finite: false });
    for (let c = 0; c < C; c++) if (Number.isNaN(tau[c]) || tau[c] === Infinity) checkNumber(`tau[${c}]`, tau[c]);
  }
  if (params.learnedEps !== undefined) checkNumbers('learnedEps', params.learnedEps, C);
}

/**
 * 1 / sqrt(nu2 + eps0 + |epsL|) per (sample, channel).
 * @param nu2 - mean of squares per (sample, channel).
 * @param channels - C.
 * @param eps - eps0.
 * @param learnedEps - epsL per channel, or none.
 * @returns the factor per (sample, channel).
 * @throws InputError when eps is not positive.
 */
export function frnInverseRms(
  nu2: ArrayLike<number>,
  channels: number,
  eps: number,
  learnedEps?: ArrayLike<number>,
): Float64Array {
  checkNumber('eps', eps, { above: 0 });
  const out = new Float64Array(nu2.length);
  for (let i = 0; i < nu2.length; i++) {
    const c = i % channels;
    out[i] = 1 / Math.sqrt(nu2[i] + eps + (learnedEps ? Math.abs(learnedEps[c]) : 0));
  }
  return out;
}

/**
 * FRN and TLU forward into `out`, given the factor per (sample, channel).
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param invRms - 1 / sqrt(nu2 + eps) per (sample, channel).
 * @param params - gamma, beta, tau.
 * @param out - receives y (may be x).
 * @throws InputError when a block or a parameter does not fit the layout.
 */
export function frnForward(
  x: FloatArray,
  layout: ChannelLayout,
  invRms: ArrayLike<number>,
  params: FrnParams,
  out: FloatArray,
): void {
  const { rows, channels: C, inner } = checkLayout('layout', layout);
  checkBlock('x', x, layout);
  checkBlock('out', out, layout);
  checkPerChannelStats('invRms', invRms, rows * C);
  checkParams(params, C);
  const { weight, bias, tau } = params;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const scale = (weight ? weight[c] : 1) * invRms[r * C + c];
      const shift = bias ? bias[c] : 0;
      const t = tau ? tau[c] : 0;
      const start = (r * C + c) * inner;
      for (let i = start; i < start + inner; i++) {
        const z = x[i] * scale + shift;
        // biome-ignore lint/complexity/useMathMinMax: Math.max would turn a NaN z into NaN; the TLU keeps t, as PyTorch's max(z, tau) compare does
        out[i] = z >= t ? z : t;
      }
    }
  }
}

/**
 * FRN and TLU backward: writes dL/dx into `dx` and returns the parameter gradients.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param invRms - 1 / sqrt(nu2 + eps) per (sample, channel), as the forward used.
 * @param params - gamma, beta, tau, epsL.
 * @param dx - receives dL/dx (may be dy).
 * @returns dL/dgamma, dL/dbeta, dL/dtau, dL/depsL.
 * @throws InputError when a block or a parameter does not fit the layout.
 */
export function frnBackward(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  invRms: ArrayLike<number>,
  params: FrnParams,
  dx: FloatArray,
): FrnParamGrads {
  const { rows, channels: C, inner } = checkLayout('layout', layout);
  for (const [name, block] of [
    ['dy', dy],
    ['x', x],
    ['dx', dx],
  ] as const)
    checkBlock(name, block, layout);
  checkPerChannelStats('invRms', invRms, rows * C);
  checkParams(params, C);
  const { weight, bias, tau, learnedEps } = params;
  const gradWeight = new Float64Array(C);
  const gradBias = new Float64Array(C);
  const gradTau = new Float64Array(C);
  const gradEps = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const s = invRms[r * C + c];
      const g = weight ? weight[c] : 1;
      const shift = bias ? bias[c] : 0;
      const t = tau ? tau[c] : 0;
      const start = (r * C + c) * inner;
      // First pass: which elements pass the TLU, and sum(dxhat * xhat) over the set.
      let sumGX = 0;
      for (let i = start; i < start + inner; i++) {
        const xhat = x[i] * s;
        if (g * xhat + shift >= t) {
          gradWeight[c] += dy[i] * xhat;
          gradBias[c] += dy[i];
          sumGX += g * dy[i] * xhat;
        } else {
          gradTau[c] += dy[i];
        }
      }
      const k = sumGX / inner;
      for (let i = start; i < start + inner; i++) {
        const xhat = x[i] * s;
        const dxhat = g * xhat + shift >= t ? g * dy[i] : 0;
        dx[i] = s * (dxhat - xhat * k);
      }
      if (learnedEps) gradEps[c] += -0.5 * s * s * sumGX * Math.sign(learnedEps[c]);
    }
  }
  return { gradWeight, gradBias, gradTau, gradEps };
}

function toDtypeOf(like: FloatArray, values: ArrayLike<number>): FloatArray {
  const out = allocLike(like, values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

/**
 * FRN with TLU on one device, forward and (with `gradOutput`) backward.
 * @param input - [N, C] or [N, C, H, W].
 * @param options - eps0, gamma, beta, tau, epsL, dL/dy.
 * @returns output, nu2 and gradients.
 * @throws InputError for a bad shape, non-finite values or bad options.
 * @example
 * ```ts
 * // No batch statistics: each sample's channel is divided by its own root mean square.
 * const r = filterResponseNorm({ data: new Float32Array([3, -4, 4, 3]), shape: [2, 2] });
 * r.nu2; // [9, 16, 16, 9]
 * r.output.data; // [1, 0, 1, 1]: -1 clipped by the TLU (tau 0)
 * ```
 */
export function filterResponseNorm(input: Tensor, options: FrnOptions = {}): FrnResult {
  const eps = options.eps === undefined ? FRN_EPS : checkNumber('eps', options.eps, { above: 0 });
  const { layout } = checkNormInputs(input, { gradOutput: options.gradOutput }, 'channel');
  checkParams(options, layout.channels);
  const x = input.data;
  const nu2 = setMeanSquares(x, layout, sampleAxes(layout.channels)).var;
  const invRms = frnInverseRms(nu2, layout.channels, eps, options.learnedEps);
  const output = allocLike(x, x.length);
  frnForward(x, layout, invRms, options, output);
  const result: FrnResult = { output: { data: output, shape: [...input.shape] }, nu2 };
  if (!options.gradOutput) return result;
  const gradInput = allocLike(x, x.length);
  const grads = frnBackward(options.gradOutput.data, x, layout, invRms, options, gradInput);
  return {
    ...result,
    gradInput: { data: gradInput, shape: [...input.shape] },
    gradWeight: toDtypeOf(x, grads.gradWeight),
    gradBias: toDtypeOf(x, grads.gradBias),
    gradTau: toDtypeOf(x, grads.gradTau),
    gradEps: toDtypeOf(x, grads.gradEps),
  };
}
