// The BN kernels on WebAssembly SIMD against the JavaScript reference: both backends on the same
// inputs (float32 and float64, [N,C] and [N,C,H,W], sizes that are no multiple of the SIMD width,
// one element, no rows, constant channels, |mean|/std of 1e4 and 1e8, values near 1e30), and
// checks that the default backend is WebAssembly by what actually ran.
//
// Tolerances, and why:
// - Element-wise kernels (normalize, grad input in train and eval mode), Welford and the float32-
//   accumulator sums: 0, bit for bit. They perform the reference's float64 operations in its
//   order (WebAssembly, like JavaScript, never fuses a multiply-add; float32 steps are the
//   reference's Math.fround of float64 steps, and double rounding is innocuous there).
// - Float64 sums (sumStats, centeredSumSq, gradSums): the kernel adds a plane's terms in eight
//   interleaved partial sums, the reference one after another. Each term is computed identically;
//   any order of summing n terms is within gamma_(n-1) * sum |t| of the exact sum (Higham 4.2,
//   gamma_k = k u / (1 - k u), u = 2^-53), so the two differ by at most 2 gamma_n sum |t|.
//   sum(dy * xhat) is that sum times invStd, one more rounding: 2 gamma_(n+1) invStd sum |t|.
import { afterEach, describe, expect, it } from 'vitest';
import {
  gradInputEval,
  gradInputEvalJs,
  gradInputTrain,
  gradInputTrainJs,
  gradSums,
  gradSumsJs,
  gradTrain,
} from '../src/bn/backward.js';
import { forwardTrain } from '../src/bn/forward.js';
import {
  centeredSumSq,
  centeredSumSqJs,
  momentsFromSums,
  sumStats,
  sumStatsJs,
  welfordStats,
  welfordStatsJs,
} from '../src/bn/moments.js';
import { inverseStd, normalize, normalizeJs } from '../src/bn/normalize.js';
import { channelBlocks, rowBlocks } from '../src/bn/staging.js';
import { kernelBackend, useKernels } from '../src/kernels/backend.js';
import { wasmRuntime } from '../src/kernels/wasm-runtime.js';
import { type ChannelLayout, type FloatArray, channelLayout } from '../src/tensor/tensor.js';

const U = 2 ** -53;
const gamma = (n: number) => (n * U) / (1 - n * U);

afterEach(() => useKernels('wasm'));

/** A small deterministic generator (mulberry32) of numbers in [0, 1). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'plain' | 'mean/std 1e4' | 'mean/std 1e8' | 'near 1e30' | 'constant channels';
const KINDS: readonly Kind[] = ['plain', 'mean/std 1e4', 'mean/std 1e8', 'near 1e30', 'constant channels'];

/** Input of a kind: per channel c, mean and spread chosen so that |mean|/std is what the kind says. */
function input(kind: Kind, layout: ChannelLayout, f32: boolean, seed: number): FloatArray {
  const { rows, channels: C, inner } = layout;
  const next = random(seed);
  const out = f32 ? new Float32Array(rows * C * inner) : new Float64Array(rows * C * inner);
  for (let i = 0; i < out.length; i++) {
    const c = Math.floor(i / inner) % C;
    const z = next() * 2 - 1;
    const sign = c % 2 ? -1 : 1;
    switch (kind) {
      case 'plain':
        out[i] = sign * (c + 0.5) + z * (1 + c);
        break;
      case 'mean/std 1e4':
        out[i] = sign * 1e4 * (c + 1) + z * (c + 1);
        break;
      case 'mean/std 1e8':
        out[i] = sign * 1e8 * (c + 1) + z * (c + 1);
        break;
      case 'near 1e30':
        out[i] = sign * 1e30 * (1 + 0.25 * z);
        break;
      case 'constant channels':
        out[i] = c % 2 === 0 ? 3.7 * (c + 1) : z;
        break;
    }
  }
  return out;
}

/** Per channel: the sum of |f(x)| over the channel's elements, in float64. */
function absSum(x: FloatArray, layout: ChannelLayout, f: (v: number, i: number, c: number) => number): Float64Array {
  const { rows, channels: C, inner } = layout;
  const out = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < inner; j++) {
        const i = (r * C + c) * inner + j;
        out[c] += Math.abs(f(x[i], i, c));
      }
    }
  }
  return out;
}

