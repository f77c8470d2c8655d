/**
 * Moving blocks of a batch-norm tensor in and out of the WebAssembly module's memory, for the
 * drivers of the BN kernels (src/bn/*-wasm.ts).
 *
 * WebAssembly memory cannot alias an outside ArrayBuffer (nor the cluster's SharedArrayBuffer), so
 * every operand is copied in and every result out. The copy is a `TypedArray.set`, a memcpy, and
 * it is done block by block: a block small enough to stay in the core's L2 cache is copied in, the
 * kernel reads it from cache, the result is copied out, and the next block reuses the same memory.
 * Main memory then sees each array once, as it would without the copy; the copy itself costs a
 * pass over cache-resident data (measured in docs/benchmarks.md).
 *
 * A block is rows r0..r1 and channels c0..c1 of a [rows][channels][inner] tensor, staged densely
 * as [r1 - r0][c1 - c0][inner]: one `set` when it holds whole rows, else one per row.
 */
import type { WasmRuntime } from '../kernels/wasm-runtime.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';

/** Rows r0..r1 (exclusive) and channels c0..c1 (exclusive) of a tensor. */
export interface Block {
  /** First row. */
  readonly r0: number;
  /** One past the last row. */
  readonly r1: number;
  /** First channel. */
  readonly c0: number;
  /** One past the last channel. */
  readonly c1: number;
}

/**
 * Bytes of one staged array in a pass over blocks of whole rows: 128 KiB, so that the two inputs of
 * a backward pass stay in a 1 MiB L2 while the kernel reads them (measured on [64,64,32,32]
 * float32: 64 KiB to 512 KiB all run within a few percent of each other).
 */
export const STAGE_BYTES = 128 * 1024;

/**
 * Bytes of one staged array in a fused pass, which holds every row of a few channels and reads it
 * twice (the reduction, then the element-wise pass): 2 MiB, so that the backward's two inputs
 * (4 MiB) stay in the last-level cache between the two reads. Measured on [64,64,32,32] float32
 * (8 channels a block, copied in 32 KiB pieces, one per row): 2 to 8 MiB within 5% of each other,
 * 1 MiB about 10% slower (16 KiB pieces), the whole 16 MiB tensor at once 10% slower.
 */
export const FUSED_BYTES = 2 * 1024 * 1024;

/**
 * Fewest bytes per row worth staging a block of whole channels for: below this, copying the
 * channels row by row jumps through memory in small pieces and costs more than the fusion saves
 * (measured on [64,64,32,32] float32: 4 KiB pieces copy at a third of the speed of whole rows,
 * 16 KiB pieces at about 0.8 of it).
 */
export const MIN_SEGMENT_BYTES = 16 * 1024;

/**
 * Blocks of whole rows (or, when one row exceeds the budget, of one row and a range of channels),
 * in memory order: for passes that need nothing but the block in hand.
 * @param layout - the tensor's layout.
 * @param budget - elements per staged block.
 * @returns the blocks, covering the tensor once in order (none when it is empty).
 */
export function rowBlocks(layout: ChannelLayout, budget: number): Block[] {
  const { rows, channels: C, inner } = layout;
  const blocks: Block[] = [];
  if (rows === 0 || inner === 0) return blocks;
  const rowElems = C * inner;
  if (rowElems <= budget) {
    const step = Math.floor(budget / rowElems);
    for (let r0 = 0; r0 < rows; r0 += step) blocks.push({ r0, r1: Math.min(rows, r0 + step), c0: 0, c1: C });
    return blocks;
  }
  // One plane may exceed the budget: it is then staged whole, never split (the kernels sum a plane
  // in one go), and the memory grows to hold it.
  const step = Math.max(1, Math.floor(budget / inner));
  for (let r = 0; r < rows; r++) {
    for (let c0 = 0; c0 < C; c0 += step) blocks.push({ r0: r, r1: r + 1, c0, c1: Math.min(C, c0 + step) });
  }
  return blocks;
}

/**
 * Blocks of whole channels (every row of channels c0..c1), for passes that finish a channel
 * before moving on: a reduction followed by the element-wise pass that needs its result.
 * @param layout - the tensor's layout.
 * @param budget - elements per staged block.
 * @param minSegment - fewest elements per row of a block, unless the block holds every channel.
 * @returns the blocks, or undefined when the tensor is empty, one channel exceeds the budget, or
 *   the rows of a block would be shorter than `minSegment`.
 */
