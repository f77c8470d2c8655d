/**
 * The normalizations of src/norm on one device: finite-difference gradients in float64 (input and
 * every parameter), bitwise independence from how the batch is split for those that do not use
 * the batch, the generic reduction against batch norm, Batch Renormalization's r, d, warm-up and
 * running statistics by hand, and sync Batch Renorm over devices against one device.
 *
 * Gradient checks: f = sum(R * y) for a fixed random R, central differences with h = 1e-6 in
 * float64; max |analytic - numeric| / max |numeric| must be below 1e-6, and a copy of the
 * analytic gradient with one entry 1% off must fail the same check.
 */
import { describe, expect, it } from 'vitest';
import { batchNorm } from '../src/bn/batch-norm.js';
import { type BnMode, parseMode } from '../src/bn/modes.js';
import { InputError } from '../src/errors.js';
import { batchAxes, sampleAxes, setCount, setOf, setSize, spanOf } from '../src/norm/axes.js';
import {
  IOFFE_SCHEDULE,
  batchRenorm,
  renormCorrection,
  renormLimits,
  renormRunning,
} from '../src/norm/batch-renorm.js';
import { deviceRenormBackward, deviceRenormForward } from '../src/norm/device-renorm.js';
import { filterResponseNorm } from '../src/norm/frn.js';
import { groupNorm } from '../src/norm/group-norm.js';
import { instanceNorm } from '../src/norm/instance-norm.js';
import { layerNorm } from '../src/norm/layer-norm.js';
import { normOperator } from '../src/norm/operator.js';
import { setMeanSquares, setMoments, setPartials } from '../src/norm/reduce.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { channelLayout } from '../src/tensor/tensor.js';
import { concat, normals, rowsOf, runTogether, sameBits, splitRows } from './norm-helpers.js';
import { relativeError } from './helpers.js';

const H = 1e-6;
const TOL = 1e-6;

function maxRel(analytic: ArrayLike<number>, numeric: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < numeric.length; i++) {
    d = Math.max(d, Math.abs(analytic[i] - numeric[i]));
    s = Math.max(s, Math.abs(numeric[i]));
  }
  return d / Math.max(s, 1e-300);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Central differences of f with respect to every entry of `arr` (changed in place and restored). */
function numeric(arr: Float64Array, f: () => number): Float64Array {
  return Float64Array.from(arr, (_, i) => {
    const keep = arr[i];
    arr[i] = keep + H;
    const up = f();
    arr[i] = keep - H;
    const down = f();
    arr[i] = keep;
    return (up - down) / (2 * H);
  });
}

function expectGradient(analytic: ArrayLike<number>, num: Float64Array, what: string): void {
  if (num.every((v) => v === 0)) {
    expect(
      Array.from(analytic).every((v) => v === 0),
      `${what}: zero, as the differences say`,
    ).toBe(true);
    return;
  }
  expect(maxRel(analytic, num), what).toBeLessThan(TOL);
  const wrong = Float64Array.from(analytic);
  let at = 0;
  for (let i = 1; i < num.length; i++) if (Math.abs(num[i]) > Math.abs(num[at])) at = i;
  wrong[at] += 0.01 * Math.abs(num[at]);
  expect(maxRel(wrong, num), `${what}: a wrong gradient fails`).toBeGreaterThan(TOL);
}

/**
 * Checks dL/dx and dL/dparam of an operator `op(x, params)` that returns y and, given dy = R, the
 * gradients. `params` maps each parameter name to its array and the result field of its gradient.
 */
function gradCheck(
  shape: number[],
  params: Record<string, Float64Array>,
  op: (
    x: Tensor,
    p: Record<string, Float64Array>,
    dy?: Tensor,
  ) => { output: Tensor; grads: Record<string, ArrayLike<number>>; gradInput?: ArrayLike<number> },
  seed = 7,
  x0?: Float64Array,
): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = x0 ?? normals(seed, n, 0.5, 1.5);
  const R = normals(seed + 1, n);
  const tensor = { data: x, shape };
  const f = () => dot(op(tensor, params).output.data, R);
  const full = op(tensor, params, { data: R, shape });
  expectGradient(full.gradInput!, numeric(x, f), 'input gradient');
  for (const [name, arr] of Object.entries(params))
    expectGradient(full.grads[name], numeric(arr, f), `${name} gradient`);
}

