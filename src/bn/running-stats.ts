/**
 * Running statistics update, after one training step.
 *   pytorch (default): r = (1 - m) * r + m * stat, m = 0.1, variance unbiased: var * n / (n - 1)
 *   keras:             r = m * r + (1 - m) * stat, m = 0.99, variance biased
 */
import { checkChoice, checkNumber, checkNumbers, checkObject, checkPerChannelStats, checkWhole } from '../args.js';
import type { Moments } from './moments.js';

export type RunningConvention = 'pytorch' | 'keras';

export const DEFAULT_MOMENTUM: Readonly<Record<RunningConvention, number>> = { pytorch: 0.1, keras: 0.99 };

export interface RunningStats {
  readonly mean: Float64Array;
  readonly var: Float64Array;
}

/** The running statistics after one training step with `batch`'s statistics. */
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
