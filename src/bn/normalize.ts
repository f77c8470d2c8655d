/**
 * y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel. The same kernel serves train mode
 * (batch statistics) and eval mode (running statistics): only the statistics passed in differ.
 */
import { kernelBackend } from '../kernels/backend.js';
import { checkBlock, checkLayout, checkNumber, checkNumbers, checkPerChannelStats } from '../args.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { normalizeWasm } from './normalize-wasm.js';

/**
 * 1 / sqrt(var + eps) per channel; a variance that cancellation made negative counts as zero.
 *
 * @param variance - the (biased) variance per channel.
 * @param eps - added to it, > 0.
 * @returns 1/std per channel, in float64.
 * @throws {@link InputError} when eps is not a positive finite number.
 */
export function inverseStd(variance: ArrayLike<number>, eps: number): Float64Array {
  checkNumbers('variance', variance, undefined, { finite: false });
  checkNumber('eps', eps, { above: 0 });
  const out = new Float64Array(variance.length);
  for (let c = 0; c < variance.length; c++) out[c] = 1 / Math.sqrt(Math.max(variance[c], 0) + eps);
  return out;
}

/**
 * Writes the normalized, scaled and shifted x into `out` (same length and layout as x), on this
 * thread's kernels: WebAssembly by default (src/bn/normalize-wasm.ts, the reference's bits),
 * `normalizeJs` when `js` is selected.
 * @param x - the input block of rows.
 * @param layout - its layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param bias - beta per channel, or none (0).
 * @param out - receives the output (may be x).
 */
export function normalize(
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  bias: ArrayLike<number> | undefined,
  out: FloatArray,
): void {
  const { channels: C } = checkLayout('layout', layout);
  checkBlock('x', x, layout);
  checkPerChannelStats('mean', mean, C);
  checkPerChannelStats('invStd', invStd, C);
  if (weight !== undefined) checkNumbers('weight', weight, C);
  if (bias !== undefined) checkNumbers('bias', bias, C);
  checkBlock('out', out, layout);
  (kernelBackend() === 'wasm' ? normalizeWasm : normalizeJs)(x, layout, mean, invStd, weight, bias, out);
}

/**
 * The JavaScript reference of `normalize`.
 * @param x - the input block of rows.
 * @param layout - its layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param bias - beta per channel, or none (0).
 * @param out - receives the output (may be x).
 */
export function normalizeJs(
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  bias: ArrayLike<number> | undefined,
  out: FloatArray,
): void {
  const { rows, channels: C, inner } = layout;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const mu = mean[c];
      const scale = (weight ? weight[c] : 1) * invStd[c];
      const shift = bias ? bias[c] : 0;
      const start = (r * C + c) * inner;
      const end = start + inner;
      for (let i = start; i < end; i++) out[i] = (x[i] - mu) * scale + shift;
    }
  }
}
