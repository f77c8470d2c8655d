/**
 * Per-channel partial statistics and how they merge. Three representations, one per method:
 *
 * - sums (count, S1 = sum(x - K), S2 = sum((x - K)^2)) for a shift K per channel (K = 0 for plain
 *   sums). Merging adds; var = S2/n - (S1/n)^2 cancels badly when |mean - K| >> std.
 * - Welford triples (count, mean, M2) merged with Chan's formula: stable, one round.
 * - two-pass: count and S1 first (the global mean), then sum((x - mean)^2): stable, two rounds.
 *
 * Every function here is pure and works on one block of rows; the caller decides where the block
 * comes from (a whole batch, one device's shard, one ghost chunk).
 */
import { kernelBackend } from '../kernels/backend.js';
import {
  checkBlock,
  checkChoice,
  checkFloat64Array,
  checkLayout,
  checkObject,
  checkPerChannelStats,
  checkWhole,
} from '../args.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { centeredSumSqWasm, sumStatsWasm, welfordStatsWasm } from './moments-wasm.js';

/** Statistics a batch is normalized with: count n per channel, mean, and the biased variance. */
export interface Moments {
  /** Values per channel n (rows x inner, summed over devices for synced statistics). */
  readonly count: number;
  /** Mean per channel. */
  readonly mean: Float64Array;
  /** Biased variance per channel (divided by n); may be slightly negative after cancellation. */
  readonly var: Float64Array;
}

/** Precision of the running sums: float64 (default) or float32, which models a GPU's float sums. */
export type Accumulator = 'float64' | 'float32';

/** Partial statistics as sums, what 'sums' and 'shifted-sums' all-reduce (2C+1 values). */
export interface SumStats {
  /** Values per channel n. */
  readonly count: number;
  /** S1 = sum(x) per channel (of x - K with a shift). */
  readonly sum: Float64Array;
  /** S2 = sum(x^2) per channel (of (x - K)^2 with a shift). */
  readonly sumSq: Float64Array;
  /** The precision the sums were accumulated in. */
  readonly accumulator: Accumulator;
}

/** Partial statistics as Welford triples, what 'welford' all-reduces (merged with Chan's formula). */
export interface WelfordStats {
  /** Values per channel n. */
  readonly count: number;
  /** Mean per channel. */
  readonly mean: Float64Array;
  /** M2 = sum((x - mean)^2) per channel. */
  readonly m2: Float64Array;
}

const round32 = Math.fround;

/** Checks a block of rows and its layout (the first two arguments of every kernel here). */
function checkRows(x: unknown, layout: unknown): ChannelLayout {
  const checked = checkLayout('layout', layout);
  checkBlock('x', x, checked);
  return checked;
}

function checkSumStats(name: string, value: unknown): SumStats {
  const s = checkObject<SumStats>(name, value);
  checkWhole(`${name}.count`, s.count);
  checkFloat64Array(`${name}.sum`, s.sum);
  checkFloat64Array(`${name}.sumSq`, s.sumSq, s.sum.length);
  checkChoice(`${name}.accumulator`, s.accumulator, ['float64', 'float32']);
  return s;
}

function checkWelfordStats(name: string, value: unknown): WelfordStats {
  const w = checkObject<WelfordStats>(name, value);
  checkWhole(`${name}.count`, w.count);
  checkFloat64Array(`${name}.mean`, w.mean);
  checkFloat64Array(`${name}.m2`, w.m2, w.mean.length);
  return w;
}

/** Elements per channel in `layout`. */
function elements(layout: ChannelLayout): number {
  return layout.rows * layout.inner;
}

/**
 * Sums of (x - shift) and (x - shift)^2 per channel, on this thread's kernels (src/kernels/backend.ts):
 * the WebAssembly ones by default (src/bn/moments-wasm.ts), `sumStatsJs` when `js` is selected.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param accumulator - float64 sums (default), or float32 sums rounded at every step in order.
 * @param shift - the shift K per channel (none: 0).
 * @returns count, sum and sum of squares per channel.
 */
export function sumStats(
  x: FloatArray,
  layout: ChannelLayout,
  accumulator: Accumulator = 'float64',
  shift?: Float64Array,
): SumStats {
  const { channels: C } = checkRows(x, layout);
  checkChoice('accumulator', accumulator, ['float64', 'float32']);
  if (shift !== undefined) checkPerChannelStats('shift', shift, C);
  return kernelBackend() === 'wasm'
    ? sumStatsWasm(x, layout, accumulator, shift)
    : sumStatsJs(x, layout, accumulator, shift);
}

