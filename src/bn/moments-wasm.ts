/**
 * The partial statistics of src/bn/moments.ts on the WebAssembly SIMD kernels: the drivers of
 * assembly/bn-sums.ts, bn-sums32.ts and bn-welford.ts. Each stages the input block by block of
 * whole rows (src/bn/staging.ts) and lets the kernel add the block into per-channel sums (or
 * continue each channel's Welford sequence) kept in the module's memory, so the result does not
 * depend on how the batch was cut into blocks.
 *
 * What matches the JavaScript reference: `welfordStatsWasm` and the float32-accumulator
 * `sumStatsWasm` to the bit (same operations, same order; SIMD across channels); the float64 sums
 * and `centeredSumSqWasm` up to the order of the additions within a plane, within
 * 2 * gamma_(n-1) * sum |term| (assembly/bn-sums.ts).
 */
import type { KernelExports } from '../kernels/wasm-exports.js';
import { wasmRuntime } from '../kernels/wasm-runtime.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import type { Accumulator, SumStats, WelfordStats } from './moments.js';
import { STAGE_BYTES, arena, blockElements, putChannels, rowBlocks, stageIn, takeChannels } from './staging.js';

/** The largest block in elements (a plane larger than the budget makes its own block). */
function largest(layout: ChannelLayout, blocks: ReturnType<typeof rowBlocks>): number {
  let most = 0;
  for (const b of blocks) most = Math.max(most, blockElements(layout, b));
  return most;
}

/**
 * Runs one of the sums kernels over x block by block, from zero sums.
 * @returns the per-channel sum and sum of squares.
 */
function runSums(
  x: FloatArray,
  layout: ChannelLayout,
  shift: ArrayLike<number> | undefined,
  pick: (k: KernelExports, f32: boolean) => KernelExports['bnSumsF32'],
): { sum: Float64Array; sumSq: Float64Array } {
  const rt = wasmRuntime();
  const C = layout.channels;
  const blocks = rowBlocks(layout, STAGE_BYTES / x.BYTES_PER_ELEMENT);
  const [shiftAt, sumAt, sqAt, xAt] = arena(rt, [C * 8, C * 8, C * 8, largest(layout, blocks) * x.BYTES_PER_ELEMENT]);
  rt.heap64.fill(0, shiftAt / 8, sqAt / 8 + C);
  if (shift) putChannels(rt, shiftAt, shift);
  const kernel = pick(rt.kernels, x instanceof Float32Array);
  for (const b of blocks) {
    stageIn(rt, x, layout, b, xAt);
    const c = b.c0 * 8;
    kernel(xAt, b.r1 - b.r0, b.c1 - b.c0, layout.inner, shiftAt + c, sumAt + c, sqAt + c);
  }
  return { sum: takeChannels(rt, sumAt, C), sumSq: takeChannels(rt, sqAt, C) };
}

/**
 * `sumStats` (src/bn/moments.ts) on the WebAssembly kernels: same arguments, same result up to the
 * rounding described above.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param accumulator - float64 sums, or float32 sums in the reference's order.
 * @param shift - the shift K per channel (none: 0).
 * @returns count, sum and sum of squares per channel.
 * @throws WasmKernelError when the module cannot be loaded.
 */
export function sumStatsWasm(
  x: FloatArray,
  layout: ChannelLayout,
  accumulator: Accumulator = 'float64',
  shift?: Float64Array,
): SumStats {
  const { sum, sumSq } = runSums(x, layout, shift, (k, f32) =>
    accumulator === 'float64' ? (f32 ? k.bnSumsF32 : k.bnSumsF64) : f32 ? k.bnSums32F32 : k.bnSums32F64,
  );
  return { count: layout.rows * layout.inner, sum, sumSq, accumulator };
}

/**
 * `centeredSumSq` on the WebAssembly kernels: the sums kernel with the mean as its shift, keeping
 * the sum of squares (the same terms (x - mean)^2 as the reference).
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param mean - the (global) mean per channel.
 * @returns sum((x - mean)^2) per channel.
 * @throws WasmKernelError when the module cannot be loaded.
 */
export function centeredSumSqWasm(x: FloatArray, layout: ChannelLayout, mean: Float64Array): Float64Array {
  return runSums(x, layout, mean, (k, f32) => (f32 ? k.bnSumsF32 : k.bnSumsF64)).sumSq;
}

/**
 * `welfordStats` on the WebAssembly kernels, bit for bit the reference's result.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @returns count, mean and M2 per channel.
 * @throws WasmKernelError when the module cannot be loaded.
 */
export function welfordStatsWasm(x: FloatArray, layout: ChannelLayout): WelfordStats {
  const rt = wasmRuntime();
  const { channels: C, inner } = layout;
  const blocks = rowBlocks(layout, STAGE_BYTES / x.BYTES_PER_ELEMENT);
  const [meanAt, m2At, xAt] = arena(rt, [C * 8, C * 8, largest(layout, blocks) * x.BYTES_PER_ELEMENT]);
  rt.heap64.fill(0, meanAt / 8, m2At / 8 + C);
  const kernel = x instanceof Float32Array ? rt.kernels.bnWelfordF32 : rt.kernels.bnWelfordF64;
  for (const b of blocks) {
    stageIn(rt, x, layout, b, xAt);
    const c = b.c0 * 8;
    kernel(xAt, b.r1 - b.r0, b.c1 - b.c0, inner, b.r0 * inner, meanAt + c, m2At + c);
  }
  return { count: layout.rows * inner, mean: takeChannels(rt, meanAt, C), m2: takeChannels(rt, m2At, C) };
}
