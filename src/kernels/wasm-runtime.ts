/**
 * This thread's instance of the WebAssembly kernels (each worker thread that imports them gets its
 * own) and its one linear memory. Drivers stage their operands in `heap` (float32) or `heap64`
 * (float64) from byte address `base * 4` on, call the kernels with byte addresses, and read the
 * results back; every driver call is synchronous and self-contained, so all drivers share the
 * memory from `base` without interfering.
 */
import type { KernelExports } from './wasm-exports.js';
import { loadKernels } from './wasm-module.js';

const PAGE_BYTES = 65536;

/** One thread's kernels and the memory they work in. */
export interface WasmRuntime {
  /** The module's exports (kernels and tile sizes). */
  readonly kernels: KernelExports;
  /** First float offset of `heap` free for drivers (a multiple of 4 floats, 16 bytes). */
  readonly base: number;
  /** The memory as floats; take it again after `reserve`, which may replace it. */
  readonly heap: Float32Array;
  /** The same memory as doubles (element i at byte 8i); take it again after `reserve`. */
  readonly heap64: Float64Array;
  /**
   * Makes the memory hold at least `floats` floats (offsets from 0, `base` included).
   * @param floats - how many floats must be addressable.
   * @returns the (possibly new) heap view.
   */
  reserve(floats: number): Float32Array;
}

function createRuntime(kernels: KernelExports): WasmRuntime {
  const memory = kernels.memory;
  let heap = new Float32Array(memory.buffer);
  let heap64 = new Float64Array(memory.buffer);
  return {
    kernels,
    base: Math.ceil(kernels.scratchBase() / 16) * 4,
    get heap() {
      return heap;
    },
    get heap64() {
      return heap64;
    },
    reserve(floats: number): Float32Array {
      const need = floats * 4;
      if (need > memory.buffer.byteLength) {
        memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE_BYTES));
        heap = new Float32Array(memory.buffer);
        heap64 = new Float64Array(memory.buffer);
      }
      return heap;
    },
  };
}

let runtime: WasmRuntime | undefined;

/**
 * This thread's runtime, loading the module on first use.
 * @returns the runtime.
 * @throws WasmKernelError (src/kernels/wasm-module.ts) when the module cannot be loaded.
 */
export function wasmRuntime(): WasmRuntime {
  runtime ??= createRuntime(loadKernels());
  return runtime;
}
