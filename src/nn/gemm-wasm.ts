/**
 * GEMM on WebAssembly SIMD (f32x4): the drivers around the micro-kernel of assembly/gemm.ts.
 *
 * The kernel computes C in register tiles of 4 x 8 floats (8 f32x4 accumulators; the tile size is
 * read from the module). A is read in place through two strides, so a transposed A costs nothing;
 * B is read row-major, one tile width of consecutive floats per k, so one B panel (kc x 8) stays
 * in L1 while every row panel of A passes over it. K is cut in blocks of KC and rows in blocks of
 * MC so that the A block stays in L2. Tiles are always full: rows and columns past M and N
 * compute garbage into the padding of the C buffer, which is never copied out. Accumulation is
 * float32 in the vector registers.
 *
 * `residentProduct` multiplies operands that already sit in the runtime's memory (the conv
 * driver, src/nn/conv-wasm.ts, builds them there). The general `gemm` copies its operands in with
 * `TypedArray.set` (a memcpy: no packing loop in JavaScript); a transposed B is transposed there by
 * the wasm routine, or, when that is cheaper, the product is computed transposed
 * (C^T = op(B)^T · op(A)^T) and C transposed on the way out.
 */
import { type WasmRuntime, wasmRuntime } from '../kernels/wasm-runtime.js';

/**
 * C (+)= op(A) · op(B) on row-major float32 matrices: op(A) is M x K (stored K x M when transA),
 * op(B) K x N (stored N x K when transB), C M x N; lda, ldb, ldc are the leading dimensions and
 * the offsets locate each matrix inside its array. `accumulate` adds into C instead of
 * overwriting it. C must not overlap A or B.
 */
export type GemmFunction = (
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  C: Float32Array,
  ldc: number,
  accumulate?: boolean,
  offsetA?: number,
  offsetB?: number,
  offsetC?: number,
) => void;

const KC = 256;
const MC = 128;

/** Rows and columns of C in one register tile of the GEMM kernel. */
export interface GemmTile {
  /** Rows of C per tile. */
  readonly rows: number;
  /** Columns of C per tile. */
  readonly cols: number;
}

/** Each runtime's tile, read once: reading a WebAssembly global is a call into the engine. */
const tiles = new WeakMap<WasmRuntime, GemmTile>();

/**
 * The GEMM register tile of the loaded module.
 * @param rt - the runtime.
 * @returns rows and columns of C in one tile.
 */
export function gemmTile(rt: WasmRuntime): GemmTile {
  let tile = tiles.get(rt);
  if (!tile) {
    tile = { rows: rt.kernels.GEMM_TILE_ROWS.value, cols: rt.kernels.GEMM_TILE_COLS.value };
    tiles.set(rt, tile);
  }
  return tile;
}

/**
 * n rounded up to a multiple of m.
 * @param n - the number.
 * @param m - the step.
 * @returns the smallest multiple of m that is >= n.
 */
export const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;
const align = (n: number) => (n + 15) & ~15;

/**
 * C (=|+=) op(A) · op(B) on operands in the runtime's memory, float offsets: A (m x K as op(A);
 * stored K x m when transA) at aAt with leading dimension lda, B row-major K x n at bAt with ldb,
 * C at cAt with ldc. Full tiles are computed (`gemmTile`: 4 x 8): rows up to roundUp(m, 4) of A
 * and columns up to roundUp(n, 8) of B must be readable, and C must have room for roundUp(m, 4)
 * rows of roundUp(n, 8) columns (ldc >= that); what lands past m and n is garbage.
 * @param rt - the runtime whose memory holds the operands.
 * @param transA - whether A is stored transposed (K x m).
 * @param m - rows of op(A) and C.
 * @param n - columns of B and C.
 * @param K - the inner dimension.
 * @param aAt - float offset of A.
 * @param lda - leading dimension of A as stored.
 * @param bAt - float offset of B.
 * @param ldb - leading dimension of B.
 * @param cAt - float offset of C.
 * @param ldc - leading dimension of C.
 * @param accumulate - add into C instead of overwriting it.
 */
export function residentProduct(
  rt: WasmRuntime,
  transA: boolean,
  m: number,
  n: number,
  K: number,
  aAt: number,
  lda: number,
  bAt: number,
  ldb: number,
  cAt: number,
  ldc: number,
  accumulate: boolean,
): void {
  const tile = gemmTile(rt);
  const mp = roundUp(m, tile.rows);
  const np = roundUp(n, tile.cols);
  const ars = transA ? 1 : lda;
  const aks = transA ? lda : 1;
  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    const acc = accumulate || pc > 0 ? 1 : 0;
    for (let ic = 0; ic < mp; ic += MC) {
      const mc = Math.min(MC, mp - ic);
      rt.kernels.gemmTiles(
        mc / tile.rows,
        np / tile.cols,
        kc,
        (aAt + ic * ars + pc * aks) * 4,
        ars * 4,
        aks * 4,
        (bAt + pc * ldb) * 4,
        ldb * 4,
        (cAt + ic * ldc) * 4,
        ldc * 4,
        acc,
      );
    }
  }
}

