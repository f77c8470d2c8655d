/**
 * Running statistics update, after one training step.
 *   pytorch (default): r = (1 - m) * r + m * stat, m = 0.1, variance unbiased: var * n / (n - 1)
 *   keras:             r = m * r + (1 - m) * stat, m = 0.99, variance biased
 */
import { checkChoice, checkNumber, checkNumbers, checkObject, checkPerChannelStats, checkWhole } from '../args.js';
import type { Moments } from './moments.js';

/**
 * How running statistics are updated: 'pytorch' (r = (1-m) r + m s, unbiased variance) or 'keras'
 * (r = m r + (1-m) s, biased variance; Flax's rule too).
 */
export type RunningConvention = 'pytorch' | 'keras';

/** The default momentum of each convention: 0.1 (PyTorch) and 0.99 (Keras, Flax). */
export const DEFAULT_MOMENTUM: Readonly<Record<RunningConvention, number>> = { pytorch: 0.1, keras: 0.99 };

/** Running statistics of one BN layer (or one device's copy of them). */
export interface RunningStats {
  /** Running mean per channel. */
  readonly mean: Float64Array;
  /** Running variance per channel (unbiased in the pytorch convention). */
  readonly var: Float64Array;
}

/**
 * The running statistics after one training step with `batch`'s statistics: r = (1-m) r + m s in
 * the pytorch convention (the variance made unbiased with n / (n-1)), r = m r + (1-m) s in the
 * keras one (biased). A variance below zero (cancellation) counts as zero.
 *
 * @param running - the running mean and variance before the step.
 * @param batch - the statistics the step normalized with (n is the global count for sync BN).
 * @param momentum - m, in [0, 1].
 * @param convention - 'pytorch' (default) or 'keras'.
 * @returns new arrays; `running` is not changed.
 * @throws {@link InputError} when an argument is unusable.
 * @example
 * ```ts
 * updateRunningStats({ mean: [0], var: [1] }, { count: 4, mean: Float64Array.of(4), var: Float64Array.of(5) }, 0.1);
 * // mean [0.4], var [0.9 + 0.1 * 5 * 4/3]
 * ```
 */
export function updateRunningStats(
  running: { mean: ArrayLike<number>; var: ArrayLike<number> },
  batch: Moments,
  momentum: number,
  convention: RunningConvention = 'pytorch',
): RunningStats {
  checkObject('batch', batch);
  checkWhole('batch.count', batch.count);
  const C = checkNumbers('batch.mean', batch.mean, undefined, { finite: false }).length;
  checkPerChannelStats('batch.var', batch.var, C);
  checkObject('running', running);
  checkPerChannelStats('running.mean', running.mean, C);
  checkPerChannelStats('running.var', running.var, C);
  checkNumber('momentum', momentum, { min: 0, max: 1 });
  checkChoice('convention', convention, ['pytorch', 'keras']);
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  // Weight on the new batch statistic in each convention.
  const w = convention === 'pytorch' ? momentum : 1 - momentum;
  const n = batch.count;
  const bessel = convention === 'pytorch' ? n / (n - 1) : 1;
  for (let c = 0; c < C; c++) {
    mean[c] = (1 - w) * running.mean[c] + w * batch.mean[c];
    variance[c] = (1 - w) * running.var[c] + w * Math.max(batch.var[c], 0) * bessel;
  }
  return { mean, var: variance };
}
