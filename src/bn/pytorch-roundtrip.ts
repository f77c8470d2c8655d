/**
 * PyTorch's SyncBatchNorm statistics path, reproduced on typed arrays (no threads):
 *
 *   1. batch_norm_stats: each device computes its shard's mean and
 *      invstd = 1 / sqrt(var_biased + eps) (Welford), in the data's dtype.
 *   2. The devices all-gather (mean [C], invstd [C], count) from every device: 2C+1 values each.
 *   3. batch_norm_gather_stats_with_counts: every device recovers each shard's variance as
 *      1 / invstd^2 - eps, merges the (count, mean, var) triples in rank order with a Chan/Welford
 *      update, and returns the global mean and invstd = 1 / sqrt(var + eps).
 *
 * With float32 data every operation is rounded to float32 (Math.fround), as the float kernels
 * (accumulate type float on CUDA) round it. Local Welford runs element by element in row order:
 * a worst case, like the simulator's float32 sums (a GPU merges many short Welford runs).
 *
 * Why this loses precision: the variance travels as invstd and comes back through the eps round
 * trip. 1 / invstd^2 = var + eps carries a relative rounding error u (2^-24 in float32, 2^-53 in
 * float64) of invstd's rounding, times two; subtracting eps again leaves an absolute error of
 * about 2u (var + eps), so the recovered var has a relative error of about 2u (1 + eps / var).
 * When var << eps the variance is all but lost in eps (in float32 with eps = 1e-5, var = 1e-8
 * comes back with a relative error of up to about 1e-4), and a var of 0 can come back slightly negative.
 * On top of that, float32 Welford on shards whose |mean| >> std rounds the mean to float32 at
 * every step, an error the all-gather then carries to every device.
 *
 * Empty shards are left out of the merge, as current PyTorch does (it masks counts < 1).
 */
import type { ChannelLayout, DType, FloatArray } from '../tensor/tensor.js';
import { dtypeOf } from '../tensor/tensor.js';
import type { Moments } from './moments.js';

/** What batch_norm_stats returns for one device's shard, and what the all-gather carries. */
export interface TorchLocalStats {
  /** Values per channel of the shard. */
  readonly count: number;
  /** Mean per channel, in the data's dtype. */
  readonly mean: Float64Array;
  /** 1 / sqrt(var + eps) per channel, in the data's dtype. */
  readonly invstd: Float64Array;
}

/** The merged statistics: the mean, the biased variance var_n / n, and the invstd the output uses. */
export interface TorchGatheredStats extends Moments {
  /** 1 / sqrt(var + eps) per channel, what the output is normalized with. */
  readonly invstd: Float64Array;
}

/** The merged statistics of a round trip, and what each device sent. */
export interface TorchRoundTripResult extends TorchGatheredStats {
  /** Each device's (count, mean, invstd), as all-gathered. */
  readonly devices: readonly TorchLocalStats[];
}

type Round = (v: number) => number;

const identity: Round = (v) => v;

/**
 * Rounding after every operation in the given dtype: Math.fround for float32, nothing for float64.
 *
 * @param dtype - the data's dtype.
 * @returns the rounding function.
 */
export function roundingOf(dtype: DType): Round {
  return dtype === 'float32' ? Math.fround : identity;
}

/**
 * batch_norm_stats for one block of rows: Welford per channel in the data's dtype, then
 * invstd = 1 / sqrt(M2 / n + eps) (0 when var and eps are both 0, as PyTorch's InvStd).
 *
 * @param x - the block.
 * @param layout - its layout.
 * @param eps - PyTorch's eps.
 * @param dtype - the dtype every step rounds to (default the data's).
 * @returns the block's count, mean and invstd.
 */
export function torchBatchNormStats(
  x: FloatArray,
  layout: ChannelLayout,
  eps: number,
  dtype: DType = dtypeOf(x),
): TorchLocalStats {
  const r = roundingOf(dtype);
  const { rows, channels: C, inner } = layout;
  const mean = new Float64Array(C);
  const invstd = new Float64Array(C);
  const e = r(eps);
  const count = rows * inner;
  for (let c = 0; c < C; c++) {
    let n = 0;
    let avg = 0;
    let m2 = 0;
    for (let row = 0; row < rows; row++) {
      const start = (row * C + c) * inner;
      for (let i = start; i < start + inner; i++) {
        const v = r(x[i]);
        n++;
        const d1 = r(v - avg);
        avg = r(avg + r(d1 / n));
        m2 = r(m2 + r(d1 * r(v - avg)));
      }
    }
    mean[c] = avg;
    const variance = count === 0 ? NaN : r(m2 / count);
    invstd[c] = variance === 0 && e === 0 ? 0 : r(1 / r(Math.sqrt(r(variance + e))));
  }
  return { count, mean, invstd };
}