export function channelBlocks(layout: ChannelLayout, budget: number, minSegment: number): Block[] | undefined {
  const { rows, channels: C, inner } = layout;
  const perChannel = rows * inner;
  if (perChannel === 0 || perChannel > budget) return undefined;
  const step = Math.min(C, Math.floor(budget / perChannel));
  if (step < C && step * inner < minSegment) return undefined;
  const blocks: Block[] = [];
  for (let c0 = 0; c0 < C; c0 += step) blocks.push({ r0: 0, r1: rows, c0, c1: Math.min(C, c0 + step) });
  return blocks;
}

/**
 * The blocks of whole channels a fused pass uses for this element size (`FUSED_BYTES`,
 * `MIN_SEGMENT_BYTES`), or undefined when the pass must run unfused.
 * @param layout - the tensor's layout.
 * @param elementBytes - 4 or 8.
 * @returns the blocks, or undefined.
 */
export function fusedBlocks(layout: ChannelLayout, elementBytes: number): Block[] | undefined {
  return channelBlocks(layout, FUSED_BYTES / elementBytes, MIN_SEGMENT_BYTES / elementBytes);
}

/**
 * Elements in a block.
 * @param layout - the tensor's layout.
 * @param block - the block.
 * @returns (r1 - r0) * (c1 - c0) * inner.
 */
export function blockElements(layout: ChannelLayout, block: Block): number {
  return (block.r1 - block.r0) * (block.c1 - block.c0) * layout.inner;
}

/** The runtime's view of its memory with the element type of `data`. */
function viewFor(rt: WasmRuntime, data: FloatArray): FloatArray {
  return data instanceof Float32Array ? rt.heap : rt.heap64;
}

/**
 * Copies a block of `src` into the module's memory at byte address `at`, densely.
 * @param rt - the runtime (memory already reserved).
 * @param src - the tensor.
 * @param layout - its layout.
 * @param block - the block to copy.
 * @param at - byte address in the module's memory, a multiple of the element size.
 */
export function stageIn(rt: WasmRuntime, src: FloatArray, layout: ChannelLayout, block: Block, at: number): void {
  const heap = viewFor(rt, src);
  const { channels: C, inner } = layout;
  const dst = at / src.BYTES_PER_ELEMENT;
  if (block.c0 === 0 && block.c1 === C) {
    heap.set(src.subarray(block.r0 * C * inner, block.r1 * C * inner), dst);
    return;
  }
  const width = (block.c1 - block.c0) * inner;
  for (let r = block.r0; r < block.r1; r++) {
    const from = (r * C + block.c0) * inner;
    heap.set(src.subarray(from, from + width), dst + (r - block.r0) * width);
  }
}

/**
 * Copies a dense block from the module's memory at byte address `at` into its place in `dst`.
 * @param rt - the runtime.
 * @param dst - the tensor that receives the block.
 * @param layout - its layout.
 * @param block - where the block goes.
 * @param at - byte address of the dense block in the module's memory.
 */
export function stageOut(rt: WasmRuntime, dst: FloatArray, layout: ChannelLayout, block: Block, at: number): void {
  const heap = viewFor(rt, dst);
  const { channels: C, inner } = layout;
  const src = at / dst.BYTES_PER_ELEMENT;
  if (block.c0 === 0 && block.c1 === C) {
    const n = (block.r1 - block.r0) * C * inner;
    dst.set(heap.subarray(src, src + n), block.r0 * C * inner);
    return;
  }
  const width = (block.c1 - block.c0) * inner;
  for (let r = block.r0; r < block.r1; r++) {
    const from = src + (r - block.r0) * width;
    dst.set(heap.subarray(from, from + width), (r * C + block.c0) * inner);
  }
}

/**
 * Lays out regions of the module's memory from the runtime's scratch base, each 16-byte aligned,
 * and makes the memory large enough.
 * @param rt - the runtime.
 * @param bytes - the size of each region in bytes.
 * @returns the byte address of each region.
 */
export function arena(rt: WasmRuntime, bytes: readonly number[]): number[] {
  let at = rt.base * 4;
  const addresses = bytes.map((b) => {
    const start = at;
    at += (b + 15) & ~15;
    return start;
  });
  rt.reserve(at / 4);
  return addresses;
}

/**
 * Writes per-channel values into the module's memory as f64 at byte address `at`.
 * @param rt - the runtime (memory already reserved).
 * @param at - byte address, a multiple of 8.
 * @param values - the values.
 */
export function putChannels(rt: WasmRuntime, at: number, values: ArrayLike<number>): void {
  rt.heap64.set(values, at / 8);
}

/**
 * Reads per-channel f64 values from the module's memory.
 * @param rt - the runtime.
 * @param at - byte address, a multiple of 8.
 * @param count - how many values.
 * @returns a copy of them.
 */
export function takeChannels(rt: WasmRuntime, at: number, count: number): Float64Array {
  return rt.heap64.slice(at / 8, at / 8 + count);
}
