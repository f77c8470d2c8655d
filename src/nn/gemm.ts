/**
 * Single-precision matrix multiply, the hot path of training:
 *
 *   C (+)= op(A) · op(B),  op(A) M x K, op(B) K x N, C M x N, all row-major with leading dimensions
 *   lda, ldb, ldc; op(X) = X, or X transposed when its flag is set (X is then stored K x M / N x K).
 *
 * Two implementations sit behind `gemm`, chosen by the thread's kernel backend
 * (src/kernels/backend.ts): WebAssembly SIMD (src/nn/gemm-wasm.ts over assembly/gemm.ts, several
 * times the speed of anything scalar), the default, and a cache-blocked JavaScript kernel
 * (`gemmJs`), the `js` backend and the reference the tests hold the SIMD one to. Neither falls
 * back to the other. `gemmReference` is the naive triple loop in float64.
 */
import { kernelBackend } from '../kernels/backend.js';
import { type GemmFunction, wasmGemm } from './gemm-wasm.js';

export type { GemmFunction } from './gemm-wasm.js';

/** The naive triple loop, accumulating in float64: the reference for tests and benchmarks. */
export const gemmReference: GemmFunction = (
  transA,
  transB,
  M,
  N,
  K,
  A,
  lda,
  B,
  ldb,
  C,
  ldc,
  accumulate = false,
  offA = 0,
  offB = 0,
  offC = 0,
) => {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[offA + k * lda + i] : A[offA + i * lda + k];
        const b = transB ? B[offB + j * ldb + k] : B[offB + k * ldb + j];
        s += a * b;
      }
      const at = offC + i * ldc + j;
      C[at] = accumulate ? C[at] + s : s;
    }
  }
};

// --- the JavaScript kernel -------------------------------------------------------------------
// Goto-style blocking: a KC x NC block of op(B) is packed into panels of 4 columns (k-major) and an
// MC x KC block of op(A) into panels of 4 rows, both as float64 so that the 4 x 4 micro-kernel
// (16 accumulators, two 4-vectors loaded per k) runs without conversions; the B block stays in L2
// and one B panel (KC x 4 doubles = 8 KiB) in L1 while the A panels pass over it.
const JS_KC = 256;
const JS_NC = 512;
const JS_MC = 64;
const JS_R = 4;
let packA = new Float64Array(JS_MC * JS_KC);
let packB = new Float64Array(JS_NC * JS_KC);

function packBlockA(
  transA: boolean,
  A: Float32Array,
  lda: number,
  offA: number,
  i0: number,
  mc: number,
  p0: number,
  kc: number,
): void {
  if (packA.length < Math.ceil(mc / JS_R) * JS_R * kc) packA = new Float64Array(Math.ceil(mc / JS_R) * JS_R * kc);
  const pa = packA;
  for (let ip = 0; ip < mc; ip += JS_R) {
    const base = ip * kc;
    for (let r = 0; r < JS_R; r++) {
      const i = i0 + ip + r;
      if (ip + r >= mc) {
        for (let k = 0; k < kc; k++) pa[base + k * JS_R + r] = 0;
      } else if (transA) {
        for (let k = 0; k < kc; k++) pa[base + k * JS_R + r] = A[offA + (p0 + k) * lda + i];
      } else {
        const row = offA + i * lda + p0;
        for (let k = 0; k < kc; k++) pa[base + k * JS_R + r] = A[row + k];
      }
    }
  }
}

function packBlockB(
  transB: boolean,
  B: Float32Array,
  ldb: number,
  offB: number,
  j0: number,
  nc: number,
  p0: number,
  kc: number,
): void {
  if (packB.length < Math.ceil(nc / JS_R) * JS_R * kc) packB = new Float64Array(Math.ceil(nc / JS_R) * JS_R * kc);
  const pb = packB;
  for (let jp = 0; jp < nc; jp += JS_R) {
    const base = jp * kc;
    const cols = Math.min(JS_R, nc - jp);
    for (let k = 0; k < kc; k++) {
      const d = base + k * JS_R;
      for (let c = 0; c < JS_R; c++) {
        const j = j0 + jp + c;
        pb[d + c] = c >= cols ? 0 : transB ? B[offB + j * ldb + p0 + k] : B[offB + (p0 + k) * ldb + j];
      }
    }
  }
}

