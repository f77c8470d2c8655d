/**
 * The statistics one device normalizes with, by each method, given a way to all-reduce among the
 * devices it syncs with (or none, for local BN). Pure apart from the all-reduce callback: the
 * worker passes a shared-memory collective, a test can pass anything.
 */
import type { StatsMethod } from './batch-moments.js';
import {
  type Accumulator,
  type Moments,
  centeredSumSq,
  momentsFromSums,
  momentsFromWelford,
  sumStats,
  welfordStats,
} from './moments.js';
import { packSums, packWelford, unpackSums, unpackWelford } from './packed.js';
import type { AllReduceFn } from '../collectives/all-reduce.js';
import type { Program } from '../collectives/endpoint.js';
import { type Reducer, chanMerge, float32Sum, float64Sum } from '../collectives/reducers.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';

export type { AllReduceFn };

/** A device's statistics: its shard's own, and those it normalizes with. */
export interface DeviceMoments {
  /** The shard's own statistics. */
  readonly local: Moments;
  /** What the device normalizes with: the synced statistics, or the local ones without sync. */
  readonly used: Moments;
}

/**
 * The reducer of sums in the accumulator's precision.
 *
 * @param accumulator - 'float64' or 'float32'.
 * @returns float64Sum or float32Sum.
 */
export function sumReducer(accumulator: Accumulator): Reducer {
  return accumulator === 'float32' ? float32Sum : float64Sum;
}

/**
 * The statistics one device normalizes with, by `method`: its block's partials, all-reduced among
 * the devices it syncs with when `allReduce` is given (one round; two for 'two-pass'). A program:
 * it pauses at each all-reduce until the peers' partials are there.
 *
 * @param x - the device's block, [rows, C, inner].
 * @param layout - its layout.
 * @param method - how partials are computed and merged.
 * @param accumulator - precision of the sums of 'sums' and 'shifted-sums'.
 * @param shift - the shift of 'shifted-sums' (the same on every synced device).
 * @param allReduce - the all-reduce among the devices this one syncs with, or undefined (local).
 * @returns the block's own statistics and those the device normalizes with.
 */
export function* deviceMoments(
  x: FloatArray,
  layout: ChannelLayout,
  method: StatsMethod,
  accumulator: Accumulator,
  shift: Float64Array,
  allReduce: AllReduceFn | undefined,
): Program<DeviceMoments> {
  switch (method) {
    case 'sums':
    case 'shifted-sums': {
      const k = method === 'shifted-sums' ? shift : undefined;
      const partial = sumStats(x, layout, accumulator, k);
      const local = momentsFromSums(partial, k);
      if (!allReduce) return { local, used: local };
      const v = packSums(partial);
      yield* allReduce(v, sumReducer(accumulator));
      return { local, used: momentsFromSums(unpackSums(v, accumulator), k) };
    }
    case 'welford': {
      const partial = welfordStats(x, layout);
      const local = momentsFromWelford(partial);
      if (!allReduce) return { local, used: local };
      const v = packWelford(partial);
      yield* allReduce(v, chanMerge);
      return { local, used: momentsFromWelford(unpackWelford(v)) };
    }
    case 'two-pass':
      return yield* twoPass(x, layout, allReduce);
  }
}

function* twoPass(x: FloatArray, layout: ChannelLayout, allReduce: AllReduceFn | undefined): Program<DeviceMoments> {
  const C = layout.channels;
  const sums = sumStats(x, layout, 'float64');
  const localMean = momentsFromSums(sums).mean;
  let count = sums.count;
  let mean = localMean;
  if (allReduce) {
    const round1 = new Float64Array(1 + C);
    round1[0] = sums.count;
    round1.set(sums.sum, 1);
    yield* allReduce(round1, float64Sum);
    count = round1[0];
    mean = round1.subarray(1).map((s) => s / count);
  }
  // Centred on the mean everyone uses; the shard's own variance follows by shifting back.
  const m2 = centeredSumSq(x, layout, mean);
  const n = sums.count;
  const localVar = m2.map((v, c) => (n === 0 ? NaN : v / n - (localMean[c] - mean[c]) ** 2));
  const local: Moments = { count: n, mean: localMean, var: localVar };
  if (!allReduce) return { local, used: local };
  yield* allReduce(m2, float64Sum);
  return { local, used: { count, mean, var: m2.map((v) => v / count) } };
}
