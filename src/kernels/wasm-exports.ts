/**
 * The contract between the WebAssembly module built from assembly/ and the drivers in src/: the
 * name and signature of every export. Each kernel is documented at its source file,
 * assembly/<name>.ts; addresses and strides are byte offsets into the module's one memory.
 * src/kernels/wasm-module.ts checks at load time that the module has every export listed here,
 * so a kernel renamed on one side only is a load error, not a call of `undefined`.
 */

/** The module's memory, as the JavaScript API exposes it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** An exported immutable i32 global. */
export interface WasmGlobal {
  readonly value: number;
}

/** The exports of dist/wasm/kernels.wasm. */
export interface KernelExports {
  readonly memory: WasmMemory;
  /** First byte address free for the drivers (assembly/index.ts). */
  scratchBase(): number;
  /** Rows of C in one GEMM register tile (assembly/gemm.ts). */
  readonly GEMM_TILE_ROWS: WasmGlobal;
  /** Columns of C in one GEMM register tile (assembly/gemm.ts). */
  readonly GEMM_TILE_COLS: WasmGlobal;
  /** C tiles (=|+=) A · B (assembly/gemm.ts); `accumulate` is 0 or 1. */
  gemmTiles(
    rowTiles: number, colTiles: number, kc: number,
    a: number, aRowStride: number, aKStride: number,
    b: number, ldb: number, c: number, ldc: number, accumulate: number,
  ): void;
  /** dst = src^T, four source rows at a time (assembly/transpose.ts). */
  transpose(src: number, rows: number, cols: number, lds: number, dst: number, ldd: number): void;
  /** dst = 1 / (1 + exp(-src)), n a multiple of 4 (assembly/sigmoid.ts). */
  sigmoid(src: number, dst: number, n: number): void;
  /** The stride-1 column matrix of a convolution (assembly/im2col.ts). */
  im2col(x: number, batch: number, C: number, H: number, W: number, k: number, pad: number, outH: number, outW: number, col: number, ldcol: number): void;
  /** The adjoint of im2col, added into a zeroed dx (assembly/col2im.ts). */
  col2im(dx: number, batch: number, C: number, H: number, W: number, k: number, pad: number, outH: number, outW: number, col: number, ldcol: number): void;
}

/** Every export the drivers use, with its kind. */
export const KERNEL_EXPORTS: Readonly<Record<keyof KernelExports, 'function' | 'memory' | 'global'>> = {
  memory: 'memory',
  scratchBase: 'function',
  GEMM_TILE_ROWS: 'global',
  GEMM_TILE_COLS: 'global',
  gemmTiles: 'function',
  transpose: 'function',
  sigmoid: 'function',
  im2col: 'function',
  col2im: 'function',
};