const NONE: Record<string, ArrayLike<number>> = {};
const affineOf = (p: Record<string, Float64Array>) => ({ weight: p.weight, bias: p.bias });
const gradsOf = (r: { gradWeight?: ArrayLike<number>; gradBias?: ArrayLike<number> }) => ({
  weight: r.gradWeight!,
  bias: r.gradBias!,
});

describe('the axes', () => {
  const layout = channelLayout([3, 6, 2, 2]);
  it('count sets and elements as each normalization needs', () => {
    expect([setCount(layout, batchAxes(6)), setSize(layout, batchAxes(6))]).toEqual([6, 12]);
    expect([setCount(layout, sampleAxes(2)), setSize(layout, sampleAxes(2))]).toEqual([6, 12]);
    expect([setCount(layout, sampleAxes(1)), setSize(layout, sampleAxes(1))]).toEqual([3, 24]);
    expect([setCount(layout, sampleAxes(6)), setSize(layout, sampleAxes(6))]).toEqual([18, 4]);
  });
  it('place each (row, channel) in its set and each set in one run or one run per row', () => {
    expect(setOf(layout, sampleAxes(2), 1, 4)).toBe(3);
    expect(setOf(layout, batchAxes(6), 2, 4)).toBe(4);
    expect(spanOf(layout, sampleAxes(2), 3)).toEqual({ first: 36, segments: 1, stride: 24, length: 12 });
    expect(spanOf(layout, batchAxes(6), 4)).toEqual({ first: 16, segments: 3, stride: 24, length: 4 });
  });
  it('refuse groups that do not divide the channels', () => {
    expect(() => setMoments(new Float64Array(72), layout, sampleAxes(4))).toThrow(InputError);
    expect(() => groupNorm({ data: new Float64Array(72), shape: [3, 6, 2, 2] }, { groups: 4 })).toThrow(
      /4 groups must divide the 6 channels/,
    );
  });
});

describe('the statistics reduction', () => {
  it('gives hand-computed means and variances per set', () => {
    // two samples, two channels, 1x2: sample 0 = [1, 3 | 5, 7], sample 1 = [2, 2 | 0, 4]
    const x = Float64Array.of(1, 3, 5, 7, 2, 2, 0, 4);
    const layout = channelLayout([2, 2, 1, 2]);
    const ln = setMoments(x, layout, sampleAxes(1));
    expect([...ln.mean]).toEqual([4, 2]);
    expect([...ln.var]).toEqual([5, 2]);
    const inst = setMoments(x, layout, sampleAxes(2));
    expect([...inst.mean]).toEqual([2, 6, 2, 2]);
    expect([...inst.var]).toEqual([1, 1, 0, 4]);
    const bn = setMoments(x, layout, batchAxes(2));
    expect([...bn.mean]).toEqual([2, 4]);
    expect([...bn.var]).toEqual([0.5, 6.5]);
    expect([...setMeanSquares(x, layout, sampleAxes(2)).var]).toEqual([5, 37, 4, 8]);
    expect(setPartials(x, layout, batchAxes(2)).m2[1]).toBe(26);
  });

  it('with the batch axis equals the batch-norm operator (two-pass statistics)', () => {
    const shape = [5, 3, 4, 3];
    const x = { data: normals(3, 180, 2, 0.7), shape };
    const bn = batchNorm(x, {
      stats: 'two-pass',
      weight: [0.5, -1, 2],
      bias: [0, 1, -1],
      gradOutput: { data: normals(4, 180), shape },
    });
    const ours = normOperator(x, batchAxes(3), 'channel', {
      weight: [0.5, -1, 2],
      bias: [0, 1, -1],
      gradOutput: { data: normals(4, 180), shape },
    });
    expect(relativeError(ours.stats.mean, bn.stats.mean)).toBeLessThan(1e-14);
    expect(relativeError(ours.stats.var, bn.stats.var)).toBeLessThan(1e-14);
    expect(relativeError(ours.output.data, bn.output.data)).toBeLessThan(1e-13);
    expect(relativeError(ours.gradInput!.data, bn.gradInput!.data)).toBeLessThan(1e-12);
    expect(relativeError(ours.gradWeight!, bn.gradWeight!)).toBeLessThan(1e-12);
  });

  it('is exact on ill-conditioned sets (|mean| / std = 1e8)', () => {
    const x = Float64Array.of(1e8, 1e8 + 1, 1e8 + 2, 1e8 + 3);
    const m = setMoments(x, channelLayout([1, 1, 2, 2]), sampleAxes(1));
    expect(m.mean[0]).toBe(1e8 + 1.5);
    expect(m.var[0]).toBe(1.25);
  });
});