/** Asserts |actual - expected| <= bound[c] for every channel (a little slack for computing the bound). */
function withinBound(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bound: ArrayLike<number>,
  what: string,
): void {
  expect(actual.length, what).toBe(expected.length);
  for (let c = 0; c < expected.length; c++) {
    const diff = Math.abs(actual[c] - expected[c]);
    if (!(diff <= bound[c] * (1 + 1e-9)) && !Object.is(actual[c], expected[c])) {
      expect.fail(`${what}, channel ${c}: wasm ${actual[c]}, js ${expected[c]}, |diff| ${diff} > bound ${bound[c]}`);
    }
  }
}

/** Asserts the two arrays hold the same values, bit for bit (NaNs and signed zeros included). */
function sameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) expect.fail(`${what}, element ${i}: wasm ${actual[i]}, js ${expected[i]}`);
  }
}

const SHAPES: readonly number[][] = [
  [1, 1],
  [1, 1, 1, 1],
  [0, 3],
  [0, 3, 4, 4],
  [5, 3],
  [7, 9],
  [2, 3, 1, 1],
  [2, 3, 1, 2],
  [3, 4, 1, 3],
  [3, 5, 2, 3],
  [4, 3, 3, 3],
  [6, 7, 4, 4],
  [2, 3, 17, 1],
  [5, 11, 3, 5],
  [3, 2, 9, 1],
  [9, 10, 8, 8],
];
const CASES = SHAPES.flatMap((shape) =>
  (['float32', 'float64'] as const).map((dtype) => [shape.join('x'), dtype, shape] as const),
);

