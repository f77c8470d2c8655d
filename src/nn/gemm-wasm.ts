/**
 * GEMM on WebAssembly SIMD (f32x4): the drivers around the kernel of src/nn/wasm-kernels.ts.
 *
 * The kernel computes C in register tiles of MR x NR (4 x 8 floats: 8 v128 accumulators, 2
 * vectors of B and a splat of A in the 16 xmm registers V8 allocates). A is read in place through
 * two strides, so a transposed A costs nothing; B is read row-major, NR consecutive floats per k,
 * so one B panel (kc x NR) stays in L1 while every row panel of A passes over it. K is cut in
 * blocks of KC and rows in blocks of MC so that the A block stays in L2. Tiles are always full:
 * rows and columns past M and N compute garbage into the padding of the C buffer, which is never
 * copied out. Accumulation is float32 in the vector registers.
 *
 * `residentProduct` multiplies operands that already sit in the runtime's memory (the conv
 * driver, src/nn/conv-wasm.ts, builds them there). The general `gemm` copies its operands in with
 * `TypedArray.set` (a memcpy: no packing loop in JavaScript); a transposed B is transposed there by
 * a wasm routine, or, when that is cheaper, the product is computed transposed
 * (C^T = op(B)^T · op(A)^T) and C transposed on the way out.
 */
import { WASM_MR, WASM_NR } from './wasm-kernels.js';
import { type WasmRuntime, wasmRuntime } from './wasm-runtime.js';

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

export { WASM_MR, WASM_NR };
const KC = 256;
const MC = 128;

/** n rounded up to a multiple of m. */
export const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;
const align = (n: number) => (n + 15) & ~15;

/**
 * C (=|+=) op(A) · op(B) on operands in the runtime's memory, float offsets: A (m x K as op(A);
 * stored K x m when transA) at aAt with leading dimension lda, B row-major K x n at bAt with ldb,
 * C at cAt with ldc. Full tiles are computed: rows up to roundUp(m, 4) of A and columns up to
 * roundUp(n, 8) of B must be readable, and C must have room for roundUp(m, 4) rows of
 * roundUp(n, 8) columns (ldc >= that); what lands past m and n is garbage.
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
  const mp = roundUp(m, WASM_MR);
  const np = roundUp(n, WASM_NR);
  const ars = transA ? 1 : lda;
  const aks = transA ? lda : 1;
  for (let pc = 0; pc < K; pc += KC) {
    const kc = Math.min(KC, K - pc);
    const acc = accumulate || pc > 0 ? 1 : 0;
    for (let ic = 0; ic < mp; ic += MC) {
      const mc = Math.min(MC, mp - ic);
      rt.gemmKernel(
        mc / WASM_MR, np / WASM_NR, kc,
        (aAt + ic * ars + pc * aks) * 4, ars * 4, aks * 4,
        (bAt + pc * ldb) * 4, ldb * 4,
        (cAt + ic * ldc) * 4, ldc * 4, acc,
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
    transA: boolean, transB: boolean, m: number, n: number, K: number,
    A: Float32Array, lda: number, offA: number, B: Float32Array, ldb: number, offB: number,
    C: Float32Array, ldc: number, offC: number, accumulate: boolean, swapped: boolean,
  ): void {
    const mp = roundUp(m, WASM_MR);
    const np = roundUp(n, WASM_NR);
    // A as stored, read in place by the kernel.
    const aSpan = transA ? (K - 1) * lda + m : (m - 1) * lda + K;
    const aReach = transA ? (K - 1) * lda + mp : (mp - 1) * lda + K;
    const bSpan = transB ? (n - 1) * ldb + K : (K - 1) * ldb + n;
    const bReach = transB ? (roundUp(n, 4) - 1) * ldb + K : (K - 1) * ldb + np;
    const aAt = 0;
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
      rt.transpose(bAt * 4, n, K, ldb * 4, btAt * 4, np * 4);
      bRow = btAt;
      bLd = np;
    }
    if (accumulate) {
      if (swapped) {
        for (let i = 0; i < n; i++) mem.set(C.subarray(offC + i * ldc, offC + i * ldc + m), ctAt + i * mp);
        rt.transpose(ctAt * 4, n, m, mp * 4, cAt * 4, np * 4);
      } else if (ldc === n && np === n) {
        mem.set(C.subarray(offC, offC + m * n), cAt);
      } else {
        for (let i = 0; i < m; i++) mem.set(C.subarray(offC + i * ldc, offC + i * ldc + n), cAt + i * np);
      }
    }
    residentProduct(rt, transA, m, n, K, aAt, lda, bRow, bLd, cAt, np, accumulate);
    if (swapped) {
      rt.transpose(cAt * 4, m, n, np * 4, ctAt * 4, mp * 4);
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

let built: GemmFunction | null | undefined;

/** The WebAssembly GEMM, or undefined where WebAssembly SIMD is not available. */
export function wasmGemm(): GemmFunction | undefined {
  if (built === undefined) {
    const rt = wasmRuntime();
    built = rt ? makeGemm(rt) : null;
  }
  return built ?? undefined;
}
