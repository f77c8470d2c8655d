/**
 * `normalize` (src/bn/normalize.ts) on the WebAssembly SIMD kernel of assembly/bn-normalize.ts.
 * x is staged block by block of whole rows, normalized in place in the module's memory and copied
 * out (src/bn/staging.ts). The per-channel factors are computed here exactly as the reference
 * computes them and the kernel repeats the reference's f64 operations, so `out` is the reference's
 * to the bit.
 */
import { wasmRuntime } from '../kernels/wasm-runtime.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { STAGE_BYTES, arena, blockElements, putChannels, rowBlocks, stageIn, stageOut } from './staging.js';

/**
 * The reference's per-channel scale (gamma * invStd) and shift (beta).
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param bias - beta per channel, or none (0).
 * @returns scale and shift per channel.
 */
export function affineFactors(
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  bias: ArrayLike<number> | undefined,
): { scale: Float64Array; shift: Float64Array } {
  const C = invStd.length;
  const scale = new Float64Array(C);
  const shift = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    scale[c] = (weight ? weight[c] : 1) * invStd[c];
    shift[c] = bias ? bias[c] : 0;
  }
  return { scale, shift };
}

/**
 * out = (x - mean) * gamma * invStd + beta per channel, on the WebAssembly kernels.
 * @param x - the input block of rows.
 * @param layout - its layout.
 * @param mean - mean per channel.
 * @param invStd - 1 / sqrt(var + eps) per channel.
 * @param weight - gamma per channel, or none (1).
 * @param bias - beta per channel, or none (0).
 * @param out - receives the output (same length and layout as x; may be x).
 * @throws WasmKernelError when the module cannot be loaded.
 */
export function normalizeWasm(
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  bias: ArrayLike<number> | undefined,
  out: FloatArray,
): void {
  const blocks = rowBlocks(layout, STAGE_BYTES / x.BYTES_PER_ELEMENT);
  if (blocks.length === 0) return;
  const rt = wasmRuntime();
  const C = layout.channels;
  const { scale, shift } = affineFactors(invStd, weight, bias);
  const most = Math.max(...blocks.map((b) => blockElements(layout, b)));
  const [meanAt, scaleAt, shiftAt, xAt] = arena(rt, [C * 8, C * 8, C * 8, most * x.BYTES_PER_ELEMENT]);
  putChannels(rt, meanAt, mean);
  putChannels(rt, scaleAt, scale);
  putChannels(rt, shiftAt, shift);
  const kernel = x instanceof Float32Array ? rt.kernels.bnNormalizeF32 : rt.kernels.bnNormalizeF64;
  for (const b of blocks) {
    stageIn(rt, x, layout, b, xAt);
    const c = b.c0 * 8;
    kernel(xAt, b.r1 - b.r0, b.c1 - b.c0, layout.inner, meanAt + c, scaleAt + c, shiftAt + c, xAt);
    stageOut(rt, out, layout, b, xAt);
  }
}
