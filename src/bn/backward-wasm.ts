/**
 * The batch-norm backward pass (src/bn/backward.ts) on the WebAssembly SIMD kernels of
 * assembly/bn-grad-sums.ts and bn-grad-input.ts.
 *
 * - `gradSumsWasm`: sum(dy) and sum(dy * (x - mean)) in one pass over x and dy (both sums read dy
 *   once, as PyTorch's CPU kernel does); equal to the reference up to the order of the additions.
 * - `gradInputTrainWasm`, `gradInputEvalWasm`: dx from given sums; the reference's bits.
 * - `gradTrainWasm`: both, fused, when the statistics are the block's own (single-device, local and
 *   ghost BN). PyTorch's CPU backward loops channel by channel, reducing a channel's planes and
 *   then computing that channel's dx while its planes are still in cache
 *   (aten/src/ATen/native/cpu/batch_norm_kernel.cpp, batch_norm_cpu_backward_contiguous_impl).
 *   Here a block of whole channels is staged once, reduced, turned into dx in place and copied
 *   out: x and dy cross main memory once instead of twice. Sync BN cannot fuse the two, since the
 *   sums must be all-reduced across devices before dx can start.
 */
import { wasmRuntime } from '../kernels/wasm-runtime.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import type { GradSums } from './backward.js';
import {
  STAGE_BYTES,
  type Block,
  arena,
  fusedBlocks,
  blockElements,
  putChannels,
  rowBlocks,
  stageIn,
  stageOut,
  takeChannels,
} from './staging.js';

function largest(layout: ChannelLayout, blocks: readonly Block[]): number {
  let most = 0;
  for (const b of blocks) most = Math.max(most, blockElements(layout, b));
  return most;
}

/**
 * The reference's factors of train-mode dx per channel (src/bn/backward.ts, gradInputTrain).
 * @returns scale = gamma * invStd, meanDy = sum(dy) / n and k = invStd * sum(dy * xhat) / n.
 */
function trainFactors(
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  sums: GradSums,
  count: number,
): { scale: Float64Array; meanDy: Float64Array; k: Float64Array } {
  const C = invStd.length;
  const scale = new Float64Array(C);
  const meanDy = new Float64Array(C);
  const k = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const is = invStd[c];
    scale[c] = (weight ? weight[c] : 1) * is;
    meanDy[c] = sums.sumDy[c] / count;
    k[c] = (is * sums.sumDyXhat[c]) / count;
  }
  return { scale, meanDy, k };
}

/** sum(dy * xhat) from sum(dy * (x - mean)), as the reference finishes it (an empty block sums to 0). */
function finishSums(sumDy: Float64Array, sumDyXc: Float64Array, invStd: ArrayLike<number>, empty: boolean): GradSums {
  return { sumDy, sumDyXhat: sumDyXc.map((v, c) => (empty ? 0 : v * invStd[c])) };
}

/**
 * `gradSums` on the WebAssembly kernels.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @returns sum(dy) and sum(dy * xhat) per channel.
 * @throws WasmKernelError when the module cannot be loaded.
 */
export function gradSumsWasm(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
): GradSums {
  const rt = wasmRuntime();
  const C = layout.channels;
  const bytes = x.BYTES_PER_ELEMENT;
  const blocks = rowBlocks(layout, STAGE_BYTES / bytes);
  const block = largest(layout, blocks) * bytes;
  const [meanAt, sAt, sxAt, dyAt, xAt] = arena(rt, [C * 8, C * 8, C * 8, block, block]);
  putChannels(rt, meanAt, mean);
  rt.heap64.fill(0, sAt / 8, sxAt / 8 + C);
  const kernel = x instanceof Float32Array ? rt.kernels.bnGradSumsF32 : rt.kernels.bnGradSumsF64;
  for (const b of blocks) {
    stageIn(rt, dy, layout, b, dyAt);
    stageIn(rt, x, layout, b, xAt);
    const c = b.c0 * 8;
    kernel(dyAt, xAt, b.r1 - b.r0, b.c1 - b.c0, layout.inner, meanAt + c, sAt + c, sxAt + c);
  }
  return finishSums(takeChannels(rt, sAt, C), takeChannels(rt, sxAt, C), invStd, layout.rows * layout.inner === 0);
}

/**
 * `gradInputTrain` on the WebAssembly kernels: the reference's bits.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param sums - sum(dy) and sum(dy * xhat) per channel (global ones for sync BN).
 * @param count - n of the statistics (global n for sync BN).
 * @param out - receives dx (may be dy or x).
 * @throws WasmKernelError when the module cannot be loaded.
 */
