// The matrix multiply behind Conv2d and Linear: both implementations (WebAssembly SIMD and
// JavaScript) against the naive float64 triple loop, on odd sizes, every transpose, accumulation,
// offsets and leading dimensions larger than the rows, across the blocking boundaries; then the
// two against each other within the float32 error bound, on random and ill-conditioned inputs;
// then which one `gemm` actually runs.
//
// The tolerance of the comparisons between the two backends is the classical bound for a float32
// dot product (Higham, Accuracy and Stability of Numerical Algorithms, section 3.1): summing the
// K rounded products (and C itself when accumulating) in any order gives
//   |computed - exact| <= gamma_{K+1} * S,  S = |C0| + sum_k |a_ik| |b_kj|,  gamma_n = n u / (1 - n u),
// u = 2^-24. The JavaScript kernel sums in float64 and rounds once (error <= u |exact| <= u S), so
// the two differ by at most gamma_{K+2} * S. The bound is per element and scales with S, not with
// |C|: on inputs that cancel (C small, S large) a tolerance relative to |C| would be wrong. Where
// products fall below float32's normal range, each rounding may also lose up to half the smallest
// subnormal, 2^-150, which adds (K + 2) * 2^-149 at most.
import { describe, expect, it } from 'vitest';
import { kernelBackend, useKernels } from '../src/kernels/backend.js';
import { type GemmFunction, gemm, gemmJs, gemmReference } from '../src/nn/gemm.js';
import { wasmGemm } from '../src/nn/gemm-wasm.js';
import { SeededRandom } from '../src/tensor/random.js';

// wasmGemm() is looked up in each test, so that a broken module fails each test with its message
const implementations: [string, GemmFunction][] = [
  ['wasm', (...args) => wasmGemm()(...args)],
  ['js', gemmJs],
];

interface Case {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  accumulate: boolean;
}

/** Runs one case with padded leading dimensions and offsets; returns the result and the reference. */
function runCase(fn: GemmFunction, c: Case, seed: number) {
  const rng = new SeededRandom(seed);
  const { transA, transB, M, N, K, accumulate } = c;
  const lda = (transA ? M : K) + 3;
  const ldb = (transB ? K : N) + 1;
  const ldc = N + 2;
  const [offA, offB, offC] = [5, 2, 7];
  const fill = (n: number) => Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);
  const A = fill(offA + (transA ? K : M) * lda);
  const B = fill(offB + (transB ? N : K) * ldb);
  const C0 = fill(offC + M * ldc + 4);
  const expected = C0.slice();
  gemmReference(transA, transB, M, N, K, A, lda, B, ldb, expected, ldc, accumulate, offA, offB, offC);
  const actual = C0.slice();
  fn(transA, transB, M, N, K, A, lda, B, ldb, actual, ldc, accumulate, offA, offB, offC);
  return { actual, expected, C0, ldc, offC };
}

function maxRelative(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / Math.max(scale, 1e-30);
}

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 9],
  [3, 5, 2],
  [7, 13, 11],
  [6, 25, 33], // conv1-like: M below one register tile, N not a multiple of 8
  [17, 9, 300], // K over one K block (256)
  [131, 10, 5], // M over one row block (128)
  [9, 70, 257],
];

