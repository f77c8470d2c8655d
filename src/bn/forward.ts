/**
 * The train-mode forward of a block whose statistics are its own (single-device BN; local and
 * ghost BN on a device): statistics by plain float64 sums, then normalize. Sync BN cannot use it,
 * since its statistics are all-reduced between the two.
 */
import { checkBlock, checkLayout, checkNumber, checkNumbers } from '../args.js';
import { kernelBackend } from '../kernels/backend.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { forwardTrainWasm } from './forward-wasm.js';
import { type Moments, momentsFromSums, sumStatsJs } from './moments.js';
import { inverseStd, normalizeJs } from './normalize.js';

/** What the train-mode forward returns besides its output. */
export interface ForwardStats extends Moments {
  /** 1 / sqrt(max(var, 0) + eps) per channel, as `inverseStd` gives it. */
  readonly invStd: Float64Array;
}

/**
 * `momentsFromSums(sumStats(x, layout))`, `inverseStd` and `normalize` in one call, with the same
 * result. On the WebAssembly kernels (the default) the statistics and the normalization of a
 * block of whole channels are done while the block is in cache, so x is read from memory once
 * (src/bn/forward-wasm.ts); the JavaScript reference runs the three steps in turn.
 * @param x - the input block of rows.
 * @param layout - its layout.
 * @param eps - added to the variance.
 * @param weight - gamma per channel, or none (1).
 * @param bias - beta per channel, or none (0).
 * @param out - receives the output (same length and layout as x; may be x).
 * @returns count, mean, biased variance and inverse standard deviation per channel.
 */
export function forwardTrain(
  x: FloatArray,
  layout: ChannelLayout,
  eps: number,
  weight: ArrayLike<number> | undefined,
  bias: ArrayLike<number> | undefined,
  out: FloatArray,
): ForwardStats {
  const { channels: C } = checkLayout('layout', layout);
  checkBlock('x', x, layout);
  checkNumber('eps', eps, { above: 0 });
  if (weight !== undefined) checkNumbers('weight', weight, C);
  if (bias !== undefined) checkNumbers('bias', bias, C);
  checkBlock('out', out, layout);
  if (kernelBackend() === 'wasm') return forwardTrainWasm(x, layout, eps, weight, bias, out);
  const stats = momentsFromSums(sumStatsJs(x, layout));
  const invStd = inverseStd(stats.var, eps);
  normalizeJs(x, layout, stats.mean, invStd, weight, bias, out);
  return { ...stats, invStd };
}