function microKernel(
  kc: number,
  pa: Float64Array,
  ao: number,
  pb: Float64Array,
  bo: number,
  C: Float32Array,
  co: number,
  ldc: number,
  mr: number,
  nr: number,
  add: boolean,
): void {
  let c00 = 0,
    c01 = 0,
    c02 = 0,
    c03 = 0,
    c10 = 0,
    c11 = 0,
    c12 = 0,
    c13 = 0;
  let c20 = 0,
    c21 = 0,
    c22 = 0,
    c23 = 0,
    c30 = 0,
    c31 = 0,
    c32 = 0,
    c33 = 0;
  for (let k = 0; k < kc; k++) {
    const a = ao + 4 * k;
    const b = bo + 4 * k;
    const a0 = pa[a],
      a1 = pa[a + 1],
      a2 = pa[a + 2],
      a3 = pa[a + 3];
    const b0 = pb[b],
      b1 = pb[b + 1],
      b2 = pb[b + 2],
      b3 = pb[b + 3];
    c00 += a0 * b0;
    c01 += a0 * b1;
    c02 += a0 * b2;
    c03 += a0 * b3;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c12 += a1 * b2;
    c13 += a1 * b3;
    c20 += a2 * b0;
    c21 += a2 * b1;
    c22 += a2 * b2;
    c23 += a2 * b3;
    c30 += a3 * b0;
    c31 += a3 * b1;
    c32 += a3 * b2;
    c33 += a3 * b3;
  }
  if (mr === 4 && nr === 4) {
    if (add) {
      C[co] += c00;
      C[co + 1] += c01;
      C[co + 2] += c02;
      C[co + 3] += c03;
      co += ldc;
      C[co] += c10;
      C[co + 1] += c11;
      C[co + 2] += c12;
      C[co + 3] += c13;
      co += ldc;
      C[co] += c20;
      C[co + 1] += c21;
      C[co + 2] += c22;
      C[co + 3] += c23;
      co += ldc;
      C[co] += c30;
      C[co + 1] += c31;
      C[co + 2] += c32;
      C[co + 3] += c33;
    } else {
      C[co] = c00;
      C[co + 1] = c01;
      C[co + 2] = c02;
      C[co + 3] = c03;
      co += ldc;
      C[co] = c10;
      C[co + 1] = c11;
      C[co + 2] = c12;
      C[co + 3] = c13;
      co += ldc;
      C[co] = c20;
      C[co + 1] = c21;
      C[co + 2] = c22;
      C[co + 3] = c23;
      co += ldc;
      C[co] = c30;
      C[co + 1] = c31;
      C[co + 2] = c32;
      C[co + 3] = c33;
    }
    return;
  }
  const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let r = 0; r < mr; r++) {
    for (let c = 0; c < nr; c++) {
      const at = co + r * ldc + c;
      C[at] = add ? C[at] + tile[r * 4 + c] : tile[r * 4 + c];
    }
  }
}

/** The cache-blocked JavaScript GEMM (float64 accumulation in registers). */
export const gemmJs: GemmFunction = (
  transA,
  transB,
  M,
  N,
  K,
  A,
  lda,
  B,
  ldb,
  C,
  ldc,
  accumulate = false,
  offA = 0,
  offB = 0,
  offC = 0,
) => {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, offC + i * ldc, offC + i * ldc + N);
    return;
  }
  for (let jc = 0; jc < N; jc += JS_NC) {
    const nc = Math.min(JS_NC, N - jc);
    for (let pc = 0; pc < K; pc += JS_KC) {
      const kc = Math.min(JS_KC, K - pc);
      const add = accumulate || pc > 0;
      packBlockB(transB, B, ldb, offB, jc, nc, pc, kc);
      for (let ic = 0; ic < M; ic += JS_MC) {
        const mc = Math.min(JS_MC, M - ic);
        packBlockA(transA, A, lda, offA, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += JS_R) {
          const nr = Math.min(JS_R, nc - jr);
          for (let ir = 0; ir < mc; ir += JS_R) {
            const mr = Math.min(JS_R, mc - ir);
            microKernel(kc, packA, ir * kc, packB, jr * kc, C, offC + (ic + ir) * ldc + jc + jr, ldc, mr, nr, add);
          }
        }
      }
    }
  }
};

// --- dispatch ----------------------------------------------------------------------------------

/**
 * C (+)= op(A) · op(B) on the thread's kernel backend (see `GemmFunction` for the arguments).
 * `accumulate` adds into C instead of overwriting it; offsets locate the matrices inside larger
 * arrays. The arrays must not overlap C.
 * @throws WasmKernelError (src/kernels/wasm-module.ts) when the backend is `wasm` and the module
 * cannot be loaded.
 */
export const gemm: GemmFunction = (
  transA,
  transB,
  M,
  N,
  K,
  A,
  lda,
  B,
  ldb,
  C,
  ldc,
  accumulate = false,
  offsetA = 0,
  offsetB = 0,
  offsetC = 0,
) =>
  (kernelBackend() === 'wasm' ? wasmGemm() : gemmJs)(
    transA,
    transB,
    M,
    N,
    K,
    A,
    lda,
    B,
    ldb,
    C,
    ldc,
    accumulate,
    offsetA,
    offsetB,
    offsetC,
  );
