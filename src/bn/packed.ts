/**
 * Partial statistics as flat vectors, the form an all-reduce sends. Each layout is a run of
 * records the matching reducer combines (see src/collectives/reducers.ts):
 *   sums        [count, S1 [C], S2 [C]]                 width 1, added
 *   welford     [n, mean, M2] per channel (3C values)   width 3, Chan's merge
 *   mean pass   [count, S1 [C]]                         width 1, added (two-pass, round 1)
 *   M2 pass     [sum (x - mean)^2 [C]]                  width 1, added (two-pass, round 2)
 *   grad sums   [count, sum dy [C], sum dy*(x-mean) [C]] width 1, added (backward)
 */
import type { Accumulator, SumStats, WelfordStats } from './moments.js';

/**
 * Sums as the vector an all-reduce sends.
 *
 * @param s - a block's sums.
 * @returns [count, S1 [C], S2 [C]].
 */
export function packSums(s: SumStats): Float64Array {
  const C = s.sum.length;
  const v = new Float64Array(1 + 2 * C);
  v[0] = s.count;
  v.set(s.sum, 1);
  v.set(s.sumSq, 1 + C);
  return v;
}

/**
 * Sums back from an all-reduced vector.
 *
 * @param v - [count, S1 [C], S2 [C]].
 * @param accumulator - the precision they were summed in.
 * @returns the sums (copies of v's parts).
 */
export function unpackSums(v: Float64Array, accumulator: Accumulator): SumStats {
  const C = (v.length - 1) / 2;
  return { count: v[0], sum: v.slice(1, 1 + C), sumSq: v.slice(1 + C), accumulator };
}

/**
 * Welford triples as the vector an all-reduce sends: one (n, mean, M2) record per channel (an
 * empty block sends zeros, which Chan's merge skips).
 *
 * @param w - a block's Welford statistics.
 * @returns [n, mean, M2] per channel, 3C values.
 */
export function packWelford(w: WelfordStats): Float64Array {
  const C = w.mean.length;
  const v = new Float64Array(3 * C);
  for (let c = 0; c < C; c++) {
    v[3 * c] = w.count;
    v[3 * c + 1] = w.count === 0 ? 0 : w.mean[c];
    v[3 * c + 2] = w.count === 0 ? 0 : w.m2[c];
  }
  return v;
}

/**
 * Welford statistics back from an all-reduced vector.
 *
 * @param v - [n, mean, M2] per channel.
 * @returns the merged count, mean and M2.
 */
export function unpackWelford(v: Float64Array): WelfordStats {
  const C = v.length / 3;
  const mean = new Float64Array(C);
  const m2 = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    mean[c] = v[3 * c + 1];
    m2[c] = v[3 * c + 2];
  }
  return { count: C > 0 ? v[0] : 0, mean, m2 };
}
