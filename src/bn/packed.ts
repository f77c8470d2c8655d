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

export function packSums(s: SumStats): Float64Array {
  const C = s.sum.length;
  const v = new Float64Array(1 + 2 * C);
  v[0] = s.count;
  v.set(s.sum, 1);
  v.set(s.sumSq, 1 + C);
  return v;
}

export function unpackSums(v: Float64Array, accumulator: Accumulator): SumStats {
  const C = (v.length - 1) / 2;
  return { count: v[0], sum: v.slice(1, 1 + C), sumSq: v.slice(1 + C), accumulator };
}

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
