/**
 * `forwardTrain` (src/bn/forward.ts) on the WebAssembly kernels: sums and normalization fused per
 * block of whole channels. A block is staged once, summed (assembly/bn-sums.ts), its channels'
 * mean, variance and inverse standard deviation computed here exactly as `momentsFromSums` and
 * `inverseStd` compute them, normalized in place (assembly/bn-normalize.ts) and copied out: x
 * crosses main memory once instead of twice. PyTorch's CPU forward does not fuse these (it
 * collects statistics channel by channel, reading each channel twice while it is in cache, then
 * transforms the whole input in a separate pass). When a channel does not fit the staging budget,
 * the separate passes run instead; the result is the same bits either way.
 */
import { wasmRuntime } from '../kernels/wasm-runtime.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import type { ForwardStats } from './forward.js';
import { momentsFromSums } from './moments.js';
import { sumStatsWasm } from './moments-wasm.js';
import { inverseStd } from './normalize.js';
import { normalizeWasm } from './normalize-wasm.js';
import { arena, blockElements, fusedBlocks, putChannels, stageIn, stageOut } from './staging.js';

/**
 * The train-mode forward of a block with its own statistics, on the WebAssembly kernels.
 * @param x - the input block of rows.
 * @param layout - its layout.
 * @param eps - added to the variance.
 * @param weight - gamma per channel, or none (1).
 * @param bias - beta per channel, or none (0).
 * @param out - receives the output (may be x).
 * @returns count, mean, biased variance and inverse standard deviation per channel.
 * @throws WasmKernelError when the module cannot be loaded.
 */
export function forwardTrainWasm(
  x: FloatArray,
  layout: ChannelLayout,
  eps: number,
  weight: ArrayLike<number> | undefined,
  bias: ArrayLike<number> | undefined,
  out: FloatArray,
): ForwardStats {
  const blocks = fusedBlocks(layout, x.BYTES_PER_ELEMENT);
  if (!blocks) {
    const stats = momentsFromSums(sumStatsWasm(x, layout));
    const invStd = inverseStd(stats.var, eps);
    normalizeWasm(x, layout, stats.mean, invStd, weight, bias, out);
    return { ...stats, invStd };
  }
  const rt = wasmRuntime();
  const C = layout.channels;
  const count = layout.rows * layout.inner;
  let most = 0;
  for (const b of blocks) most = Math.max(most, blockElements(layout, b));
  const [zeroAt, sumAt, sqAt, meanAt, scaleAt, shiftAt, xAt] = arena(rt, [
    C * 8,
    C * 8,
    C * 8,
    C * 8,
    C * 8,
    C * 8,
    most * x.BYTES_PER_ELEMENT,
  ]);
  // zero shift for the sums, zero sums, and beta = 0 unless a bias is given
  rt.heap64.fill(0, zeroAt / 8, shiftAt / 8 + C);
  if (bias) putChannels(rt, shiftAt, bias);
  const f32 = x instanceof Float32Array;
  const reduce = f32 ? rt.kernels.bnSumsF32 : rt.kernels.bnSumsF64;
  const apply = f32 ? rt.kernels.bnNormalizeF32 : rt.kernels.bnNormalizeF64;
  const heap64 = rt.heap64;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const invStd = new Float64Array(C);
  for (const b of blocks) {
    stageIn(rt, x, layout, b, xAt);
    const rows = b.r1 - b.r0;
    const cb = b.c1 - b.c0;
    const c = b.c0 * 8;
    reduce(xAt, rows, cb, layout.inner, zeroAt + c, sumAt + c, sqAt + c);
    // This block's channels are complete: momentsFromSums, inverseStd and the normalize factors,
    // operation for operation as the unfused path computes them.
    for (let j = b.c0; j < b.c1; j++) {
      const m = heap64[sumAt / 8 + j] / count;
      mean[j] = 0 + m;
      variance[j] = heap64[sqAt / 8 + j] / count - m * m;
      invStd[j] = 1 / Math.sqrt(Math.max(variance[j], 0) + eps);
      heap64[meanAt / 8 + j] = mean[j];
      heap64[scaleAt / 8 + j] = (weight ? weight[j] : 1) * invStd[j];
    }
    apply(xAt, rows, cb, layout.inner, meanAt + c, scaleAt + c, shiftAt + c, xAt);
    stageOut(rt, out, layout, b, xAt);
  }
  return { count, mean, var: variance, invStd };
}