describe.each(CASES)('wasm against js: %s %s', (_name, dtype, shape) => {
  const layout = channelLayout(shape);
  const f32 = dtype === 'float32';
  const n = layout.rows * layout.inner;
  const C = layout.channels;
  const weight = Float64Array.from({ length: C }, (_, c) => 0.5 + c * 0.25);
  const bias = Float64Array.from({ length: C }, (_, c) => c - 1.5);

  it.each(KINDS)('partial statistics on %s data', (kind) => {
    const x = input(kind, layout, f32, 7 + C);
    const shift = Float64Array.from({ length: C }, (_, c) => (n > 0 ? x[c * layout.inner] : 0) + 0.125);
    for (const k of [undefined, shift]) {
      const w = sumStats(x, layout, 'float64', k);
      const j = sumStatsJs(x, layout, 'float64', k);
      expect(w.count).toBe(j.count);
      const kc = (c: number) => (k ? k[c] : 0);
      withinBound(
        w.sum,
        j.sum,
        absSum(x, layout, (v, _i, c) => v - kc(c)).map((s) => 2 * gamma(n) * s),
        `sum ${k ? 'shifted' : ''}`,
      );
      withinBound(
        w.sumSq,
        j.sumSq,
        absSum(x, layout, (v, _i, c) => (v - kc(c)) ** 2).map((s) => 2 * gamma(n) * s),
        `sumSq ${k ? 'shifted' : ''}`,
      );
      // float32 accumulators: the reference's sequence of float32 roundings, bit for bit
      const w32 = sumStats(x, layout, 'float32', k);
      const j32 = sumStatsJs(x, layout, 'float32', k);
      sameBits(w32.sum, j32.sum, 'float32 sum');
      sameBits(w32.sumSq, j32.sumSq, 'float32 sumSq');
    }
    const w = welfordStats(x, layout);
    const j = welfordStatsJs(x, layout);
    expect(w.count).toBe(j.count);
    sameBits(w.mean, j.mean, 'Welford mean');
    sameBits(w.m2, j.m2, 'Welford M2');
    const mean = momentsFromSums(sumStatsJs(x, layout)).mean.map((m) => (Number.isNaN(m) ? 0 : m));
    withinBound(
      centeredSumSq(x, layout, mean),
      centeredSumSqJs(x, layout, mean),
      absSum(x, layout, (v, _i, c) => (v - mean[c]) ** 2).map((s) => 2 * gamma(n) * s),
      'centered',
    );
  });

  it.each(KINDS)('normalize and the backward pass on %s data', (kind) => {
    const x = input(kind, layout, f32, 11 + C);
    const dy = input('plain', layout, f32, 13 + C);
    const stats = momentsFromSums(sumStatsJs(x, layout));
    const mean = stats.mean.map((m) => (Number.isNaN(m) ? 0 : m));
    const invStd = inverseStd(
      stats.var.map((v) => (Number.isNaN(v) ? 1 : v)),
      1e-5,
    );
    const make = () => (f32 ? new Float32Array(x.length) : new Float64Array(x.length));
    for (const [w, b] of [
      [undefined, undefined],
      [weight, bias],
    ] as const) {
      const yw = make();
      const yj = make();
      normalize(x, layout, mean, invStd, w, b, yw);
      normalizeJs(x, layout, mean, invStd, w, b, yj);
      sameBits(yw, yj, `normalize ${w ? 'with' : 'without'} weight and bias`);
    }
    const sw = gradSums(dy, x, layout, mean, invStd);
    const sj = gradSumsJs(dy, x, layout, mean, invStd);
    withinBound(
      sw.sumDy,
      sj.sumDy,
      absSum(dy, layout, (v) => v).map((s) => 2 * gamma(n) * s),
      'sum dy',
    );
    const dotBound = absSum(dy, layout, (v, i, c) => v * (x[i] - mean[c])).map(
      (s, c) => 2 * gamma(n + 1) * invStd[c] * s,
    );
    withinBound(sw.sumDyXhat, sj.sumDyXhat, dotBound, 'sum dy xhat');
    for (const w of [undefined, weight]) {
      const dw = make();
      const dj = make();
      gradInputTrain(dy, x, layout, mean, invStd, w, sj, Math.max(n, 1), dw);
      gradInputTrainJs(dy, x, layout, mean, invStd, w, sj, Math.max(n, 1), dj);
      sameBits(dw, dj, 'grad input (train)');
      gradInputEval(dy, layout, invStd, w, dw);
      gradInputEvalJs(dy, layout, invStd, w, dj);
      sameBits(dw, dj, 'grad input (eval)');
    }
  });

  it("the fused forward and backward give the separate passes' bits", () => {
    const x = input('mean/std 1e4', layout, f32, 17 + C);
    const dy = input('plain', layout, f32, 19 + C);
    const make = () => (f32 ? new Float32Array(x.length) : new Float64Array(x.length));
    const y = make();
    const fused = forwardTrain(x, layout, 1e-3, weight, bias, y);
    const stats = momentsFromSums(sumStats(x, layout));
    const invStd = inverseStd(stats.var, 1e-3);
    sameBits(fused.mean, stats.mean, 'mean');
    sameBits(fused.var, stats.var, 'var');
    sameBits(fused.invStd, invStd, 'invStd');
    const ySeparate = make();
    normalize(x, layout, stats.mean, invStd, weight, bias, ySeparate);
    sameBits(y, ySeparate, 'y');
    if (n === 0) return;
    const dx = make();
    const sums = gradTrain(dy, x, layout, stats.mean, invStd, weight, dx);
    const separate = gradSums(dy, x, layout, stats.mean, invStd);
    sameBits(sums.sumDy, separate.sumDy, 'sum dy');
    sameBits(sums.sumDyXhat, separate.sumDyXhat, 'sum dy xhat');
    const dxSeparate = make();
    gradInputTrain(dy, x, layout, stats.mean, invStd, weight, separate, n, dxSeparate);
    sameBits(dx, dxSeparate, 'dx');
  });
});