describe('gradients match central differences (float64)', () => {
  const C = 4;
  const affine = () => ({ weight: normals(11, C, 1, 0.5), bias: normals(12, C) });

  it.each([[[3, 4, 3, 2]], [[5, 4]]])('group norm, G = 2, shape %j', (shape) => {
    gradCheck(shape, affine(), (x, p, dy) => {
      const r = groupNorm(x, { groups: 2, ...affineOf(p), gradOutput: dy });
      return { output: r.output, grads: dy ? gradsOf(r) : NONE, gradInput: r.gradInput?.data };
    });
  });

  it('layer norm with an elementwise affine over [C, H, W]', () => {
    const shape = [3, 4, 2, 3];
    gradCheck(shape, { weight: normals(13, 24, 1, 0.5), bias: normals(14, 24) }, (x, p, dy) => {
      const r = layerNorm(x, { ...affineOf(p), gradOutput: dy });
      return { output: r.output, grads: dy ? gradsOf(r) : NONE, gradInput: r.gradInput?.data };
    });
  });

  it('layer norm with a per-channel affine', () => {
    gradCheck([3, 4, 2, 3], affine(), (x, p, dy) => {
      const r = layerNorm(x, { affine: 'channel', ...affineOf(p), gradOutput: dy });
      return { output: r.output, grads: dy ? gradsOf(r) : NONE, gradInput: r.gradInput?.data };
    });
  });

  it('instance norm', () => {
    gradCheck([2, 4, 3, 3], affine(), (x, p, dy) => {
      const r = instanceNorm(x, { ...affineOf(p), gradOutput: dy });
      return { output: r.output, grads: dy ? gradsOf(r) : NONE, gradInput: r.gradInput?.data };
    });
  });

  it('FRN with TLU (some outputs clipped at tau)', () => {
    const params = { weight: normals(15, C, 1, 0.5), bias: normals(16, C, 0, 0.5), tau: normals(17, C, 0, 0.3) };
    gradCheck([3, 4, 3, 3], params, (x, p, dy) => {
      const r = filterResponseNorm(x, { ...p, gradOutput: dy });
      return {
        output: r.output,
        grads: dy ? { weight: r.gradWeight!, bias: r.gradBias!, tau: r.gradTau! } : NONE,
        gradInput: r.gradInput?.data,
      };
    });
    const r = filterResponseNorm({ data: normals(7, 108, 0.5, 1.5), shape: [3, 4, 3, 3] }, params);
    const clipped = r.output.data.filter((v, i) => v === params.tau[Math.floor(i / 9) % C]).length;
    expect(clipped, 'the TLU is active on part of the output').toBeGreaterThan(5);
  });

  it('FRN on [N, C] with a learned eps (the paper fully connected case)', () => {
    const params = {
      weight: normals(18, C, 1, 0.5),
      bias: normals(19, C, 0, 0.2),
      tau: Float64Array.of(-5, -5, -5, -5),
      learnedEps: Float64Array.of(0.3, -0.5, 0.8, 1.2),
    };
    gradCheck([6, 4], params, (x, p, dy) => {
      const r = filterResponseNorm(x, { ...p, gradOutput: dy });
      return {
        output: r.output,
        grads: dy ? { weight: r.gradWeight!, bias: r.gradBias!, tau: r.gradTau!, learnedEps: r.gradEps! } : NONE,
        gradInput: r.gradInput?.data,
      };
    });
  });

  it('Batch Renorm with r and d clipped (constants, so the true derivative is the one computed)', () => {
    // running var 0.01 puts sigma_B / sigma far above rMax; a running mean of -10 puts d at dMax.
    const options = {
      limits: { rMax: 1.5, dMax: 2 },
      runningMean: new Float64Array(C).fill(-10),
      runningVar: new Float64Array(C).fill(0.01),
    };
    gradCheck([6, 4, 2, 2], affine(), (x, p, dy) => {
      const r = batchRenorm(x, { ...options, ...affineOf(p), gradOutput: dy });
      return { output: r.output, grads: dy ? gradsOf(r) : NONE, gradInput: r.gradInput?.data };
    });
    const r = batchRenorm({ data: normals(7, 96, 0.5, 1.5), shape: [6, 4, 2, 2] }, options);
    expect([...r.r]).toEqual([1.5, 1.5, 1.5, 1.5]);
    expect([...r.d]).toEqual([2, 2, 2, 2]);
  });
});

