/**
 * The contract between the WebAssembly module built from assembly/ and the drivers in src/: the
 * name and signature of every export. Each kernel is documented at its source file,
 * assembly/<name>.ts; addresses and strides are byte offsets into the module's one memory.
 * src/kernels/wasm-module.ts checks at load time that the module has every export listed here,
 * so a kernel renamed on one side only is a load error, not a call of `undefined`.
 */

/** The module's memory, as the JavaScript API exposes it. */
export interface WasmMemory {
  /** The memory's bytes (a new ArrayBuffer after every growth). */
  readonly buffer: ArrayBuffer;
  /**
   * Grows the memory.
   * @param pages - 64 KiB pages to add.
   * @returns the size in pages before the growth.
   */
  grow(pages: number): number;
}

/** An exported immutable i32 global. */
export interface WasmGlobal {
  /** The global's value. */
  readonly value: number;
}

/** The exports of dist/wasm/kernels.wasm. */
export interface KernelExports {
  /** The module's one memory, which the drivers stage operands in. */
  readonly memory: WasmMemory;
  /**
   * First byte address free for the drivers (assembly/index.ts).
   * @returns the address.
   */
  scratchBase(): number;
  /** Rows of C in one GEMM register tile (assembly/gemm.ts). */
  readonly GEMM_TILE_ROWS: WasmGlobal;
  /** Columns of C in one GEMM register tile (assembly/gemm.ts). */
  readonly GEMM_TILE_COLS: WasmGlobal;
  /**
   * C tiles (=|+=) A · B (assembly/gemm.ts).
   * @param rowTiles - tiles of GEMM_TILE_ROWS rows of C.
   * @param colTiles - tiles of GEMM_TILE_COLS columns of C.
   * @param kc - the inner dimension of this panel.
   * @param a - address of A's panel.
   * @param aRowStride - bytes between rows of A.
   * @param aKStride - bytes between consecutive k of A.
   * @param b - address of B's panel.
   * @param ldb - bytes between rows of B.
   * @param c - address of C.
   * @param ldc - bytes between rows of C.
   * @param accumulate - 1 adds into C, 0 overwrites it.
   */
  gemmTiles(
    rowTiles: number,
    colTiles: number,
    kc: number,
    a: number,
    aRowStride: number,
    aKStride: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    accumulate: number,
  ): void;
  /**
   * dst = src^T, four source rows at a time (assembly/transpose.ts).
   * @param src - address of the source.
   * @param rows - its rows.
   * @param cols - its columns.
   * @param lds - bytes between its rows.
   * @param dst - address of the destination.
   * @param ldd - bytes between its rows.
   */
  transpose(src: number, rows: number, cols: number, lds: number, dst: number, ldd: number): void;
  /**
   * dst = 1 / (1 + exp(-src)) (assembly/sigmoid.ts).
   * @param src - address of the input.
   * @param dst - address of the output (may be src).
   * @param n - values, a multiple of 4.
   */
  sigmoid(src: number, dst: number, n: number): void;
  /**
   * The stride-1 column matrix of a convolution (assembly/im2col.ts).
   * @param x - address of the input [batch, C, H, W].
   * @param batch - examples.
   * @param C - input channels.
   * @param H - input height.
   * @param W - input width.
   * @param k - kernel size.
   * @param pad - zero padding on each side.
   * @param outH - output height.
   * @param outW - output width.
   * @param col - address of the column matrix.
   * @param ldcol - bytes between its rows.
   */
  im2col(
    x: number,
    batch: number,
    C: number,
    H: number,
    W: number,
    k: number,
    pad: number,
    outH: number,
    outW: number,
    col: number,
    ldcol: number,
  ): void;
  /**
   * The adjoint of im2col, added into a zeroed dx (assembly/col2im.ts).
   * @param dx - address of the input gradient [batch, C, H, W].
   * @param batch - examples.
   * @param C - input channels.
   * @param H - input height.
   * @param W - input width.
   * @param k - kernel size.
   * @param pad - zero padding on each side.
   * @param outH - output height.
   * @param outW - output width.
   * @param col - address of the column matrix.
   * @param ldcol - bytes between its rows.
   */
  col2im(
    dx: number,
    batch: number,
    C: number,
    H: number,
    W: number,
    k: number,
    pad: number,
    outH: number,
    outW: number,
    col: number,
    ldcol: number,
  ): void;
  // Batch norm (assembly/bn-*.ts): blocks of [rows][channels][inner] elements, per-channel f64
  // arrays; the F32 kernel takes float32 data, the F64 kernel float64, and both compute in f64.
  /** sum += sum(x - shift), sumSq += sum((x - shift)^2) per channel (assembly/bn-sums.ts). */
  bnSumsF32: BnSums;
  /** The same on float64 data. */
  bnSumsF64: BnSums;
  /** The same sums with float32 accumulators, in the reference's order (assembly/bn-sums32.ts). */
  bnSums32F32: BnSums;
  /** The same on float64 data. */
  bnSums32F64: BnSums;
  /** Welford's mean and M2 per channel, continued over a block (assembly/bn-welford.ts). */
  bnWelfordF32: BnWelford;
  /** The same on float64 data. */
  bnWelfordF64: BnWelford;
  /** y = (x - mean) * scale + shift per channel (assembly/bn-normalize.ts). */
  bnNormalizeF32: BnNormalize;
  /** The same on float64 data. */
  bnNormalizeF64: BnNormalize;
  /** sumDy += sum(dy), sumDyXc += sum(dy * (x - mean)) per channel (assembly/bn-grad-sums.ts). */
  bnGradSumsF32: BnGradSums;
  /** The same on float64 data. */
  bnGradSumsF64: BnGradSums;
  /** dx = scale * (dy - meanDy - (x - mean) * k) per channel (assembly/bn-grad-input.ts). */
  bnGradInputF32: BnGradInput;
  /** The same on float64 data. */
  bnGradInputF64: BnGradInput;
  /** dx = scale * dy per channel (assembly/bn-grad-input.ts). */
  bnGradScaleF32: BnGradScale;
  /** The same on float64 data. */
  bnGradScaleF64: BnGradScale;
}