/**
 * batch_norm_gather_stats_with_counts: recovers each device's var = 1 / invstd^2 - eps, merges
 * in rank order, returns the mean, var_n / n and invstd = 1 / sqrt(var_n / n + eps). Devices with
 * a count below 1 are skipped. A merged var_n / n below -eps gives invstd NaN, as sqrt would.
 *
 * @param gathered - every device's statistics, in rank order.
 * @param eps - PyTorch's eps.
 * @param dtype - the dtype every step rounds to.
 * @returns the merged mean, biased variance and invstd.
 */
export function torchGatherStatsWithCounts(
  gathered: readonly TorchLocalStats[],
  eps: number,
  dtype: DType,
): TorchGatheredStats {
  const r = roundingOf(dtype);
  const e = r(eps);
  const live = gathered.filter((g) => g.count >= 1);
  const C = gathered.length > 0 ? gathered[0].mean.length : 0;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const invstd = new Float64Array(C);
  let total = 0;
  for (const g of live) total += g.count;
  for (let c = 0; c < C; c++) {
    let avg = 0;
    let varN = 0;
    let n = 0; // an integer in PyTorch (index_t): exact
    for (const g of live) {
      const count = r(g.count);
      const m = r(g.mean[c]);
      let v = r(1 / r(g.invstd[c]));
      v = r(r(r(v * v) - e) * count);
      const factor = r(1 / r(n + count));
      const d = r(avg - m);
      varN = r(varN + r(v + r(r(r(r(d * d) * n) * count) * factor)));
      avg = r(r(r(n * factor) * avg) + r(r(count * factor) * m));
      n += g.count;
    }
    if (n === 0) {
      mean[c] = NaN;
      variance[c] = NaN;
      invstd[c] = NaN;
      continue;
    }
    mean[c] = avg;
    variance[c] = r(varN / n);
    invstd[c] = r(1 / r(Math.sqrt(r(variance[c] + e))));
  }
  return { count: total, mean, var: variance, invstd };
}

/**
 * The whole round trip of PyTorch's SyncBatchNorm statistics over W devices holding consecutive
 * blocks of rows: local stats, all-gather, merge.
 *
 * @param x - the whole batch.
 * @param layout - its layout.
 * @param shards - each device's rows [start, end), e.g. from shardRows.
 * @param eps - PyTorch's eps.
 * @param dtype - the dtype every step rounds to (default the data's).
 * @returns the merged statistics and what each device sent.
 */
export function pytorchRoundTrip(
  x: FloatArray,
  layout: ChannelLayout,
  shards: readonly (readonly [number, number])[],
  eps: number,
  dtype: DType = dtypeOf(x),
): TorchRoundTripResult {
  const rowSize = layout.channels * layout.inner;
  const devices = shards.map(([start, end]) =>
    torchBatchNormStats(x.subarray(start * rowSize, end * rowSize), { ...layout, rows: end - start }, eps, dtype),
  );
  return { ...torchGatherStatsWithCounts(devices, eps, dtype), devices };
}

/**
 * batch_norm_elemt without affine parameters: y = (x - mean) * invstd, each step in the dtype of
 * `out` (rounded to float32 for float32 output).
 *
 * @param x - the input.
 * @param layout - its layout.
 * @param mean - mean per channel.
 * @param invstd - 1 / sqrt(var + eps) per channel.
 * @param out - receives y.
 */
export function torchNormalize(
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invstd: ArrayLike<number>,
  out: FloatArray,
): void {
  const r = roundingOf(dtypeOf(out));
  const { rows, channels: C, inner } = layout;
  for (let row = 0; row < rows; row++) {
    for (let c = 0; c < C; c++) {
      const m = r(mean[c]);
      const s = r(invstd[c]);
      const start = (row * C + c) * inner;
      for (let i = start; i < start + inner; i++) out[i] = r(r(x[i] - m) * s);
    }
  }
}