describe.each(implementations)('gemm (%s)', (_name, fn) => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`op(A) ${transA ? 'transposed' : 'plain'}, op(B) ${transB ? 'transposed' : 'plain'}, with and without accumulate`, () => {
        let seed = 1;
        for (const [M, N, K] of SIZES) {
          for (const accumulate of [false, true]) {
            const { actual, expected } = runCase(fn, { transA, transB, M, N, K, accumulate }, seed++);
            const err = maxRelative(actual, expected);
            expect(err, `${M}x${N}x${K} accumulate=${accumulate}`).toBeLessThan(2e-6);
          }
        }
      });
    }
  }

  it('leaves everything outside the M x N window of C untouched', () => {
    const { actual, C0, ldc, offC } = runCase(
      fn,
      { transA: false, transB: true, M: 5, N: 11, K: 7, accumulate: false },
      3,
    );
    for (let i = 0; i < actual.length; i++) {
      const rel = i - offC;
      const inside = rel >= 0 && Math.floor(rel / ldc) < 5 && rel % ldc < 11;
      if (!inside) expect(actual[i], `index ${i}`).toBe(C0[i]);
    }
  });

  it('K = 0 gives zeros, or leaves C as it was when accumulating; M = 0 and N = 0 do nothing', () => {
    const C = new Float32Array([1, 2, 3, 4]);
    fn(false, false, 2, 2, 0, new Float32Array(0), 1, new Float32Array(0), 2, C, 2, true);
    expect(Array.from(C)).toEqual([1, 2, 3, 4]);
    fn(false, false, 2, 2, 0, new Float32Array(0), 1, new Float32Array(0), 2, C, 2, false);
    expect(Array.from(C)).toEqual([0, 0, 0, 0]);
    const D = new Float32Array([9]);
    fn(false, false, 0, 1, 3, new Float32Array(3), 3, new Float32Array(3), 1, D, 1, false);
    fn(false, false, 1, 0, 3, new Float32Array(3), 3, new Float32Array(3), 1, D, 1, false);
    expect(D[0]).toBe(9);
  });

  it('multiplies a hand-sized case exactly', () => {
    // [1 2 3; 4 5 6] · [1 0; 0 1; 1 1] = [4 5; 10 11]
    const A = new Float32Array([1, 2, 3, 4, 5, 6]);
    const B = new Float32Array([1, 0, 0, 1, 1, 1]);
    const C = new Float32Array(4);
    fn(false, false, 2, 2, 3, A, 3, B, 2, C, 2);
    expect(Array.from(C)).toEqual([4, 5, 10, 11]);
    // A^T · A (3 x 3) = [17 22 27; 22 29 36; 27 36 45], added onto ones
    const G = new Float32Array(9).fill(1);
    fn(true, false, 3, 3, 2, A, 3, A, 3, G, 3, true);
    expect(Array.from(G)).toEqual([18, 23, 28, 23, 30, 37, 28, 37, 46]);
  });

  it('stays correct after a large call grows its working memory', () => {
    const big = runCase(fn, { transA: false, transB: false, M: 40, N: 2000, K: 150, accumulate: true }, 11);
    expect(maxRelative(big.actual, big.expected)).toBeLessThan(2e-6);
    const small = runCase(fn, { transA: true, transB: true, M: 3, N: 4, K: 5, accumulate: false }, 12);
    expect(maxRelative(small.actual, small.expected)).toBeLessThan(2e-6);
  });

  it('reads operands that live in a SharedArrayBuffer', () => {
    const A = new Float32Array(new SharedArrayBuffer(6 * 4));
    A.set([1, 2, 3, 4, 5, 6]);
    const B = new Float32Array(new SharedArrayBuffer(6 * 4));
    B.set([1, 0, 0, 1, 1, 1]);
    const C = new Float32Array(new SharedArrayBuffer(4 * 4));
    fn(false, false, 2, 2, 3, A, 3, B, 2, C, 2);
    expect(Array.from(C)).toEqual([4, 5, 10, 11]);
  });
});

const U = 2 ** -24;
const gamma = (n: number) => (n * U) / (1 - n * U);

/** The bound on |wasm - js| for one element with absolute sum S of a K-term product (see the top). */
const bound = (K: number, S: number) => gamma(K + 2) * S + (K + 2) * 2 ** -149;

/** S = |C0| + |op(A)| |op(B)| in float64, M x N row-major. */
function absoluteSums(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  ops: Operands,
  accumulate: boolean,
): Float64Array {
  const S = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = accumulate ? Math.abs(ops.C0[i * N + j]) : 0;
      for (let k = 0; k < K; k++)
        s += Math.abs((transA ? ops.A[k * M + i] : ops.A[i * K + k]) * (transB ? ops.B[j * K + k] : ops.B[k * N + j]));
      S[i * N + j] = s;
    }
  }
  return S;
}

/** Row-major M x K and K x N operands (as stored: transposes are the caller's business) and C0. */
interface Operands {
  A: Float32Array;
  B: Float32Array;
  C0: Float32Array;
}

/** Runs both backends on the same operands; returns the largest difference over its bound. */
function compareBackends(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  ops: Operands,
  accumulate: boolean,
): number {
  const lda = transA ? M : K;
  const ldb = transB ? K : N;
  const viaWasm = ops.C0.slice();
  const viaJs = ops.C0.slice();
  wasmGemm()(transA, transB, M, N, K, ops.A, lda, ops.B, ldb, viaWasm, N, accumulate);
  gemmJs(transA, transB, M, N, K, ops.A, lda, ops.B, ldb, viaJs, N, accumulate);
  const S = absoluteSums(transA, transB, M, N, K, ops, accumulate);
  let worst = 0;
  for (let i = 0; i < M * N; i++) {
    const ratio = Math.abs(viaWasm[i] - viaJs[i]) / bound(K, S[i]);
    if (!(ratio <= worst)) worst = Number.isNaN(ratio) ? Infinity : ratio;
  }
  return worst;
}

function randomOperands(rng: SeededRandom, M: number, N: number, K: number, scale = 1): Operands {
  const fill = (n: number) => Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
  return { A: fill(M * K), B: fill(K * N), C0: fill(M * N) };
}

/**
 * Ill-conditioned operands: rows of A alternate +big and -big around small values, so each dot
 * product is a small number left after cancelling large terms; C0 cancels with the products too.
 */
function cancellingOperands(rng: SeededRandom, M: number, N: number, K: number): Operands {
  const A = Float32Array.from({ length: M * K }, (_, i) => (i % 2 === 0 ? 1 : -1) * (1e4 + rng.uniform()));
  const B = Float32Array.from({ length: K * N }, () => 1 + rng.uniform() * 1e-3);
  const C0 = Float32Array.from({ length: M * N }, () => (rng.uniform() - 0.5) * 1e4);
  return { A, B, C0 };
}