/**
 * The JavaScript reference of `sumStats`. Plane by plane, each (row, channel) plane is contiguous
 * in NCHW, so the inner loop streams through memory.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param accumulator - float64 sums (default), or float32 sums rounded at every step in order.
 * @param shift - the shift K per channel (none: 0).
 * @returns count, sum and sum of squares per channel.
 */
export function sumStatsJs(
  x: FloatArray,
  layout: ChannelLayout,
  accumulator: Accumulator = 'float64',
  shift?: Float64Array,
): SumStats {
  const { rows, channels: C, inner } = layout;
  const sum = new Float64Array(C);
  const sumSq = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const k = shift ? shift[c] : 0;
      const start = (r * C + c) * inner;
      const end = start + inner;
      let s = 0;
      let s2 = 0;
      if (accumulator === 'float64') {
        for (let i = start; i < end; i++) {
          const v = x[i] - k;
          s += v;
          s2 += v * v;
        }
        sum[c] += s;
        sumSq[c] += s2;
      } else {
        // Every operation rounded to float32, in sequential order: a worst case for float sums.
        const k32 = round32(k);
        for (let i = start; i < end; i++) {
          const v = round32(x[i] - k32);
          s = round32(s + v);
          s2 = round32(s2 + round32(v * v));
        }
        sum[c] = round32(sum[c] + s);
        sumSq[c] = round32(sumSq[c] + s2);
      }
    }
  }
  return { count: elements(layout), sum, sumSq, accumulator };
}

/**
 * Adds two blocks' sums (taken with the same shift), in their accumulator's precision.
 *
 * @param a - the sums of the lower ranks.
 * @param b - the sums of the higher ranks, same channels and accumulator.
 * @returns the sums of both blocks.
 * @throws {@link InputError} when the two do not match.
 */
export function mergeSums(a: SumStats, b: SumStats): SumStats {
  checkSumStats('a', a);
  checkSumStats('b', b);
  checkFloat64Array('b.sum', b.sum, a.sum.length);
  checkChoice('b.accumulator', b.accumulator, [a.accumulator]);
  const C = a.sum.length;
  const sum = new Float64Array(C);
  const sumSq = new Float64Array(C);
  const f32 = a.accumulator === 'float32';
  for (let c = 0; c < C; c++) {
    sum[c] = f32 ? round32(a.sum[c] + b.sum[c]) : a.sum[c] + b.sum[c];
    sumSq[c] = f32 ? round32(a.sumSq[c] + b.sumSq[c]) : a.sumSq[c] + b.sumSq[c];
  }
  return { count: a.count + b.count, sum, sumSq, accumulator: a.accumulator };
}

/**
 * Mean and biased variance from sums: mean = K + S1/n, var = S2/n - (S1/n)^2. The variance may
 * come out negative from cancellation; it is returned as computed so that experiments can see it
 * (normalization clamps it at zero).
 *
 * @param s - the (merged) sums.
 * @param shift - the shift K the sums were taken with, per channel (none: 0).
 * @returns the count, mean and biased variance (NaN for an empty block), in the accumulator's precision.
 * @throws {@link InputError} when an argument is unusable.
 */
export function momentsFromSums(s: SumStats, shift?: ArrayLike<number>): Moments {
  checkSumStats('s', s);
  const C = s.sum.length;
  if (shift !== undefined) checkPerChannelStats('shift', shift, C);
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const n = s.count;
  for (let c = 0; c < C; c++) {
    if (n === 0) {
      mean[c] = NaN;
      variance[c] = NaN;
      continue;
    }
    const k = shift ? shift[c] : 0;
    if (s.accumulator === 'float32') {
      const m = round32(s.sum[c] / n);
      mean[c] = round32(k + m);
      variance[c] = round32(round32(s.sumSq[c] / n) - round32(m * m));
    } else {
      const m = s.sum[c] / n;
      mean[c] = k + m;
      variance[c] = s.sumSq[c] / n - m * m;
    }
  }
  return { count: n, mean, var: variance };
}

