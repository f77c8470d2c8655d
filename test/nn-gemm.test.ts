// The matrix multiply behind Conv2d and Linear: both implementations (WebAssembly SIMD and
// JavaScript) against the naive float64 triple loop, on odd sizes, every transpose, accumulation,
// offsets and leading dimensions larger than the rows, across the blocking boundaries.
import { describe, expect, it } from 'vitest';
import { type GemmFunction, gemm, gemmBackend, gemmJs, gemmReference, useGemmBackend } from '../src/nn/gemm.js';
import { wasmGemm } from '../src/nn/gemm-wasm.js';
import { SeededRandom } from '../src/tensor/random.js';

const wasm = wasmGemm();
const implementations: [string, GemmFunction][] = [['js', gemmJs]];
if (wasm) implementations.unshift(['wasm', wasm]);

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
    const { actual, C0, ldc, offC } = runCase(fn, { transA: false, transB: true, M: 5, N: 11, K: 7, accumulate: false }, 3);
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

describe('gemm dispatch', () => {
  it('uses WebAssembly SIMD where the runtime has it, and can be switched', () => {
    expect(gemmBackend()).toBe(wasm ? 'wasm' : 'js');
    const A = new Float32Array([1, 2, 3, 4]);
    const C = new Float32Array(4);
    try {
      useGemmBackend('js');
      expect(gemmBackend()).toBe('js');
      gemm(false, false, 2, 2, 2, A, 2, A, 2, C, 2);
      expect(Array.from(C)).toEqual([7, 10, 15, 22]);
    } finally {
      useGemmBackend(wasm ? 'wasm' : 'js');
    }
    gemm(false, false, 2, 2, 2, A, 2, A, 2, C, 2);
    expect(Array.from(C)).toEqual([7, 10, 15, 22]);
  });

  it('a deliberately wrong product fails the same comparison', () => {
    const { actual, expected } = runCase(gemm, { transA: false, transB: false, M: 7, N: 13, K: 11, accumulate: false }, 5);
    actual[3] += 1e-3 * Math.max(...Array.from(expected, Math.abs));
    expect(maxRelative(actual, expected)).toBeGreaterThan(2e-6);
  });
});