describe('blocks staged in the module memory', () => {
  it('rows come in blocks of whole rows, or of one row and some channels; planes are never split', () => {
    const cover = (layout: ChannelLayout, blocks: ReturnType<typeof rowBlocks>) => {
      const seen = new Uint8Array(layout.rows * layout.channels);
      for (const b of blocks)
        for (let r = b.r0; r < b.r1; r++) for (let c = b.c0; c < b.c1; c++) seen[r * layout.channels + c]++;
      return seen.every((v) => v === 1);
    };
    const small = channelLayout([10, 3, 2, 2]);
    expect(rowBlocks(small, 24)).toEqual([0, 2, 4, 6, 8].map((r0) => ({ r0, r1: r0 + 2, c0: 0, c1: 3 })));
    const wide = channelLayout([2, 5, 4, 4]);
    const blocks = rowBlocks(wide, 40);
    expect(blocks).toContainEqual({ r0: 1, r1: 2, c0: 4, c1: 5 });
    expect(blocks.every((b) => b.r1 - b.r0 === 1 && b.c1 - b.c0 <= 2)).toBe(true);
    expect(cover(wide, blocks)).toBe(true);
    // a plane larger than the budget is one block of one plane
    expect(rowBlocks(channelLayout([2, 2, 10, 10]), 50)).toHaveLength(4);
    expect(rowBlocks(channelLayout([0, 2, 10, 10]), 50)).toEqual([]);
    expect(cover(channelLayout([7, 9]), rowBlocks(channelLayout([7, 9]), 10))).toBe(true);
  });

  it('fused passes take whole channels, or run unfused when a channel is too big or its rows too short', () => {
    expect(channelBlocks(channelLayout([4, 6, 8, 8]), 4 * 64 * 4, 64)).toEqual(
      [0, 4].map((c0) => ({ r0: 0, r1: 4, c0, c1: Math.min(6, c0 + 4) })),
    );
    expect(channelBlocks(channelLayout([4, 6, 8, 8]), 100, 1)).toBeUndefined();
    expect(channelBlocks(channelLayout([4, 6, 8, 8]), 4 * 64 * 2, 256)).toBeUndefined();
    // every channel in one block is whole rows: no row is too short
    expect(channelBlocks(channelLayout([4, 6]), 1000, 256)).toEqual([{ r0: 0, r1: 4, c0: 0, c1: 6 }]);
    expect(channelBlocks(channelLayout([0, 6, 2, 2]), 1000, 1)).toBeUndefined();
  });

  it.each([
    ['rows split into channel ranges', [3, 5, 100, 100], 'float32'],
    ['planes larger than a block', [2, 2, 200, 200], 'float32'],
    ['several fused blocks of whole channels', [64, 8, 32, 32], 'float32'],
    ['several fused blocks, float64', [64, 8, 32, 32], 'float64'],
  ] as const)('results do not depend on how the tensor is cut: %s', (_what, shape, dtype) => {
    const layout = channelLayout(shape);
    const f32 = dtype === 'float32';
    const n = layout.rows * layout.inner;
    const x = input('mean/std 1e4', layout, f32, 23);
    const dy = input('plain', layout, f32, 29);
    const w = sumStats(x, layout);
    const j = sumStatsJs(x, layout);
    withinBound(
      w.sum,
      j.sum,
      absSum(x, layout, (v) => v).map((s) => 2 * gamma(n) * s),
      'sum',
    );
    withinBound(
      w.sumSq,
      j.sumSq,
      absSum(x, layout, (v) => v * v).map((s) => 2 * gamma(n) * s),
      'sumSq',
    );
    sameBits(welfordStats(x, layout).m2, welfordStatsJs(x, layout).m2, 'Welford M2');
    sameBits(sumStats(x, layout, 'float32').sumSq, sumStatsJs(x, layout, 'float32').sumSq, 'float32 sumSq');
    const stats = momentsFromSums(j);
    const invStd = inverseStd(stats.var, 1e-5);
    const make = () => (f32 ? new Float32Array(x.length) : new Float64Array(x.length));
    const [yw, yj] = [make(), make()];
    normalize(x, layout, stats.mean, invStd, undefined, undefined, yw);
    normalizeJs(x, layout, stats.mean, invStd, undefined, undefined, yj);
    sameBits(yw, yj, 'normalize');
    const fused = forwardTrain(x, layout, 1e-5, undefined, undefined, yw);
    const wasmStats = momentsFromSums(w);
    sameBits(fused.var, wasmStats.var, 'fused var');
    normalize(x, layout, wasmStats.mean, inverseStd(wasmStats.var, 1e-5), undefined, undefined, yj);
    sameBits(yw, yj, 'fused forward');
    const [dw, dj] = [make(), make()];
    const sums = gradTrain(dy, x, layout, stats.mean, invStd, undefined, dw);
    const separate = gradSums(dy, x, layout, stats.mean, invStd);
    sameBits(sums.sumDyXhat, separate.sumDyXhat, 'fused sums');
    gradInputTrainJs(dy, x, layout, stats.mean, invStd, undefined, separate, n, dj);
    sameBits(dw, dj, 'fused dx');
  });
});