function makeGemm(rt: WasmRuntime): GemmFunction {
  /**
   * Stages the m x n product op(A) · op(B) in memory and adds it to or stores it in C; with
   * `swapped`, C is n x m and receives the transpose of the product.
   */
  function run(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    K: number,
    A: Float32Array,
    lda: number,
    offA: number,
    B: Float32Array,
    ldb: number,
    offB: number,
    C: Float32Array,
    ldc: number,
    offC: number,
    accumulate: boolean,
    swapped: boolean,
  ): void {
    const tile = gemmTile(rt);
    const mp = roundUp(m, tile.rows);
    const np = roundUp(n, tile.cols);
    // A as stored, read in place by the kernel.
    const aSpan = transA ? (K - 1) * lda + m : (m - 1) * lda + K;
    const aReach = transA ? (K - 1) * lda + mp : (mp - 1) * lda + K;
    const bSpan = transB ? (n - 1) * ldb + K : (K - 1) * ldb + n;
    const bReach = transB ? (roundUp(n, 4) - 1) * ldb + K : (K - 1) * ldb + np;
    const aAt = rt.base;
    const bAt = align(aAt + aReach + 16);
    const btAt = align(bAt + bReach + 16);
    const cAt = align(btAt + (transB ? K * np : 0) + 16);
    const ctAt = align(cAt + mp * np + 16); // the n x m transpose (row stride mp) when swapped
    const mem = rt.reserve(ctAt + (swapped ? np * mp + 16 : 0));
    mem.set(A.subarray(offA, offA + aSpan), aAt);
    mem.set(B.subarray(offB, offB + bSpan), bAt);
    let bRow = bAt; // B as the kernel reads it: row-major, row stride bLd floats
    let bLd = ldb;
    if (transB) {
      rt.kernels.transpose(bAt * 4, n, K, ldb * 4, btAt * 4, np * 4);
      bRow = btAt;
      bLd = np;
    }
    if (accumulate) {
      if (swapped) {
        for (let i = 0; i < n; i++) mem.set(C.subarray(offC + i * ldc, offC + i * ldc + m), ctAt + i * mp);
        rt.kernels.transpose(ctAt * 4, n, m, mp * 4, cAt * 4, np * 4);
      } else if (ldc === n && np === n) {
        mem.set(C.subarray(offC, offC + m * n), cAt);
      } else {
        for (let i = 0; i < m; i++) mem.set(C.subarray(offC + i * ldc, offC + i * ldc + n), cAt + i * np);
      }
    }
    residentProduct(rt, transA, m, n, K, aAt, lda, bRow, bLd, cAt, np, accumulate);
    if (swapped) {
      rt.kernels.transpose(cAt * 4, m, n, np * 4, ctAt * 4, mp * 4);
      for (let i = 0; i < n; i++) C.set(mem.subarray(ctAt + i * mp, ctAt + i * mp + m), offC + i * ldc);
    } else if (ldc === n && np === n) {
      C.set(mem.subarray(cAt, cAt + m * n), offC);
    } else {
      for (let i = 0; i < m; i++) C.set(mem.subarray(cAt + i * np, cAt + i * np + n), offC + i * ldc);
    }
  }

  return (transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate = false, offA = 0, offB = 0, offC = 0) => {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
      if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, offC + i * ldc, offC + i * ldc + N);
      return;
    }
    // The kernel wants B row-major. When op(B) is a transpose, either transpose B (K x N floats)
    // or compute C^T = op(B)^T · op(A)^T, which transposes A unless it is already transposed, and C.
    const direct = transB ? K * N : 0;
    const swap = (transA ? 0 : M * K) + M * N * (accumulate ? 2 : 1);
    if (swap < direct) run(!transB, !transA, N, M, K, B, ldb, offB, A, lda, offA, C, ldc, offC, accumulate, true);
    else run(transA, transB, M, N, K, A, lda, offA, B, ldb, offB, C, ldc, offC, accumulate, false);
  };
}

let built: GemmFunction | undefined;

/**
 * The WebAssembly GEMM of this thread.
 * @returns the GEMM function.
 * @throws WasmKernelError (src/kernels/wasm-module.ts) when the module cannot be loaded.
 */
export function wasmGemm(): GemmFunction {
  built ??= makeGemm(wasmRuntime());
  return built;
}