describe('the two backends agree within the float32 error bound', () => {
  const shapes: [string, number, number, number][] = [
    ['1 x 1 x 1', 1, 1, 1],
    ['1 x 1, long K', 1, 1, 20_000],
    ['odd sizes, none a multiple of 4', 5, 7, 9],
    ['odd sizes across the tile and block edges', 13, 11, 259],
    ['one row, many columns', 1, 33, 17],
    ['many rows, one column', 37, 1, 6],
    ['large K (over 16 blocks of 256)', 6, 10, 4099],
    ['K = 1', 9, 15, 1],
  ];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`random inputs, op(A) ${transA ? 'T' : 'N'}, op(B) ${transB ? 'T' : 'N'}`, () => {
        let seed = 100;
        for (const [label, M, N, K] of shapes) {
          for (const accumulate of [false, true]) {
            const worst = compareBackends(
              transA,
              transB,
              M,
              N,
              K,
              randomOperands(new SeededRandom(seed++), M, N, K),
              accumulate,
            );
            expect(worst, `${label} accumulate=${accumulate}`).toBeLessThanOrEqual(1);
          }
        }
      });
    }
  }

  it('ill-conditioned inputs: large terms that cancel, tiny and huge scales', () => {
    let seed = 200;
    for (const [M, N, K] of [
      [1, 1, 2],
      [3, 5, 7],
      [7, 9, 1001],
      [4, 8, 300],
    ]) {
      for (const accumulate of [false, true]) {
        const rng = new SeededRandom(seed++);
        expect(
          compareBackends(false, false, M, N, K, cancellingOperands(rng, M, N, K), accumulate),
        ).toBeLessThanOrEqual(1);
        expect(compareBackends(true, true, M, N, K, cancellingOperands(rng, M, N, K), accumulate)).toBeLessThanOrEqual(
          1,
        );
        expect(
          compareBackends(false, true, M, N, K, randomOperands(rng, M, N, K, 1e-20), accumulate),
        ).toBeLessThanOrEqual(1); // subnormal products
        expect(
          compareBackends(true, false, M, N, K, randomOperands(rng, M, N, K, 1e15), accumulate),
        ).toBeLessThanOrEqual(1);
      }
    }
  });

  it('the bound is tight enough to catch an error of one term in a thousand', () => {
    const rng = new SeededRandom(300);
    const ops = randomOperands(rng, 6, 10, 1000);
    const good = compareBackends(false, false, 6, 10, 1000, ops, false);
    expect(good).toBeLessThanOrEqual(1);
    // The same comparison with one product of one element dropped from the JavaScript side must fail.
    const viaWasm = new Float32Array(60);
    const viaJs = new Float32Array(60);
    wasmGemm()(false, false, 6, 10, 1000, ops.A, 1000, ops.B, 10, viaWasm, 10);
    gemmJs(false, false, 6, 10, 999, ops.A, 1000, ops.B, 10, viaJs, 10);
    const S = absoluteSums(false, false, 6, 10, 1000, ops, false);
    const over = Array.from(viaWasm, (v, i) => Math.abs(v - viaJs[i]) / bound(1000, S[i]));
    expect(Math.max(...over)).toBeGreaterThan(1);
  });
});

describe('gemm dispatch', () => {
  // 1 + 2^-24 + 2^-24: float32 accumulation rounds each partial sum back to 1 (a tie, to even),
  // float64 keeps 1 + 2^-23, which float32 holds exactly. So the result says which kernel ran.
  const A = new Float32Array([1, 2 ** -24, 2 ** -24]);
  const B = new Float32Array([1, 1, 1]);
  const product = () => {
    const C = new Float32Array(1);
    gemm(false, false, 1, 1, 3, A, 3, B, 1, C, 1);
    return C[0];
  };

  it('runs the WebAssembly kernel by default: its float32 sum, bit for bit', () => {
    expect(process.env.SYNCBN_KERNELS ?? '').toBe('');
    expect(kernelBackend()).toBe('wasm');
    expect(product()).toBe(1);
    const C = new Float32Array(1);
    wasmGemm()(false, false, 1, 1, 3, A, 3, B, 1, C, 1);
    expect(C[0]).toBe(1);
  });

  it('runs the JavaScript kernel only when selected, and switches back', () => {
    try {
      useKernels('js');
      expect(product()).toBe(1 + 2 ** -23);
      const C = new Float32Array(4);
      const M = new Float32Array([1, 2, 3, 4]);
      gemm(false, false, 2, 2, 2, M, 2, M, 2, C, 2);
      expect(Array.from(C)).toEqual([7, 10, 15, 22]);
    } finally {
      useKernels('wasm');
    }
    expect(product()).toBe(1);
  });

  it('a deliberately wrong product fails the comparison with the reference', () => {
    const { actual, expected } = runCase(
      gemm,
      { transA: false, transB: false, M: 7, N: 13, K: 11, accumulate: false },
      5,
    );
    actual[3] += 1e-3 * Math.max(...Array.from(expected, Math.abs));
    expect(maxRelative(actual, expected)).toBeGreaterThan(2e-6);
  });
});
