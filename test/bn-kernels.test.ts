import { describe, expect, it } from 'vitest';
import { gradInputTrain, gradSums } from '../src/bn/backward.js';
import { STATS_METHODS, batchMoments } from '../src/bn/batch-moments.js';
import { batchNorm } from '../src/bn/batch-norm.js';
import {
  centeredSumSq,
  mergeSums,
  mergeWelford,
  momentsFromSums,
  momentsFromWelford,
  sumStats,
  welfordStats,
} from '../src/bn/moments.js';
import { inverseStd } from '../src/bn/normalize.js';
import { updateRunningStats } from '../src/bn/running-stats.js';
import { InputError } from '../src/errors.js';
import { channelLayout } from '../src/tensor/tensor.js';

// [N=3, C=2]: channel 0 = 1, 3, 5 (mean 3, var 8/3); channel 1 = 2, 4, 9 (mean 5, var 26/3)
const x2 = new Float64Array([1, 2, 3, 4, 5, 9]);
const l2 = channelLayout([3, 2]);

describe('partial statistics', () => {
  it.each(STATS_METHODS)('%s gives the hand-computed mean and biased variance', (method) => {
    const m = batchMoments(x2, l2, { method });
    expect(m.count).toBe(3);
    expect(m.mean[0]).toBeCloseTo(3, 14);
    expect(m.mean[1]).toBeCloseTo(5, 14);
    expect(m.var[0]).toBeCloseTo(8 / 3, 14);
    expect(m.var[1]).toBeCloseTo(26 / 3, 14);
  });

  it('reduces over N, H and W for NCHW', () => {
    // [2, 2, 1, 2]: channel 0 holds 1,2 (row 0) and 5,6 (row 1); channel 1 holds 3,4 and 7,8
    const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const m = batchMoments(x, channelLayout([2, 2, 1, 2]));
    expect(m.count).toBe(4);
    expect(Array.from(m.mean)).toEqual([3.5, 5.5]);
    expect(Array.from(m.var)).toEqual([4.25, 4.25]);
  });

  it('merging sums of two halves equals the sums of the whole', () => {
    const a = sumStats(x2.subarray(0, 2), channelLayout([1, 2]));
    const b = sumStats(x2.subarray(2), channelLayout([2, 2]));
    const whole = sumStats(x2, l2);
    const merged = mergeSums(a, b);
    expect(merged.count).toBe(3);
    expect(Array.from(merged.sum)).toEqual(Array.from(whole.sum));
    expect(Array.from(merged.sumSq)).toEqual(Array.from(whole.sumSq));
  });

  it("Chan's merge of Welford triples equals Welford over the whole block", () => {
    const a = welfordStats(x2.subarray(0, 4), channelLayout([2, 2]));
    const b = welfordStats(x2.subarray(4), channelLayout([1, 2]));
    const m = momentsFromWelford(mergeWelford(a, b));
    expect(m.mean[1]).toBeCloseTo(5, 14);
    expect(m.var[1]).toBeCloseTo(26 / 3, 14);
  });

  it('an empty Welford side leaves the other unchanged', () => {
    const a = welfordStats(x2, l2);
    const empty = welfordStats(new Float64Array(0), channelLayout([0, 2]));
    expect(mergeWelford(a, empty)).toBe(a);
    expect(mergeWelford(empty, a)).toBe(a);
  });

  it('ill-conditioned data: sums cancel, Welford, two-pass and shifted sums stay exact', () => {
    const x = new Float64Array([1e12, 1e12 + 1, 1e12 + 2]);
    const l = channelLayout([3, 1]);
    const exact = 2 / 3;
    expect(batchMoments(x, l, { method: 'welford' }).var[0]).toBeCloseTo(exact, 10);
    expect(batchMoments(x, l, { method: 'two-pass' }).var[0]).toBeCloseTo(exact, 10);
    expect(batchMoments(x, l, { method: 'shifted-sums' }).var[0]).toBeCloseTo(exact, 10);
    expect(Math.abs(batchMoments(x, l, { method: 'sums' }).var[0] - exact)).toBeGreaterThan(1e-3);
  });

  it('float32 accumulators round every step; float64 ones do not', () => {
    // 2^24 + 1 is not a float32: the float32 sum of [2^24, 1] stays 2^24.
    const x = new Float64Array([2 ** 24, 1]);
    const l = channelLayout([2, 1]);
    expect(sumStats(x, l, 'float32').sum[0]).toBe(2 ** 24);
    expect(sumStats(x, l, 'float64').sum[0]).toBe(2 ** 24 + 1);
  });

  it('centered second pass matches the definition', () => {
    const m2 = centeredSumSq(x2, l2, new Float64Array([3, 5]));
    expect(Array.from(m2)).toEqual([8, 26]);
  });

  it('the variance from sums may come out negative and normalization clamps it', () => {
    const s = { count: 2, sum: new Float64Array([2]), sumSq: new Float64Array([1.9]), accumulator: 'float64' as const };
    expect(momentsFromSums(s).var[0]).toBeLessThan(0);
    expect(inverseStd([-0.05], 1e-5)[0]).toBeCloseTo(1 / Math.sqrt(1e-5), 8);
  });
});

