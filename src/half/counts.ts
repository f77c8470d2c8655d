/**
 * Counts kept in a 16-bit format: where they stop being exact and where they overflow, and what
 * that does to the running variance. float16 holds every integer up to 2048 and rounds above
 * (2049 -> 2048); from 65520 on a count is infinity. One ResNet stage at batch 32 already counts
 * 32 x 56 x 56 = 100,352 values per channel. PyTorch's SyncBatchNorm casts its per-rank counts to
 * the running statistics' dtype (torch/nn/modules/_functions.py, since PR #98332), so a model
 * converted with .half() merges float16 counts.
 */
import { checkWhole } from '../args.js';
import { type HalfFormat, halfSpec } from './formats.js';
import { roundToHalf } from './round.js';

/** Where a format's counts break. */
export interface CountLimits {
  /** Every count up to this one is exact. */
  readonly exactUpTo: number;
  /** The first count that is stored as another number. */
  readonly firstInexact: number;
  /** The first count stored as infinity. */
  readonly overflowsAt: number;
}

/**
 * A count as stored in the format.
 * @param n - the count, a whole number.
 * @param format - float16 or bfloat16.
 * @returns the stored value: n itself, a rounded neighbour, or Infinity.
 * @throws InputError when n is not a whole number >= 0.
 */
export function storedCount(n: number, format: HalfFormat): number {
  checkWhole('n', n);
  return roundToHalf(n, format);
}

/**
 * Where counts break in a format.
 * @param format - float16 or bfloat16.
 * @returns the last exact count, the first inexact one and the first that overflows.
 */
export function countLimits(format: HalfFormat): CountLimits {
  const s = halfSpec(format);
  return { exactUpTo: s.exactIntegers, firstInexact: s.exactIntegers + 1, overflowsAt: Math.ceil(s.overflow) };
}

/**
 * Values per channel of a BN layer: batch x height x width.
 * @param batch - examples on the device.
 * @param height - H.
 * @param width - W.
 * @returns the count.
 * @throws InputError when an argument is not a whole number.
 */
export function valuesPerChannel(batch: number, height: number, width: number): number {
  return checkWhole('batch', batch) * checkWhole('height', height) * checkWhole('width', width);
}

/**
 * PyTorch's unbiased running-variance update, r' = (1 - m) r + m var n / (n - 1), with the count
 * n as stored in a format: an infinite count makes n / (n - 1) = NaN, and so the running variance.
 * @param runningVar - r before the step.
 * @param batchVar - the batch's biased variance.
 * @param n - the exact count.
 * @param momentum - m.
 * @param format - the format the count is kept in, or 'exact'.
 * @returns r after the step.
 * @throws InputError when `n` is not a whole number.
 */
export function runningVarWithCount(
  runningVar: number,
  batchVar: number,
  n: number,
  momentum: number,
  format: HalfFormat | 'exact',
): number {
  const stored = format === 'exact' ? checkWhole('n', n) : storedCount(n, format);
  return (1 - momentum) * runningVar + (momentum * batchVar * stored) / (stored - 1);
}
