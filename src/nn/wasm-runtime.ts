/**
 * One WebAssembly instance per thread (each worker that imports src/nn gets its own), holding the
 * kernels of src/nn/wasm-kernels.ts over one linear memory. Drivers stage their operands into
 * `heap` (a Float32Array view of the memory, renewed when `reserve` grows it), call the kernels
 * with byte addresses, and read results back; every driver call is synchronous and self-contained,
 * so they share the memory from address 0 without interfering.
 */
import { assembleModule } from './wasm-asm.js';
import { WASM_MR, WASM_NR, col2imKernel, gemmKernel, im2colKernel, sigmoidKernel, transposeKernel } from './wasm-kernels.js';

type Kernel = (...args: number[]) => void;

export interface WasmRuntime {
  /** The memory as floats; call again after `reserve`, which may replace it. */
  readonly heap: Float32Array;
  /** Makes the memory hold at least `floats` floats; returns the (possibly new) heap view. */
  reserve(floats: number): Float32Array;
  readonly gemmKernel: Kernel;
  readonly transpose: Kernel;
  readonly sigmoid: Kernel;
  readonly im2col: Kernel;
  readonly col2im: Kernel;
}

/** The part of the WebAssembly JS API used here (the project's lib settings do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
const PAGE = 65536;

function build(): WasmRuntime {
  if (!WA) throw new Error('no WebAssembly in this runtime');
  const bytes = assembleModule([gemmKernel(WASM_MR, WASM_NR), transposeKernel(), sigmoidKernel(), im2colKernel(), col2imKernel()], 16);
  const { exports } = new WA.Instance(new WA.Module(bytes), {});
  const memory = exports.memory as { readonly buffer: ArrayBuffer; grow(pages: number): number };
  let heap = new Float32Array(memory.buffer);
  return {
    get heap() {
      return heap;
    },
    reserve(floats: number): Float32Array {
      const need = floats * 4;
      if (need > memory.buffer.byteLength) {
        memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
        heap = new Float32Array(memory.buffer);
      }
      return heap;
    },
    gemmKernel: exports.kernel as Kernel,
    transpose: exports.transpose as Kernel,
    sigmoid: exports.sigmoid as Kernel,
    im2col: exports.im2col as Kernel,
    col2im: exports.col2im as Kernel,
  };
}

let built: WasmRuntime | null | undefined;

/** This thread's runtime, or undefined where WebAssembly SIMD is not available. */
export function wasmRuntime(): WasmRuntime | undefined {
  if (built === undefined) {
    try {
      built = build();
    } catch {
      built = null;
    }
  }
  return built ?? undefined;
}