describe('backward', () => {
  it('matches central finite differences of L = sum(dy * y)', () => {
    const layout = channelLayout([4, 2, 1, 3]);
    const x = Float64Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 2 + (i % 3));
    const dy = Float64Array.from({ length: 24 }, (_, i) => Math.cos(i * 0.9));
    const weight = [1.5, -0.7];
    const loss = (v: Float64Array) => {
      const out = batchNorm({ data: v, shape: [4, 2, 1, 3] }, { weight }).output.data;
      let s = 0;
      for (let i = 0; i < out.length; i++) s += out[i] * dy[i];
      return s;
    };
    const m = batchMoments(x, layout);
    const invStd = inverseStd(m.var, 1e-5);
    const sums = gradSums(dy, x, layout, m.mean, invStd);
    const dx = new Float64Array(24);
    gradInputTrain(dy, x, layout, m.mean, invStd, weight, sums, m.count, dx);
    const h = 1e-6;
    for (const i of [0, 5, 11, 23]) {
      const plus = x.slice();
      plus[i] += h;
      const minus = x.slice();
      minus[i] -= h;
      expect(dx[i]).toBeCloseTo((loss(plus) - loss(minus)) / (2 * h), 6);
    }
  });
});

describe('running statistics', () => {
  const batch = { count: 4, mean: new Float64Array([2]), var: new Float64Array([3]) };
  it('pytorch: r = (1-m) r + m stat with unbiased variance', () => {
    const r = updateRunningStats({ mean: [0], var: [1] }, batch, 0.1, 'pytorch');
    expect(r.mean[0]).toBeCloseTo(0.2, 15);
    expect(r.var[0]).toBeCloseTo(0.9 + 0.1 * 4, 15);
  });
  it('keras: r = m r + (1-m) stat with biased variance', () => {
    const r = updateRunningStats({ mean: [0], var: [1] }, batch, 0.99, 'keras');
    expect(r.mean[0]).toBeCloseTo(0.02, 15);
    expect(r.var[0]).toBeCloseTo(0.99 + 0.01 * 3, 15);
  });
});

describe('operator input checks', () => {
  const bad = (f: () => unknown, message: RegExp) => {
    expect(f).toThrow(InputError);
    expect(f).toThrow(message);
  };
  const t = { data: new Float32Array(6), shape: [3, 2] };
  it('refuses what PyTorch refuses and what would produce NaN', () => {
    bad(() => batchNorm({ data: new Float32Array(2), shape: [1, 2] }), /more than 1 value per channel/);
    bad(() => batchNorm({ data: new Float32Array(3), shape: [3] }), /2-D \[N,C\] or 4-D/);
    bad(() => batchNorm({ data: new Float32Array(0), shape: [3, 0] }), /zero channels/);
    bad(() => batchNorm({ data: new Float32Array([1, NaN, 0, 0, 0, 0]), shape: [3, 2] }), /NaN at flat index 1/);
    bad(() => batchNorm(t, { eps: 0 }), /eps must be a positive/);
    bad(() => batchNorm(t, { momentum: 1.5 }), /momentum must lie in \[0, 1\]/);
    bad(() => batchNorm(t, { weight: [1, 2, 3] }), /weight must have shape \[2\]/);
    bad(
      () => batchNorm(t, { gradOutput: { data: new Float32Array(6), shape: [2, 3] } }),
      /grad output must have the input's shape/,
    );
  });
  it('accepts one value per channel in eval mode', () => {
    const r = batchNorm({ data: new Float32Array([1, 2]), shape: [1, 2] }, { training: false });
    expect(Array.from(r.output.data)).toEqual([
      Math.fround(1 / Math.sqrt(1 + 1e-5)),
      Math.fround(2 / Math.sqrt(1 + 1e-5)),
    ]);
  });
});
