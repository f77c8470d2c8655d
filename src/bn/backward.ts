/**
 * Backward of batch norm. With xhat = (x - mean) * invStd:
 *   dbeta = sum(dy), dgamma = sum(dy * xhat),
 *   train: dx = gamma * invStd * (dy - dbeta/n - xhat * dgamma/n)
 *   eval:  dx = gamma * invStd * dy   (running statistics are constants)
 * For sync BN, n, sum(dy) and sum(dy * xhat) are the global (all-reduced) values.
 */
import { kernelBackend } from '../kernels/backend.js';
import { checkBlock, checkLayout, checkNumbers, checkObject, checkPerChannelStats, checkWhole } from '../args.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { gradInputEvalWasm, gradInputTrainWasm, gradSumsWasm, gradTrainWasm } from './backward-wasm.js';

/** Checks the arguments every backward kernel shares; returns the layout. */
function checkCommon(
  layout: unknown,
  blocks: Record<string, unknown>,
  stats: Record<string, unknown>,
  weight?: unknown,
): ChannelLayout {
  const checked = checkLayout('layout', layout);
  for (const [name, block] of Object.entries(blocks)) checkBlock(name, block, checked);
  for (const [name, values] of Object.entries(stats)) checkPerChannelStats(name, values, checked.channels);
  if (weight !== undefined) checkNumbers('weight', weight, checked.channels);
  return checked;
}

/** The two per-channel reductions of the backward pass. */
export interface GradSums {
  /** sum(dy) per channel: dbeta. */
  readonly sumDy: Float64Array;
  /** sum(dy * xhat) per channel: dgamma. */
  readonly sumDyXhat: Float64Array;
}

/**
 * The two per-channel reductions of the backward pass over one block of rows, in one pass over dy
 * and x, on this thread's kernels: WebAssembly by default (src/bn/backward-wasm.ts), `gradSumsJs`
 * when `js` is selected.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @returns sum(dy) and sum(dy * xhat) per channel.
 */
export function gradSums(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
): GradSums {
  checkCommon(layout, { dy, x }, { mean, invStd });
  return (kernelBackend() === 'wasm' ? gradSumsWasm : gradSumsJs)(dy, x, layout, mean, invStd);
}

/**
 * The JavaScript reference of `gradSums`.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @returns sum(dy) and sum(dy * xhat) per channel.
 */
export function gradSumsJs(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
): GradSums {
  const { rows, channels: C, inner } = layout;
  const sumDy = new Float64Array(C);
  const sumDyXc = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const mu = mean[c];
      const start = (r * C + c) * inner;
      const end = start + inner;
      let s = 0;
      let sx = 0;
      for (let i = start; i < end; i++) {
        const g = dy[i];
        s += g;
        sx += g * (x[i] - mu);
      }
      sumDy[c] += s;
      sumDyXc[c] += sx;
    }
  }
  // sum(dy * xhat) = invStd * sum(dy * (x - mean)): one multiply per channel, not per element.
  // An empty block sums to zero, whatever its (undefined) statistics.
  const empty = rows * inner === 0;
  const sumDyXhat = sumDyXc.map((v, c) => (empty ? 0 : v * invStd[c]));
  return { sumDy, sumDyXhat };
}

/**
 * Gradient of the input in train mode, written into `out`. `count` is n of the statistics the
 * forward pass used (global n for sync BN). On this thread's kernels: WebAssembly by default (the
 * reference's bits), `gradInputTrainJs` when `js` is selected.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param sums - sum(dy) and sum(dy * xhat) per channel (global for sync BN).
 * @param count - n of the statistics.
 * @param out - receives dx (may be dy or x).
 */
export function gradInputTrain(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  sums: GradSums,
  count: number,
  out: FloatArray,
): void {
  const { channels: C } = checkCommon(layout, { dy, x, out }, { mean, invStd }, weight);
  checkObject('sums', sums);
  checkPerChannelStats('sums.sumDy', sums.sumDy, C);
  checkPerChannelStats('sums.sumDyXhat', sums.sumDyXhat, C);
  checkWhole('count', count);
  (kernelBackend() === 'wasm' ? gradInputTrainWasm : gradInputTrainJs)(
    dy,
    x,
    layout,
    mean,
    invStd,
    weight,
    sums,
    count,
    out,
  );
}

/**
 * The JavaScript reference of `gradInputTrain`.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param sums - sum(dy) and sum(dy * xhat) per channel (global for sync BN).
 * @param count - n of the statistics.
 * @param out - receives dx (may be dy or x).
 */
export function gradInputTrainJs(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  sums: GradSums,
  count: number,
  out: FloatArray,
): void {
  const { rows, channels: C, inner } = layout;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const mu = mean[c];
      const is = invStd[c];
      const scale = (weight ? weight[c] : 1) * is;
      const meanDy = sums.sumDy[c] / count;
      // xhat * dgamma / n = (x - mean) * invStd * dgamma / n
      const k = (is * sums.sumDyXhat[c]) / count;
      const start = (r * C + c) * inner;
      const end = start + inner;
      for (let i = start; i < end; i++) out[i] = scale * (dy[i] - meanDy - (x[i] - mu) * k);
    }
  }
}

/**
 * Gradient of the input in eval mode, written into `out`; on this thread's kernels (WebAssembly by
 * default, the reference's bits; `gradInputEvalJs` when `js` is selected).
 * @param dy - gradient of the output.
 * @param layout - its layout.
 * @param invStd - 1 / sqrt(running var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param out - receives dx (may be dy).
 */
export function gradInputEval(
  dy: FloatArray,
  layout: ChannelLayout,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  out: FloatArray,
): void {
  checkCommon(layout, { dy, out }, { invStd }, weight);
  (kernelBackend() === 'wasm' ? gradInputEvalWasm : gradInputEvalJs)(dy, layout, invStd, weight, out);
}

/**
 * The JavaScript reference of `gradInputEval`.
 * @param dy - gradient of the output.
 * @param layout - its layout.
 * @param invStd - 1 / sqrt(running var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param out - receives dx (may be dy).
 */
export function gradInputEvalJs(
  dy: FloatArray,
  layout: ChannelLayout,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  out: FloatArray,
): void {
  const { rows, channels: C, inner } = layout;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const scale = (weight ? weight[c] : 1) * invStd[c];
      const start = (r * C + c) * inner;
      const end = start + inner;
      for (let i = start; i < end; i++) out[i] = scale * dy[i];
    }
  }
}

/**
 * The whole train-mode backward of a block whose statistics are its own (single-device, local or
 * ghost BN: n is the block's count): `gradSums` then `gradInputTrain`, with the same result. The
 * WebAssembly kernels fuse the two per block of whole channels, so that x and dy are read from
 * main memory once (src/bn/backward-wasm.ts); sync BN cannot, since its sums are all-reduced in
 * between.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param mean - the block's mean per channel.
 * @param invStd - 1 / sqrt(the block's var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param out - receives dx (may be dy or x).
 * @returns sum(dy) and sum(dy * xhat) per channel: dbeta and dgamma.
 */
export function gradTrain(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  out: FloatArray,
): GradSums {
  checkCommon(layout, { dy, x, out }, { mean, invStd }, weight);
  if (kernelBackend() === 'wasm') return gradTrainWasm(dy, x, layout, mean, invStd, weight, out);
  const sums = gradSumsJs(dy, x, layout, mean, invStd);
  gradInputTrainJs(dy, x, layout, mean, invStd, weight, sums, layout.rows * layout.inner, out);
  return sums;
}