describe('a normalization that does not use the batch gives the same bits on any split', () => {
  const shape = [7, 6, 3, 2];
  const x = { data: normals(21, 252, 1, 2), shape };
  const dy = { data: normals(22, 252), shape };
  const weight = normals(23, 6, 1, 0.5);
  const bias = normals(24, 6);
  const ops: [
    string,
    (x: Tensor, dy: Tensor) => { output: Tensor; gradInput?: Tensor; gradWeight?: ArrayLike<number> },
  ][] = [
    ['group norm', (t, g) => groupNorm(t, { groups: 3, weight, bias, gradOutput: g })],
    ['layer norm', (t, g) => layerNorm(t, { affine: 'channel', weight, bias, gradOutput: g })],
    ['instance norm', (t, g) => instanceNorm(t, { weight, bias, gradOutput: g })],
    ['FRN', (t, g) => filterResponseNorm(t, { weight, bias, tau: normals(25, 6, 0, 0.2), gradOutput: g })],
  ];
  describe.each(ops)('%s', (_name, op) => {
    const whole = op(x, dy);
    it.each([[2], [3], [7], [10]])('over %i devices (empty ones included)', (W) => {
      const xs = splitRows(x, W);
      const gs = splitRows(dy, W);
      const parts = xs.map((xi, i) => op(xi, gs[i]));
      expect(sameBits(concat(parts.map((p) => p.output.data)), whole.output.data)).toBe(true);
      expect(sameBits(concat(parts.map((p) => p.gradInput!.data)), whole.gradInput!.data)).toBe(true);
      // Parameter gradients are sums over the batch: the devices' shares add up to the whole.
      const summed = new Float64Array(6);
      for (const p of parts) for (const [c, v] of Array.from(p.gradWeight!).entries()) summed[c] += v;
      expect(relativeError(summed, whole.gradWeight!)).toBeLessThan(1e-13);
    });
  });
  it('float32 inputs too', () => {
    const x32 = { data: Float32Array.from(x.data), shape };
    const whole = groupNorm(x32, { groups: 2 });
    const parts = splitRows(x32, 4).map((p) => groupNorm(p, { groups: 2 }).output.data);
    expect(whole.output.data).toBeInstanceOf(Float32Array);
    expect(sameBits(concat(parts), whole.output.data)).toBe(true);
  });
});

