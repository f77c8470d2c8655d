/**
 * The statistics reduction of every normalization, written once and parameterized by its axes
 * (src/norm/axes.ts). The kernels are pure loops over typed arrays, one set at a time, and know
 * nothing of devices or threads: a set's statistics read only that set's elements, in a fixed
 * order, so a set that does not span the batch gets the same bits however the rows are split.
 *
 * Two passes in float64 per set (the mean, then the sum of squared deviations), as the exact
 * reference; for sets that span the batch, `setPartials` gives the (count, mean, M2) triples that
 * devices merge with Chan's formula.
 */
import { checkBlock, checkLayout } from '../args.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { type StatsAxes, checkAxes, setCount, setSize, spanOf } from './axes.js';

/** Statistics per set: the count each set has, its mean and its biased variance. */
export interface SetMoments {
  /** Elements in every set. */
  readonly count: number;
  /** Mean per set. */
  readonly mean: Float64Array;
  /** Biased variance per set. */
  readonly var: Float64Array;
}

/** Welford-style partial statistics per set, mergeable across devices (Chan et al.). */
export interface SetPartials {
  /** Elements in every set (the same for every set of a block). */
  readonly count: number;
  /** Mean per set. */
  readonly mean: Float64Array;
  /** Sum of squared deviations from the set's mean. */
  readonly m2: Float64Array;
}

function checkRows(x: unknown, layout: unknown, axes: unknown): [ChannelLayout, StatsAxes] {
  const checked = checkLayout('layout', layout);
  checkBlock('x', x, checked);
  return [checked, checkAxes('axes', axes, checked)];
}

/**
 * Sum of one set's elements (pure kernel).
 * @param x - the block.
 * @param first - the set's first element.
 * @param segments - its runs.
 * @param stride - elements from one run to the next.
 * @param length - elements in a run.
 * @returns the sum, in float64, in element order.
 */
export function spanSum(x: FloatArray, first: number, segments: number, stride: number, length: number): number {
  let s = 0;
  for (let k = 0; k < segments; k++) {
    const start = first + k * stride;
    const end = start + length;
    for (let i = start; i < end; i++) s += x[i];
  }
  return s;
}

/**
 * Sum of (x - center)^2 over one set's elements (pure kernel).
 * @param x - the block.
 * @param first - the set's first element.
 * @param segments - its runs.
 * @param stride - elements from one run to the next.
 * @param length - elements in a run.
 * @param center - subtracted from every element (0 for a mean of squares).
 * @returns the sum, in float64, in element order.
 */
export function spanSquares(
  x: FloatArray,
  first: number,
  segments: number,
  stride: number,
  length: number,
  center: number,
): number {
  let s = 0;
  for (let k = 0; k < segments; k++) {
    const start = first + k * stride;
    const end = start + length;
    for (let i = start; i < end; i++) {
      const d = x[i] - center;
      s += d * d;
    }
  }
  return s;
}

/**
 * Mean and biased variance of every set, by two passes in float64. An empty set has NaN
 * statistics.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param axes - the axes the statistics run over.
 * @returns count, mean and variance per set.
 * @throws InputError when the block does not fit the layout or the groups do not divide C.
 */
export function setMoments(x: FloatArray, layout: ChannelLayout, axes: StatsAxes): SetMoments {
  const [l, a] = checkRows(x, layout, axes);
  const S = setCount(l, a);
  const n = setSize(l, a);
  const mean = new Float64Array(S);
  const variance = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    const { first, segments, stride, length } = spanOf(l, a, s);
    const mu = spanSum(x, first, segments, stride, length) / n;
    mean[s] = mu;
    variance[s] = spanSquares(x, first, segments, stride, length, mu) / n;
  }
  return { count: n, mean, var: variance };
}

/**
 * Mean of x^2 of every set (FRN's nu^2), reported as `var` with a zero `mean`: FRN divides by
 * the root mean square and subtracts nothing.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param axes - the axes the statistics run over.
 * @returns count, zero means and the mean of squares per set.
 * @throws InputError when the block does not fit the layout or the groups do not divide C.
 */
export function setMeanSquares(x: FloatArray, layout: ChannelLayout, axes: StatsAxes): SetMoments {
  const [l, a] = checkRows(x, layout, axes);
  const S = setCount(l, a);
  const n = setSize(l, a);
  const nu2 = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    const { first, segments, stride, length } = spanOf(l, a, s);
    nu2[s] = spanSquares(x, first, segments, stride, length, 0) / n;
  }
  return { count: n, mean: new Float64Array(S), var: nu2 };
}

/**
 * Partial statistics of every set for a merge across devices: (count, mean, M2). An empty block
 * gives count 0 and zeros (Chan's merge then leaves the other side unchanged).
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param axes - the axes the statistics run over.
 * @returns count, mean and M2 per set.
 * @throws InputError when the block does not fit the layout or the groups do not divide C.
 */
export function setPartials(x: FloatArray, layout: ChannelLayout, axes: StatsAxes): SetPartials {
  const m = setMoments(x, layout, axes);
  if (m.count === 0) return { count: 0, mean: new Float64Array(m.mean.length), m2: new Float64Array(m.mean.length) };
  return { count: m.count, mean: m.mean, m2: m.var.map((v) => v * m.count) };
}