/** bnSums*: block x, its shape, then the per-channel shift, sum and sumSq. */
export type BnSums = (
  x: number,
  rows: number,
  channels: number,
  inner: number,
  shift: number,
  sum: number,
  sumSq: number,
) => void;
/** bnWelford*: block x, its shape, elements per channel seen before, then the state mean and m2. */
export type BnWelford = (
  x: number,
  rows: number,
  channels: number,
  inner: number,
  count: number,
  mean: number,
  m2: number,
) => void;
/** bnNormalize*: block x, its shape, per-channel mean, scale, shift, then the output block y. */
export type BnNormalize = (
  x: number,
  rows: number,
  channels: number,
  inner: number,
  mean: number,
  scale: number,
  shift: number,
  y: number,
) => void;
/** bnGradSums*: blocks dy and x, their shape, per-channel mean, then the sums. */
export type BnGradSums = (
  dy: number,
  x: number,
  rows: number,
  channels: number,
  inner: number,
  mean: number,
  sumDy: number,
  sumDyXc: number,
) => void;
/** bnGradInput*: blocks dy and x, their shape, per-channel mean, scale, meanDy, k, then dx. */
export type BnGradInput = (
  dy: number,
  x: number,
  rows: number,
  channels: number,
  inner: number,
  mean: number,
  scale: number,
  meanDy: number,
  k: number,
  dx: number,
) => void;
/** bnGradScale*: block dy, its shape, per-channel scale, then dx. */
export type BnGradScale = (
  dy: number,
  rows: number,
  channels: number,
  inner: number,
  scale: number,
  dx: number,
) => void;

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
  bnSumsF32: 'function',
  bnSumsF64: 'function',
  bnSums32F32: 'function',
  bnSums32F64: 'function',
  bnWelfordF32: 'function',
  bnWelfordF64: 'function',
  bnNormalizeF32: 'function',
  bnNormalizeF64: 'function',
  bnGradSumsF32: 'function',
  bnGradSumsF64: 'function',
  bnGradInputF32: 'function',
  bnGradInputF64: 'function',
  bnGradScaleF32: 'function',
  bnGradScaleF64: 'function',
};