describe('Batch Renormalization', () => {
  const shape = [6, 3, 2, 2];
  const x = { data: normals(31, 72, 1, 2), shape };
  const dy = { data: normals(32, 72), shape };
  const weight = [0.5, -1.5, 2];
  const bias = [0.1, 0.2, -0.3];
  const runningMean = [0.3, -0.2, 1];
  const runningVar = [2, 0.5, 1.5];

  it('is batch norm when rMax = 1 and dMax = 0 (the start of the warm-up), forward and backward', () => {
    const rn = batchRenorm(x, { limits: { rMax: 1, dMax: 0 }, weight, bias, runningMean, runningVar, gradOutput: dy });
    const bn = batchNorm(x, { stats: 'two-pass', weight, bias, runningMean, runningVar, gradOutput: dy });
    expect(relativeError(rn.output.data, bn.output.data)).toBeLessThan(1e-14);
    expect(relativeError(rn.gradInput!.data, bn.gradInput!.data)).toBeLessThan(1e-13);
    expect(relativeError(rn.gradWeight!, bn.gradWeight!)).toBeLessThan(1e-13);
    expect(relativeError(rn.gradBias!, bn.gradBias!)).toBeLessThan(1e-13);
  });

  it('computes r and d by hand, clipped to the limits', () => {
    // sigma_B = sqrt(3 + 1) = 2, sigma = sqrt(0 + 1) = 1 (eps 1): r = 2, d = (5 - 1) / 1 = 4
    const batch = { mean: Float64Array.of(5, 5, 1), var: Float64Array.of(3, 3, 0) };
    const running = { mean: [1, 1, 1], var: [0, 0, 3] };
    const loose = renormCorrection(batch, running, { rMax: 10, dMax: 10 }, 1);
    expect([...loose.r]).toEqual([2, 2, 0.5]);
    expect([...loose.d]).toEqual([4, 4, 0]);
    const tight = renormCorrection(batch, running, { rMax: 1.5, dMax: 3 }, 1);
    expect([...tight.r]).toEqual([1.5, 1.5, 1 / 1.5]);
    expect([...tight.d]).toEqual([3, 3, 0]);
  });

  it('normalizes with (x - mu_B) / sigma_B * r + d when r and d are inside the limits', () => {
    const rn = batchRenorm(x, { limits: { rMax: 100, dMax: 100 }, runningMean, runningVar, eps: 1e-5 });
    const m = setMoments(x.data, channelLayout(shape), batchAxes(3));
    for (let c = 0; c < 3; c++) {
      const sigmaB = Math.sqrt(m.var[c] + 1e-5);
      const sigma = Math.sqrt(runningVar[c] + 1e-5);
      expect(rn.r[c]).toBeCloseTo(sigmaB / sigma, 14);
      // With r and d unclipped, y = (x - mu) / sigma exactly: the running statistics normalize.
      const i = c * 4;
      expect(rn.output.data[i]).toBeCloseTo((x.data[i] - runningMean[c]) / sigma, 12);
    }
  });

  it('keeps the running mean and standard deviation by the paper update', () => {
    // sigma = sqrt(3 + 1) = 2, sigma_B = sqrt(8 + 1) = 3, a = 0.5: sigma' = 2.5, var' = 6.25 - 1
    const next = renormRunning({ mean: [1], var: [3] }, { mean: Float64Array.of(3), var: Float64Array.of(8) }, 0.5, 1);
    expect([...next.mean]).toEqual([2]);
    expect([...next.var]).toEqual([5.25]);
  });

  it('relaxes the limits on the schedule of Ioffe 2017', () => {
    expect(renormLimits(0)).toEqual({ rMax: 1, dMax: 0 });
    expect(renormLimits(5000)).toEqual({ rMax: 1, dMax: 0 });
    expect(renormLimits(15000)).toEqual({ rMax: 1 + 2 * (10000 / 35000), dMax: 2.5 });
    expect(renormLimits(25000)).toEqual({ rMax: 1 + 2 * (20000 / 35000), dMax: 5 });
    expect(renormLimits(40000)).toEqual({ rMax: 3, dMax: 5 });
    expect(renormLimits(1e6)).toEqual({ rMax: 3, dMax: 5 });
    expect(renormLimits(10, { ...IOFFE_SCHEDULE, warmupSteps: 0, rMaxSteps: 20, dMaxSteps: 10 })).toEqual({
      rMax: 2,
      dMax: 5,
    });
    expect(() => renormLimits(-1)).toThrow(InputError);
    expect(() => renormLimits(0, { ...IOFFE_SCHEDULE, rMax: 0.5 })).toThrow(/rMax/);
  });

  describe.each(['sync', 'group:2', 'local'])('on 4 devices in %s mode', (modeText) => {
    const mode: BnMode = parseMode(modeText, 4);
    const rows = 10;
    const bigShape = [rows, 3, 2, 2];
    const X = { data: normals(41, 120, 1, 2), shape: bigShape };
    const DY = { data: normals(42, 120), shape: bigShape };
    const limits = { rMax: 1.4, dMax: 0.6 };
    const settings = {
      mode,
      stats: 'welford' as const,
      accumulator: 'float64' as const,
      training: true,
      momentum: 0.2,
      eps: 1e-5,
      convention: 'pytorch' as const,
    };
    // Devices of one sync group see the batch of their group: the reference runs one device on it.
    const groupSize = mode.kind === 'sync' ? 4 : mode.kind === 'group' ? mode.size : 1;
    it("equals Batch Renorm on one device over each sync group's rows (forward, backward, running statistics)", () => {
      const groups = Array.from({ length: 4 / groupSize }, (_, g) => g);
      for (const g of groups) {
        const ranks = Array.from({ length: groupSize }, (_, k) => g * groupSize + k);
        const shards = splitRows(X, 4);
        const dys = splitRows(DY, 4);
        const states = ranks.map(() => ({ mean: Float64Array.from(runningMean), var: Float64Array.from(runningVar) }));
        const outs = runTogether(
          ranks.map(
            (rank, k) => (allReduce) =>
              (function* () {
                const xi = shards[rank];
                const layout = channelLayout(xi.shape);
                const y = new Float64Array(xi.data.length);
                const fwd = yield* deviceRenormForward(
                  xi.data,
                  layout,
                  y,
                  weight,
                  bias,
                  states[k],
                  Float64Array.from(runningMean),
                  settings,
                  limits,
                  groupSize > 1 ? allReduce : undefined,
                );
                const dx = new Float64Array(xi.data.length);
                const sums = yield* deviceRenormBackward(
                  dys[rank].data,
                  xi.data,
                  layout,
                  dx,
                  weight,
                  fwd,
                  groupSize > 1 ? allReduce : undefined,
                );
                return { y, dx, sums, fwd };
              })(),
          ),
        );
        const first = ranks[0];
        const start = splitRows(X, 4)
          .slice(0, first)
          .reduce((a, t) => a + t.shape[0], 0);
        const end = start + ranks.reduce((a, r) => a + shards[r].shape[0], 0);
        const ref = batchRenorm(rowsOf(X, start, end), {
          limits,
          momentum: 0.2,
          weight,
          bias,
          runningMean,
          runningVar,
          gradOutput: rowsOf(DY, start, end),
        });
        expect(relativeError(concat(outs.map((o) => o.y)), ref.output.data)).toBeLessThan(1e-12);
        expect(relativeError(concat(outs.map((o) => o.dx)), ref.gradInput!.data)).toBeLessThan(1e-12);
        const gw = new Float64Array(3);
        for (const o of outs)
          for (let c = 0; c < 3; c++) gw[c] += o.fwd.r[c] * o.sums.sumDyXhat[c] + o.fwd.d[c] * o.sums.sumDy[c];
        expect(relativeError(gw, ref.gradWeight!)).toBeLessThan(1e-12);
        for (const s of states) {
          expect(relativeError(s.mean, ref.runningMean)).toBeLessThan(1e-12);
          expect(relativeError(s.var, ref.runningVar)).toBeLessThan(1e-12);
        }
      }
    });
  });

  it('refuses ghost mode', () => {
    const layout = channelLayout(shape);
    const program = deviceRenormForward(
      x.data,
      layout,
      new Float64Array(72),
      weight,
      bias,
      { mean: new Float64Array(3), var: new Float64Array(3).fill(1) },
      new Float64Array(3),
      {
        mode: parseMode('ghost:2', 1),
        stats: 'sums',
        accumulator: 'float64',
        training: true,
        momentum: 0.1,
        eps: 1e-5,
        convention: 'pytorch',
      },
      { rMax: 1, dMax: 0 },
    );
    expect(() => program.next()).toThrow(/ghost/);
  });
});