describe('which kernels ran', () => {
  // [1,1,1,8] float64: 1 followed by seven halves of an ulp of 1. Added one after another (the
  // reference) each half ulp rounds away and the sum stays 1; the kernel's interleaved partial sums
  // pair the small terms first and keep 1 + 3 * 2^-52. So the result says which kernel ran.
  const layout = channelLayout([1, 1, 1, 8]);
  const x = new Float64Array([1, U, U, U, U, U, U, U]);
  const WASM_SUM = 1 + 3 * 2 ** -52;

  /**
   * Fills the drivers' scratch memory with NaN, runs `fn`, and says whether `values()` (taken after
   * the call, so that it may be the call's output) now sits there: what the kernel last staged.
   */
  function stagedThere(fn: () => unknown, values: () => FloatArray): boolean {
    const rt = wasmRuntime();
    rt.heap.fill(NaN, rt.base, rt.base + 8192);
    fn();
    const v = values();
    const view = v instanceof Float32Array ? rt.heap : rt.heap64;
    const from = (rt.base * 4) / v.BYTES_PER_ELEMENT;
    for (let at = from; at < from + 8192 / (v.BYTES_PER_ELEMENT / 4); at++) {
      let all = true;
      for (let i = 0; i < v.length && all; i++) all = Object.is(view[at + i], v[i]);
      if (all) return true;
    }
    return false;
  }

  it('the default backend is WebAssembly, and its reductions are the SIMD ones', () => {
    expect(process.env.SYNCBN_KERNELS ?? '').toBe('');
    expect(kernelBackend()).toBe('wasm');
    expect(sumStats(x, layout).sum[0]).toBe(WASM_SUM);
    const ones = new Float64Array(8).fill(1);
    const sums = gradSums(x, ones, layout, new Float64Array([0]), new Float64Array([1]));
    expect([sums.sumDy[0], sums.sumDyXhat[0]]).toEqual([WASM_SUM, WASM_SUM]);
    expect(sumStatsJs(x, layout).sum[0]).toBe(1);
    expect(gradSumsJs(x, ones, layout, new Float64Array([0]), new Float64Array([1])).sumDy[0]).toBe(1);
  });

  it('every BN kernel stages its operands in the module memory by default, none when js is selected', () => {
    const l = channelLayout([2, 3, 2, 2]);
    const data = Float32Array.from({ length: 24 }, (_, i) => 0.5 + i);
    const dy = Float32Array.from({ length: 24 }, (_, i) => 1 - i / 8);
    const mean = new Float64Array([1, 2, 3]);
    const invStd = new Float64Array([0.5, 0.25, 2]);
    const sums = gradSumsJs(dy, data, l, mean, invStd);
    const out = new Float32Array(24);
    const input = () => data;
    const output = () => out;
    const ops: [string, () => unknown, () => FloatArray][] = [
      ['sumStats', () => sumStats(data, l), input],
      ['sumStats float32', () => sumStats(data, l, 'float32'), input],
      ['welfordStats', () => welfordStats(data, l), input],
      ['centeredSumSq', () => centeredSumSq(data, l, mean), input],
      ['gradSums', () => gradSums(dy, data, l, mean, invStd), input],
      ['normalize', () => normalize(data, l, mean, invStd, undefined, undefined, out), output],
      ['gradInputTrain', () => gradInputTrain(dy, data, l, mean, invStd, undefined, sums, 8, out), output],
      ['gradInputEval', () => gradInputEval(dy, l, invStd, undefined, out), output],
      ['forwardTrain', () => forwardTrain(data, l, 1e-5, undefined, undefined, out), output],
      ['gradTrain', () => gradTrain(dy, data, l, mean, invStd, undefined, out), output],
    ];
    for (const [name, run, staged] of ops) expect(stagedThere(run, staged), name).toBe(true);
    useKernels('js');
    expect(sumStats(x, layout).sum[0]).toBe(1);
    for (const [name, run, staged] of ops) expect(stagedThere(run, staged), `${name} with js`).toBe(false);
  });

  it('the bound between the backends is tight enough to see one wrong term in a thousand', () => {
    const l = channelLayout([1000, 1]);
    const data = input('plain', l, false, 31);
    const wrong = data.slice();
    wrong[617] = 0;
    const bound = 2 * gamma(1000) * absSum(data, l, (v) => v)[0];
    expect(Math.abs(sumStats(data, l).sum[0] - sumStatsJs(data, l).sum[0])).toBeLessThanOrEqual(bound);
    expect(Math.abs(sumStats(data, l).sum[0] - sumStatsJs(wrong, l).sum[0])).toBeGreaterThan(1e6 * bound);
  });
});
