/**
 * The statistics of one block of rows by a chosen method: the single-device path that every
 * distributed result is held to.
 */
import { checkBlock, checkChoice, checkLayout, checkNumbers, checkOptions } from '../args.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import {
  type Accumulator,
  type Moments,
  centeredSumSq,
  momentsFromSums,
  momentsFromWelford,
  sumStats,
  welfordStats,
} from './moments.js';

/** How partial statistics are computed and merged. */
export type StatsMethod = 'sums' | 'welford' | 'two-pass' | 'shifted-sums';
/** Every statistics method, in the order the CLI and the experiments list them. */
export const STATS_METHODS: readonly StatsMethod[] = ['sums', 'welford', 'two-pass', 'shifted-sums'];

/** Options of {@link batchMoments}. */
export interface MomentsOptions {
  /** Default 'sums'. */
  readonly method?: StatsMethod;
  /** Precision of the sums for 'sums' and 'shifted-sums'; default 'float64'. */
  readonly accumulator?: Accumulator;
  /**
   * The shift K for 'shifted-sums', one per channel. Devices must agree on it without talking, so
   * the operator and the cluster pass the running mean; without it, the block's first element.
   */
  readonly shift?: ArrayLike<number>;
}

/**
 * A shift every device can agree on without talking: the first element of each channel.
 *
 * @param x - one block of rows.
 * @param layout - its layout.
 * @returns the shift per channel (zeros for an empty block).
 * @throws {@link InputError} when `x` does not fit `layout`.
 */
export function firstElementShift(x: FloatArray, layout: ChannelLayout): Float64Array {
  checkBlock('x', x, checkLayout('layout', layout));
  const shift = new Float64Array(layout.channels);
  if (layout.rows * layout.inner === 0) return shift;
  for (let c = 0; c < layout.channels; c++) shift[c] = x[c * layout.inner];
  return shift;
}

/**
 * The statistics (count, mean, biased variance) of one block of rows by the chosen method:
 * 'sums' (one pass, cancels when |mean| >> std), 'shifted-sums' (the sums of x - K), 'welford'
 * (Welford's update, merged with Chan's formula) or 'two-pass' (the mean, then sum((x - mean)^2)).
 *
 * @param x - the block, [rows, C, inner] in C order.
 * @param layout - its layout.
 * @param options - the method (default 'sums'), the accumulator (default 'float64') and the shift
 *   of 'shifted-sums' (default the first element of each channel).
 * @returns the count per channel, the mean and the biased variance.
 * @throws {@link InputError} when an argument is unusable.
 * @example
 * ```ts
 * const x = new Float64Array([1e12, 1e12 + 1, 1e12 + 2]); // [3, 1]: |mean| >> std
 * batchMoments(x, { rows: 3, channels: 1, inner: 1 }, { method: 'welford' }).var; // [2/3]
 * ```
 */
export function batchMoments(x: FloatArray, layout: ChannelLayout, options: MomentsOptions = {}): Moments {
  checkBlock('x', x, checkLayout('layout', layout));
  checkOptions('options', options);
  const method = options.method === undefined ? 'sums' : checkChoice('method', options.method, STATS_METHODS);
  const accumulator =
    options.accumulator === undefined
      ? 'float64'
      : checkChoice('accumulator', options.accumulator, ['float64', 'float32']);
  if (options.shift !== undefined) checkNumbers('shift', options.shift, layout.channels);
  switch (method) {
    case 'sums':
      return momentsFromSums(sumStats(x, layout, accumulator));
    case 'shifted-sums': {
      const shift = options.shift ? Float64Array.from(options.shift) : firstElementShift(x, layout);
      return momentsFromSums(sumStats(x, layout, accumulator, shift), shift);
    }
    case 'welford':
      return momentsFromWelford(welfordStats(x, layout));
    case 'two-pass': {
      const first = momentsFromSums(sumStats(x, layout, 'float64'));
      const m2 = centeredSumSq(x, layout, first.mean);
      const variance = m2.map((v) => v / first.count);
      return { count: first.count, mean: first.mean, var: variance };
    }
  }
}