export function gradInputTrainWasm(
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
  const blocks = rowBlocks(layout, STAGE_BYTES / x.BYTES_PER_ELEMENT);
  if (blocks.length === 0) return;
  const rt = wasmRuntime();
  const C = layout.channels;
  const bytes = x.BYTES_PER_ELEMENT;
  const block = largest(layout, blocks) * bytes;
  const { scale, meanDy, k } = trainFactors(invStd, weight, sums, count);
  const [meanAt, scaleAt, mdAt, kAt, dyAt, xAt] = arena(rt, [C * 8, C * 8, C * 8, C * 8, block, block]);
  putChannels(rt, meanAt, mean);
  putChannels(rt, scaleAt, scale);
  putChannels(rt, mdAt, meanDy);
  putChannels(rt, kAt, k);
  const kernel = x instanceof Float32Array ? rt.kernels.bnGradInputF32 : rt.kernels.bnGradInputF64;
  for (const b of blocks) {
    stageIn(rt, dy, layout, b, dyAt);
    stageIn(rt, x, layout, b, xAt);
    const c = b.c0 * 8;
    kernel(dyAt, xAt, b.r1 - b.r0, b.c1 - b.c0, layout.inner, meanAt + c, scaleAt + c, mdAt + c, kAt + c, dyAt);
    stageOut(rt, out, layout, b, dyAt);
  }
}

/**
 * `gradInputEval` on the WebAssembly kernels: the reference's bits.
 * @param dy - gradient of the output.
 * @param layout - its layout.
 * @param invStd - 1 / sqrt(running var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param out - receives dx (may be dy).
 * @throws WasmKernelError when the module cannot be loaded.
 */
export function gradInputEvalWasm(
  dy: FloatArray,
  layout: ChannelLayout,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  out: FloatArray,
): void {
  const blocks = rowBlocks(layout, STAGE_BYTES / dy.BYTES_PER_ELEMENT);
  if (blocks.length === 0) return;
  const rt = wasmRuntime();
  const C = layout.channels;
  const scale = new Float64Array(C);
  for (let c = 0; c < C; c++) scale[c] = (weight ? weight[c] : 1) * invStd[c];
  const [scaleAt, dyAt] = arena(rt, [C * 8, largest(layout, blocks) * dy.BYTES_PER_ELEMENT]);
  putChannels(rt, scaleAt, scale);
  const kernel = dy instanceof Float32Array ? rt.kernels.bnGradScaleF32 : rt.kernels.bnGradScaleF64;
  for (const b of blocks) {
    stageIn(rt, dy, layout, b, dyAt);
    kernel(dyAt, b.r1 - b.r0, b.c1 - b.c0, layout.inner, scaleAt + b.c0 * 8, dyAt);
    stageOut(rt, out, layout, b, dyAt);
  }
}

/**
 * `gradTrain` on the WebAssembly kernels: the sums and dx of a block whose statistics are its own,
 * fused per block of whole channels; separate passes when a channel does not fit the staging
 * budget (src/bn/staging.ts, `channelBlocks`). Same bits as `gradSumsWasm` followed by
 * `gradInputTrainWasm`, either way.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param out - receives dx (may be dy or x).
 * @returns sum(dy) and sum(dy * xhat) per channel.
 * @throws WasmKernelError when the module cannot be loaded.
 */
export function gradTrainWasm(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  out: FloatArray,
): GradSums {
  const bytes = x.BYTES_PER_ELEMENT;
  const blocks = fusedBlocks(layout, bytes);
  const count = layout.rows * layout.inner;
  if (!blocks) {
    const sums = gradSumsWasm(dy, x, layout, mean, invStd);
    gradInputTrainWasm(dy, x, layout, mean, invStd, weight, sums, count, out);
    return sums;
  }
  const rt = wasmRuntime();
  const C = layout.channels;
  const block = largest(layout, blocks) * bytes;
  const [meanAt, sAt, sxAt, scaleAt, mdAt, kAt, dyAt, xAt] = arena(rt, [
    C * 8,
    C * 8,
    C * 8,
    C * 8,
    C * 8,
    C * 8,
    block,
    block,
  ]);
  putChannels(rt, meanAt, mean);
  rt.heap64.fill(0, sAt / 8, sxAt / 8 + C);
  const f32 = x instanceof Float32Array;
  const reduce = f32 ? rt.kernels.bnGradSumsF32 : rt.kernels.bnGradSumsF64;
  const apply = f32 ? rt.kernels.bnGradInputF32 : rt.kernels.bnGradInputF64;
  const heap64 = rt.heap64;
  for (const b of blocks) {
    stageIn(rt, dy, layout, b, dyAt);
    stageIn(rt, x, layout, b, xAt);
    const cb = b.c1 - b.c0;
    const c = b.c0 * 8;
    reduce(dyAt, xAt, b.r1 - b.r0, cb, layout.inner, meanAt + c, sAt + c, sxAt + c);
    // This block's channels are complete: their factors, as the reference computes them.
    for (let j = b.c0; j < b.c1; j++) {
      const is = invStd[j];
      const sumDy = heap64[sAt / 8 + j];
      const sumDyXhat = heap64[sxAt / 8 + j] * is;
      heap64[scaleAt / 8 + j] = (weight ? weight[j] : 1) * is;
      heap64[mdAt / 8 + j] = sumDy / count;
      heap64[kAt / 8 + j] = (is * sumDyXhat) / count;
    }
    apply(dyAt, xAt, b.r1 - b.r0, cb, layout.inner, meanAt + c, scaleAt + c, mdAt + c, kAt + c, dyAt);
    stageOut(rt, out, layout, b, dyAt);
  }
  return finishSums(takeChannels(rt, sAt, C), takeChannels(rt, sxAt, C), invStd, false);
}