describe('bad input is an InputError naming the problem', () => {
  const x = { data: normals(51, 24), shape: [2, 4, 3] };
  it.each([
    ['a 3-D input', () => groupNorm(x, { groups: 2 }), /2-D \[N,C\] or 4-D/],
    [
      'a zero eps',
      () => layerNorm({ data: normals(51, 8), shape: [2, 4] }, { eps: 0 }),
      /eps must be a positive finite number/,
    ],
    [
      'gamma of the wrong length',
      () => instanceNorm({ data: normals(51, 16), shape: [1, 4, 2, 2] }, { weight: [1, 2] }),
      /affine.weight must have shape \[4\]/,
    ],
    [
      'an elementwise gamma per channel',
      () => layerNorm({ data: normals(51, 16), shape: [1, 4, 2, 2] }, { weight: [1, 1, 1, 1] }),
      /must have shape \[16\]/,
    ],
    [
      'a NaN in the input',
      () => groupNorm({ data: Float64Array.of(1, NaN, 3, 4), shape: [1, 4] }, { groups: 2 }),
      /input contains NaN at flat index 1/,
    ],
    [
      'a gradient of another shape',
      () =>
        groupNorm(
          { data: normals(51, 8), shape: [2, 4] },
          { groups: 2, gradOutput: { data: normals(52, 4), shape: [1, 4] } },
        ),
      /grad output must have the input's shape/,
    ],
    [
      'a non-whole G',
      () => groupNorm({ data: normals(51, 8), shape: [2, 4] }, { groups: 1.5 }),
      /groups must be a whole number/,
    ],
    [
      'one value per channel in Batch Renorm',
      () => batchRenorm({ data: normals(51, 4), shape: [1, 4] }),
      /more than 1 value per channel/,
    ],
    [
      'a negative running variance',
      () => batchRenorm({ data: normals(51, 8), shape: [2, 4] }, { runningVar: [1, -1, 1, 1] }),
      /running var must be >= 0/,
    ],
    [
      'an infinite tau',
      () => filterResponseNorm({ data: normals(51, 8), shape: [2, 4] }, { tau: [0, Infinity, 0, 0] }),
      /tau\[1\]/,
    ],
  ])('%s', (_what, call, message) => {
    expect(call).toThrow(InputError);
    expect(call).toThrow(message);
  });
});