/**
 * Welford's single-pass update, element by element, per channel, on this thread's kernels: the
 * WebAssembly ones by default (the reference's bits), `welfordStatsJs` when `js` is selected.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @returns count, mean and M2 per channel.
 */
export function welfordStats(x: FloatArray, layout: ChannelLayout): WelfordStats {
  checkRows(x, layout);
  return kernelBackend() === 'wasm' ? welfordStatsWasm(x, layout) : welfordStatsJs(x, layout);
}

/**
 * The JavaScript reference of `welfordStats`.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @returns count, mean and M2 per channel.
 */
export function welfordStatsJs(x: FloatArray, layout: ChannelLayout): WelfordStats {
  const { rows, channels: C, inner } = layout;
  const mean = new Float64Array(C);
  const m2 = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let n = 0;
    let mu = 0;
    let acc = 0;
    for (let r = 0; r < rows; r++) {
      const start = (r * C + c) * inner;
      const end = start + inner;
      for (let i = start; i < end; i++) {
        const v = x[i];
        n++;
        const delta = v - mu;
        mu += delta / n;
        acc += delta * (v - mu);
      }
    }
    mean[c] = mu;
    m2[c] = acc;
  }
  return { count: elements(layout), mean, m2 };
}

/**
 * Chan et al.'s pairwise merge of two Welford triples: delta = mean_b - mean_a, n = n_a + n_b,
 * mean = mean_a + delta n_b / n, M2 = M2_a + M2_b + delta^2 n_a n_b / n. An empty side leaves the
 * other unchanged.
 *
 * @param a - the triples of the lower ranks (the merge is not symmetric in rounding).
 * @param b - the triples of the higher ranks, same channels.
 * @returns the triples of both blocks.
 * @throws {@link InputError} when the two do not match.
 */
export function mergeWelford(a: WelfordStats, b: WelfordStats): WelfordStats {
  checkWelfordStats('a', a);
  checkWelfordStats('b', b);
  checkFloat64Array('b.mean', b.mean, a.mean.length);
  if (b.count === 0) return a;
  if (a.count === 0) return b;
  const C = a.mean.length;
  const n = a.count + b.count;
  const mean = new Float64Array(C);
  const m2 = new Float64Array(C);
  const na = a.count;
  const nb = b.count;
  for (let c = 0; c < C; c++) {
    const delta = b.mean[c] - a.mean[c];
    mean[c] = a.mean[c] + (delta * nb) / n;
    m2[c] = a.m2[c] + b.m2[c] + (delta * delta * na * nb) / n;
  }
  return { count: n, mean, m2 };
}

/**
 * Count, mean and biased variance (M2 / n) from Welford triples.
 *
 * @param w - merged Welford triples.
 * @returns the statistics (variance 0 for an empty block).
 * @throws {@link InputError} when `w` is not Welford triples.
 */
export function momentsFromWelford(w: WelfordStats): Moments {
  checkWelfordStats('w', w);
  const C = w.mean.length;
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) variance[c] = w.count === 0 ? NaN : w.m2[c] / w.count;
  return { count: w.count, mean: w.count === 0 ? new Float64Array(C).fill(NaN) : w.mean.slice(), var: variance };
}

/**
 * Second pass of the two-pass method: sum((x - mean)^2) per channel, the mean being global; on
 * this thread's kernels (WebAssembly by default, `centeredSumSqJs` when `js` is selected).
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param mean - the mean per channel.
 * @returns sum((x - mean)^2) per channel.
 */
export function centeredSumSq(x: FloatArray, layout: ChannelLayout, mean: Float64Array): Float64Array {
  const { channels: C } = checkRows(x, layout);
  checkPerChannelStats('mean', mean, C);
  return kernelBackend() === 'wasm' ? centeredSumSqWasm(x, layout, mean) : centeredSumSqJs(x, layout, mean);
}

/**
 * The JavaScript reference of `centeredSumSq`.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param mean - the mean per channel.
 * @returns sum((x - mean)^2) per channel.
 */
export function centeredSumSqJs(x: FloatArray, layout: ChannelLayout, mean: Float64Array): Float64Array {
  const { rows, channels: C, inner } = layout;
  const out = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const mu = mean[c];
      const start = (r * C + c) * inner;
      const end = start + inner;
      let s = 0;
      for (let i = start; i < end; i++) {
        const d = x[i] - mu;
        s += d * d;
      }
      out[c] += s;
    }
  }
  return out;
}
