// Layers, loss, optimizer and initialisation of src/nn: finite-difference gradient checks for every
// layer (input and parameter gradients) and for the loss, forward passes against independent
// float64 references, SGD against hand-computed steps, and the statistics of the initialisers.
//
// Gradient checks: the scalar is f = sum(r * y) for a fixed random r, so backward(r) must return
// df/dx and add df/dparams. Activations are float32, so the checks use small sizes, central
// differences with h = 1e-2 (the actual step after rounding to float32 is used as the divisor)
// and a relative tolerance of 1e-2 on max|analytic - numeric| / max|numeric|. Every check also
// shows that a slightly wrong gradient fails it.
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { type KernelBackend, useKernels } from '../src/kernels/backend.js';
import { ReLU, Sigmoid, sigmoidJs } from '../src/nn/activations.js';
import { sigmoidWasm } from '../src/nn/sigmoid-wasm.js';
import { Conv2d } from '../src/nn/conv2d.js';
import { Flatten } from '../src/nn/flatten.js';
import { fansOf, initWeight, kaimingNormal, kaimingUniform, xavierNormal, xavierUniform } from '../src/nn/init.js';
import type { Layer } from '../src/nn/layer.js';
import { Linear } from '../src/nn/linear.js';
import { softmaxCrossEntropy } from '../src/nn/loss.js';
import { AvgPool2d, MaxPool2d } from '../src/nn/pooling.js';
import { Sequential } from '../src/nn/sequential.js';
import { Sgd, sgdStep } from '../src/nn/sgd.js';
import { SeededRandom } from '../src/tensor/random.js';

const TOL = 1e-2;
const H = 1e-2;

function uniform(rng: SeededRandom, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
}

/** Values in [-1, 1] at least `gap` apart and at least gap/2 away from 0: no kink within a step. */
function spaced(rng: SeededRandom, n: number, gap = 0.05): Float32Array {
  const values = Array.from({ length: n }, (_, i) => (i - (n - 1) / 2) * gap);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
  return Float32Array.from(values.map((v) => (Math.abs(v) < gap / 2 ? v + gap / 2 : v)));
}

function dot64(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** max|a - n| / max|n|. */
function relErr(analytic: ArrayLike<number>, numeric: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < numeric.length; i++) {
    diff = Math.max(diff, Math.abs(analytic[i] - numeric[i]));
    scale = Math.max(scale, Math.abs(numeric[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / Math.max(scale, 1e-12);
}

/** Central difference of f with respect to arr[i] (arr is float32: the rounded step is used). */
function centralDiff(arr: Float32Array, i: number, h: number, f: () => number): number {
  const orig = arr[i];
  arr[i] = orig + h;
  const up = arr[i];
  const fp = f();
  arr[i] = orig - h;
  const down = arr[i];
  const fm = f();
  arr[i] = orig;
  return (fp - fm) / (up - down);
}

/** The check of one gradient: its error, and the error of a copy with one entry 5% off. */
function compare(analytic: ArrayLike<number>, numeric: number[]) {
  const err = relErr(analytic, numeric);
  const wrong = Array.from(analytic);
  let at = 0;
  for (let i = 1; i < numeric.length; i++) if (Math.abs(numeric[i]) > Math.abs(numeric[at])) at = i;
  wrong[at] += 0.05 * Math.abs(numeric[at]);
  return { err, wrongErr: relErr(wrong, numeric) };
}

interface GradCheck {
  dx: { err: number; wrongErr: number };
  dp?: { err: number; wrongErr: number };
}

/**
 * Checks a layer on `batch` examples of `shape`: input gradient for every input, and parameter
 * gradient for every parameter, by central differences of f = sum(r * y).
 */
function gradCheck(
  layer: Layer,
  shape: number[],
  batch: number,
  seed: number,
  options: { x?: Float32Array; h?: number } = {},
): GradCheck {
  const rng = new SeededRandom(seed);
  const h = options.h ?? H;
  const perExample = shape.reduce((a, b) => a * b, 1);
  const x = options.x ?? uniform(rng, batch * perExample);
  const params = new Float32Array(layer.paramCount);
  const grads = new Float32Array(layer.paramCount);
  layer.bind(params, grads);
  layer.init(rng);
  // non-zero biases too, so that they take part
  for (let i = 0; i < params.length; i++) params[i] += 0.1 * (rng.uniform() - 0.5);
  const y = layer.forward(x, batch, shape, true);
  const r = uniform(rng, y.length);
  const dx = Float32Array.from(layer.backward(r));
  const f = () => dot64(layer.forward(x, batch, shape, false), r);
  const numericX = Array.from(x, (_, i) => centralDiff(x, i, h, f));
  const result: GradCheck = { dx: compare(dx, numericX) };
  if (layer.paramCount > 0) {
    const numericP = Array.from(params, (_, i) => centralDiff(params, i, h, f));
    result.dp = compare(grads, numericP);
  }
  return result;
}

function expectGradients(check: GradCheck, params: boolean): void {
  expect(check.dx.err, 'input gradient').toBeLessThan(TOL);
  expect(check.dx.wrongErr, 'a wrong input gradient must fail').toBeGreaterThan(TOL);
  if (params) {
    expect(check.dp, 'parameter gradient checked').toBeDefined();
    expect(check.dp!.err, 'parameter gradient').toBeLessThan(TOL);
    expect(check.dp!.wrongErr, 'a wrong parameter gradient must fail').toBeGreaterThan(TOL);
  }
}

/** Direct convolution in float64: the reference for Conv2d's forward. */
function convReference(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array,
  batch: number,
  C: number,
  Hh: number,
  W: number,
  O: number,
  k: number,
  pad: number,
  stride: number,
): Float64Array {
  const outH = Math.floor((Hh + 2 * pad - k) / stride) + 1;
  const outW = Math.floor((W + 2 * pad - k) / stride) + 1;
  const y = new Float64Array(batch * O * outH * outW);
  for (let b = 0; b < batch; b++)
    for (let o = 0; o < O; o++)
      for (let oh = 0; oh < outH; oh++)
        for (let ow = 0; ow < outW; ow++) {
          let s = bias[o];
          for (let c = 0; c < C; c++)
            for (let i = 0; i < k; i++)
              for (let j = 0; j < k; j++) {
                const ih = oh * stride + i - pad;
                const iw = ow * stride + j - pad;
                if (ih >= 0 && ih < Hh && iw >= 0 && iw < W)
                  s += w[((o * C + c) * k + i) * k + j] * x[((b * C + c) * Hh + ih) * W + iw];
              }
          y[((b * O + o) * outH + oh) * outW + ow] = s;
        }
  return y;
}

describe('Linear', () => {
  it('computes x · W^T + b with W [out, in] then b [out] in its slice', () => {
    const layer = new Linear(3, 2);
    const params = new Float32Array([1, 2, 3, 4, 5, 6, 0.5, -1]);
    layer.bind(params, new Float32Array(8));
    const y = layer.forward(new Float32Array([1, 0, -1, 2, 1, 0]), 2, [3], false);
    // row 0: [1-3, 4-6] + b = [-1.5, -3]; row 1: [2+2, 8+5] + b = [4.5, 12]
    expect(Array.from(y)).toEqual([-1.5, -3, 4.5, 12]);
    expect(layer.outputShape([3])).toEqual([2]);
    expect(layer.paramCount).toBe(8);
  });

  it('passes the gradient check (input, weight and bias)', () => {
    expectGradients(gradCheck(new Linear(7, 5), [7], 3, 1), true);
  });

  it('without a bias, and with a 3-D input shape', () => {
    const layer = new Linear(12, 4, { bias: false });
    expect(layer.paramCount).toBe(48);
    expectGradients(gradCheck(layer, [3, 2, 2], 2, 2), true);
  });

  it('adds parameter gradients into its slice instead of overwriting them', () => {
    const layer = new Linear(2, 2);
    const params = new Float32Array([1, 0, 0, 1, 0, 0]);
    const grads = new Float32Array(6).fill(1);
    layer.bind(params, grads);
    layer.forward(new Float32Array([1, 2]), 1, [2], true);
    layer.backward(new Float32Array([1, 0]));
    // dW = dy^T x = [[1, 2], [0, 0]], db = [1, 0], each plus the 1 already there
    expect(Array.from(grads)).toEqual([2, 3, 1, 1, 2, 1]);
  });

  it('rejects a wrong input size', () => {
    expect(() => new Linear(3, 2).outputShape([4])).toThrow(InputError);
  });
});

describe('Conv2d', () => {
  const cases: { C: number; O: number; k: number; Hh: number; W: number; pad: number; stride: number }[] = [
    { C: 1, O: 3, k: 3, Hh: 7, W: 5, pad: 0, stride: 1 },
    { C: 2, O: 4, k: 3, Hh: 5, W: 7, pad: 2, stride: 1 },
    { C: 3, O: 2, k: 5, Hh: 7, W: 7, pad: 2, stride: 1 },
    { C: 2, O: 3, k: 3, Hh: 7, W: 6, pad: 1, stride: 2 },
  ];

  for (const { C, O, k, Hh, W, pad, stride } of cases) {
    const label = `${C}->${O} channels, k=${k}, ${Hh}x${W}, padding ${pad}, stride ${stride}`;

    it(`forward equals a direct float64 convolution: ${label}`, () => {
      const rng = new SeededRandom(C * 100 + O);
      const layer = new Conv2d(C, O, k, { padding: pad, stride });
      const params = new Float32Array(layer.paramCount);
      layer.bind(params, new Float32Array(layer.paramCount));
      layer.init(rng);
      params.subarray(O * C * k * k).set(uniform(rng, O));
      const batch = 3;
      const x = uniform(rng, batch * C * Hh * W);
      const y = layer.forward(x, batch, [C, Hh, W], false);
      const ref = convReference(
        x,
        params.subarray(0, O * C * k * k),
        params.subarray(O * C * k * k),
        batch,
        C,
        Hh,
        W,
        O,
        k,
        pad,
        stride,
      );
      expect(y.length).toBe(ref.length);
      expect(relErr(y, ref)).toBeLessThan(1e-6);
      const [oc, oh, ow] = layer.outputShape([C, Hh, W]);
      expect(oc * oh * ow * batch).toBe(ref.length);
    });

    it(`passes the gradient check: ${label}`, () => {
      expectGradients(gradCheck(new Conv2d(C, O, k, { padding: pad, stride }), [C, Hh, W], 2, 7 + C + O), true);
    });
  }

  it('passes the gradient check on the JavaScript kernels as well', () => {
    try {
      useKernels('js');
      expectGradients(gradCheck(new Conv2d(2, 3, 3, { padding: 2 }), [2, 5, 7], 2, 17), true);
      expectGradients(gradCheck(new Linear(6, 4), [6], 3, 18), true);
    } finally {
      useKernels('wasm');
    }
  });

  it('the WebAssembly and the JavaScript kernels agree (forward, dW, db, dx) at LeNet sizes and degenerate ones', () => {
    for (const [C, O, k, pad, Hh, W, batch] of [
      [6, 16, 5, 0, 12, 12, 5],
      [3, 8, 5, 2, 11, 13, 3],
      [1, 6, 5, 0, 28, 28, 2],
      [1, 1, 1, 0, 1, 1, 1], // one pixel, one channel, one example
      [2, 3, 1, 0, 5, 7, 1], // 1x1 kernel
      [5, 7, 3, 3, 3, 5, 2], // padding wider than the kernel's reach: whole rows of zeros
      [3, 5, 3, 1, 9, 7, 1], // nothing a multiple of 4
    ]) {
      const run = (backend: KernelBackend) => {
        try {
          useKernels(backend);
          const rng = new SeededRandom(C + O);
          const conv = new Conv2d(C, O, k, { padding: pad });
          const params = new Float32Array(conv.paramCount);
          const grads = new Float32Array(conv.paramCount).fill(0.25);
          conv.bind(params, grads);
          conv.init(rng);
          params.subarray(O * C * k * k).set(uniform(rng, O));
          const x = uniform(rng, batch * C * Hh * W);
          const y = Float32Array.from(conv.forward(x, batch, [C, Hh, W], true));
          const dx = Float32Array.from(conv.backward(uniform(rng, y.length)));
          return { y, dx, grads };
        } finally {
          useKernels('wasm');
        }
      };
      const js = run('js');
      const fast = run('wasm');
      expect(relErr(fast.y, js.y)).toBeLessThan(1e-6);
      expect(relErr(fast.dx, js.dx)).toBeLessThan(1e-6);
      expect(relErr(fast.grads, js.grads)).toBeLessThan(1e-6);
    }
  });

  it('LeNet shapes: 28x28 -> 24x24 with k=5, and 28x28 -> 28x28 with padding 2', () => {
    expect(new Conv2d(1, 6, 5).outputShape([1, 28, 28])).toEqual([6, 24, 24]);
    expect(new Conv2d(1, 6, 5, { padding: 2 }).outputShape([1, 28, 28])).toEqual([6, 28, 28]);
    expect(new Conv2d(6, 16, 5).outputShape([6, 12, 12])).toEqual([16, 8, 8]);
    expect(new Conv2d(1, 6, 5).paramCount).toBe(6 * 25 + 6);
  });

  it('rejects a channel mismatch and an input smaller than the kernel', () => {
    expect(() => new Conv2d(2, 3, 3).outputShape([1, 5, 5])).toThrow(InputError);
    expect(() => new Conv2d(1, 3, 5).outputShape([1, 4, 4])).toThrow(InputError);
  });
});

describe('pooling', () => {
  it('AvgPool2d averages 2x2 windows and drops the odd last row and column (floor)', () => {
    const pool = new AvgPool2d(2);
    const x = Float32Array.from({ length: 15 }, (_, i) => i); // 3 x 5
    expect(pool.outputShape([1, 3, 5])).toEqual([1, 1, 2]);
    expect(Array.from(pool.forward(x, 1, [1, 3, 5], false))).toEqual([(0 + 1 + 5 + 6) / 4, (2 + 3 + 7 + 8) / 4]);
  });

  it('MaxPool2d takes window maxima, the first on ties', () => {
    const pool = new MaxPool2d(2);
    const x = new Float32Array([1, 3, 2, 2, 4, 0, 2, 2, 9]); // 3 x 3 -> 1 x 1
    expect(Array.from(pool.forward(x, 1, [1, 3, 3], true))).toEqual([4]);
    const tie = new MaxPool2d(2);
    tie.forward(new Float32Array([5, 5, 5, 5]), 1, [1, 2, 2], true);
    expect(Array.from(tie.backward(new Float32Array([1])))).toEqual([1, 0, 0, 0]);
  });

  for (const [kernel, stride] of [
    [2, 2],
    [3, 2],
    [2, 1],
  ] as const) {
    it(`AvgPool2d(${kernel}, stride ${stride}) passes the gradient check on odd sizes`, () => {
      expectGradients(gradCheck(new AvgPool2d(kernel, stride), [2, 7, 5], 2, 20 + kernel), false);
    });
    it(`MaxPool2d(${kernel}, stride ${stride}) passes the gradient check on odd sizes`, () => {
      const rng = new SeededRandom(30 + kernel);
      const x = spaced(rng, 2 * 2 * 7 * 5);
      expectGradients(gradCheck(new MaxPool2d(kernel, stride), [2, 7, 5], 2, 30 + kernel, { x, h: 1e-3 }), false);
    });
  }
});

describe('activations and flatten', () => {
  it('Sigmoid and ReLU compute their functions', () => {
    const x = new Float32Array([-2, 0, 3]);
    const s = new Sigmoid().forward(x, 1, [3], false);
    for (const [i, v] of [1 / (1 + Math.exp(2)), 0.5, 1 / (1 + Math.exp(-3))].entries()) expect(s[i]).toBeCloseTo(v, 7);
    expect(Array.from(new ReLU().forward(x, 1, [3], false))).toEqual([0, 0, 3]);
    const relu = new ReLU().forward(new Float32Array([-0, Number.NaN, Number.POSITIVE_INFINITY, -5]), 1, [4], false);
    expect(Object.is(relu[0], 0)).toBe(true);
    expect(relu[1]).toBeNaN();
    expect(relu[2]).toBe(Number.POSITIVE_INFINITY);
    expect(Object.is(relu[3], 0)).toBe(true);
    expect(Array.from(new Sigmoid().forward(new Float32Array([-1000, 1000]), 1, [2], false))).toEqual([0, 1]);
  });

  it('the SIMD sigmoid is within 2 ulp of the float64 formula, exact far out, NaN-preserving', () => {
    const n = 40001;
    const x = Float32Array.from({ length: n }, (_, i) => -100 + (200 * i) / (n - 1));
    const y = new Float32Array(n);
    sigmoidWasm(x, y);
    const ref = new Float32Array(n);
    sigmoidJs(x, ref);
    const bits = new Int32Array(2);
    const asFloat = new Float32Array(bits.buffer);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      if (ref[i] < 1.2e-38) {
        expect(y[i]).toBeLessThan(1.2e-38); // subnormal or zero far out
        continue;
      }
      asFloat[0] = y[i];
      asFloat[1] = ref[i];
      worst = Math.max(worst, Math.abs(bits[0] - bits[1]));
    }
    expect(worst).toBeLessThanOrEqual(2);
    const edge = new Float32Array(6);
    sigmoidWasm(new Float32Array([-1e30, 1e30, 0, Number.NaN, 17, -87]), edge);
    expect(edge[0]).toBe(0);
    expect(edge[1]).toBe(1);
    expect(edge[2]).toBe(0.5);
    expect(edge[3]).toBeNaN();
    expect(edge[4]).toBe(1);
    expect(edge[5]).toBeCloseTo(1 / (1 + Math.exp(87)), 45);
  });

  it('Sigmoid runs the WebAssembly kernel by default and the JavaScript one only when selected, on any length', () => {
    for (const n of [1, 3, 5, 4001]) {
      const x = Float32Array.from({ length: n }, (_, i) => -9 + (18 * i + 1) / n);
      const viaWasm = new Float32Array(n);
      const viaJs = new Float32Array(n);
      sigmoidWasm(x, viaWasm);
      sigmoidJs(x, viaJs);
      expect(Array.from(new Sigmoid().forward(x, 1, [n], false)), `n = ${n}`).toEqual(Array.from(viaWasm));
      try {
        useKernels('js');
        expect(Array.from(new Sigmoid().forward(x, 1, [n], false)), `n = ${n}`).toEqual(Array.from(viaJs));
      } finally {
        useKernels('wasm');
      }
      // the two kernels round differently somewhere, so the comparisons above tell them apart
      if (n === 4001) expect(viaWasm.some((v, i) => v !== viaJs[i])).toBe(true);
    }
  });

  it('Sigmoid passes the gradient check', () => {
    expectGradients(gradCheck(new Sigmoid(), [2, 3, 5], 2, 40, { x: uniform(new SeededRandom(40), 60, -4, 4) }), false);
  });

  it('ReLU passes the gradient check (inputs away from the kink)', () => {
    expectGradients(gradCheck(new ReLU(), [31], 2, 41, { x: spaced(new SeededRandom(41), 62), h: 1e-3 }), false);
  });

  it('a Sigmoid with a wrong derivative fails the same check', () => {
    class WrongSigmoid extends Sigmoid {
      protected override gradient(y: Float32Array, dy: Float32Array, dx: Float32Array): void {
        for (let i = 0; i < y.length; i++) dx[i] = dy[i] * y[i] * (1 - y[i]) * 1.05;
      }
    }
    const check = gradCheck(new WrongSigmoid(), [10], 2, 42);
    expect(check.dx.err).toBeGreaterThan(TOL);
  });

  it('Flatten passes data and gradients through unchanged', () => {
    const flat = new Flatten();
    expect(flat.outputShape([2, 3, 4])).toEqual([24]);
    const x = uniform(new SeededRandom(43), 48);
    expect(flat.forward(x, 2, [2, 3, 4], true)).toBe(x);
    const dy = uniform(new SeededRandom(44), 48);
    expect(flat.backward(dy)).toBe(dy);
    expectGradients(gradCheck(new Flatten(), [2, 3, 4], 2, 45), false);
  });

  it('backward without a training forward is an error', () => {
    expect(() => new Sigmoid().backward(new Float32Array(2))).toThrow(/without a training forward/);
  });
});

describe('softmax cross-entropy', () => {
  it('hand-sized logits: mean loss, correct count (first maximum on ties) and gradient', () => {
    const logits = new Float32Array([1, 2, 3, 1, 1, 1, 0, 5, 0]);
    const labels = [2, 0, 0];
    const r = softmaxCrossEntropy(logits, labels, 3, 3);
    const l0 = Math.log(1 + Math.exp(-1) + Math.exp(-2));
    const l1 = Math.log(3);
    const l2 = 5 + Math.log(2 * Math.exp(-5) + 1);
    expect(r.loss).toBeCloseTo((l0 + l1 + l2) / 3, 6);
    expect(r.lossSum).toBeCloseTo(l0 + l1 + l2, 6);
    expect(r.correct).toBe(2); // row 0 (argmax 2) and row 1 (tie, first is 0); row 2 predicts 1
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    const expected = [Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z - 1, 1 / 3 - 1, 1 / 3, 1 / 3];
    for (let i = 0; i < 6; i++) expect(r.grad[i]).toBeCloseTo(expected[i] / 3, 6);
  });

  it('is stable for large logits', () => {
    const r = softmaxCrossEntropy(new Float32Array([1000, 0, -1000, 0]), [1, 0], 2, 2);
    expect(r.loss).toBeCloseTo((1000 + 1000) / 2, 3);
    expect(Array.from(r.grad).every(Number.isFinite)).toBe(true);
  });

  it('gradient of the mean loss passes the finite-difference check', () => {
    const rng = new SeededRandom(50);
    const batch = 4;
    const classes = 5;
    const logits = uniform(rng, batch * classes, -3, 3);
    const labels = [0, 4, 2, 2];
    const { grad } = softmaxCrossEntropy(logits, labels, batch, classes);
    const numeric = Array.from(logits, (_, i) =>
      centralDiff(logits, i, H, () => softmaxCrossEntropy(logits, labels, batch, classes).loss),
    );
    const { err, wrongErr } = compare(grad, numeric);
    expect(err).toBeLessThan(TOL);
    expect(wrongErr).toBeGreaterThan(TOL);
  });

  it('divisor scales the gradient (a shard of a global batch)', () => {
    const logits = new Float32Array([0.5, -0.5, 2, 1]);
    const mean = softmaxCrossEntropy(logits, [0, 1], 2, 2);
    const global = softmaxCrossEntropy(logits, [0, 1], 2, 2, { divisor: 8, grad: new Float32Array(4) });
    for (let i = 0; i < 4; i++) expect(global.grad[i]).toBeCloseTo(mean.grad[i] / 4, 7);
    expect(global.loss).toBe(mean.loss);
  });

  it('rejects labels outside the classes', () => {
    expect(() => softmaxCrossEntropy(new Float32Array(4), [0, 2], 2, 2)).toThrow(InputError);
    expect(() => softmaxCrossEntropy(new Float32Array(4), [0, 0.5], 2, 2)).toThrow(InputError);
  });
});

describe('Sequential', () => {
  const smallNet = () =>
    new Sequential(
      [
        new Conv2d(2, 3, 3, { padding: 1 }),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(3, 4, 2),
        new Sigmoid(),
        new AvgPool2d(2, 1),
        new Flatten(),
        new Linear(4 * 1 * 2, 5),
        new Sigmoid(),
        new Linear(5, 3),
      ],
      [2, 7, 8],
      { inputGrad: true },
    );

  it('computes shapes, offsets and the parameter count', () => {
    const net = smallNet();
    expect(net.shapes.map((s) => [...s])).toEqual([
      [2, 7, 8],
      [3, 7, 8],
      [3, 7, 8],
      [3, 3, 4],
      [4, 2, 3],
      [4, 2, 3],
      [4, 1, 2],
      [8],
      [5],
      [5],
      [3],
    ]);
    const counts = [3 * 2 * 9 + 3, 0, 0, 4 * 3 * 4 + 4, 0, 0, 0, 8 * 5 + 5, 0, 5 * 3 + 3];
    expect(net.paramCount).toBe(counts.reduce((a, b) => a + b, 0));
    expect(net.offsets[3]).toBe(counts[0]);
    expect(net.outputShape).toEqual([3]);
    expect(net.summary()).toHaveLength(10);
  });

  /** LeNet in miniature: smooth everywhere (sigmoid, average pooling), so every entry is checked. */
  const smoothNet = () =>
    new Sequential(
      [
        new Conv2d(1, 3, 3, { padding: 2 }),
        new Sigmoid(),
        new AvgPool2d(2),
        new Conv2d(3, 4, 3),
        new Sigmoid(),
        new AvgPool2d(2),
        new Flatten(),
        new Linear(4, 6),
        new Sigmoid(),
        new Linear(6, 3),
      ],
      [1, 9, 9],
      { inputGrad: true },
    );

  /**
   * Gradient check of a whole model under softmax cross-entropy, for the input (step hx) and
   * every parameter. With `kinks` (ReLU, max pooling), entries whose difference quotient changes between
   * steps h and h/2 by more than 0.2% of the gradient's scale (a kink inside the step) are left out.
   */
  function modelCheck(net: Sequential, seed: number, kinks: boolean, hx = H) {
    const rng = new SeededRandom(seed);
    net.init(rng);
    for (let i = 0; i < net.paramCount; i++) net.params[i] += 0.1 * (rng.uniform() - 0.5);
    const batch = 2;
    const x = uniform(rng, batch * net.inputShape.reduce((a, b) => a * b, 1));
    const labels = [1, 2];
    const lossOf = () => softmaxCrossEntropy(net.forward(x, batch, false), labels, batch, 3).loss;
    net.zeroGrad();
    const { grad } = softmaxCrossEntropy(net.forward(x, batch, true), labels, batch, 3);
    const dx = Float32Array.from(net.backward(grad));
    const dp = Float32Array.from(net.grads);
    const check = (arr: Float32Array, analytic: Float32Array, h: number) => {
      const d1 = Array.from(arr, (_, i) => centralDiff(arr, i, h, lossOf));
      const d2 = kinks ? Array.from(arr, (_, i) => centralDiff(arr, i, h / 2, lossOf)) : d1;
      const scale = Math.max(...d1.map(Math.abs));
      const keep = d1.map((_, i) => Math.abs(d1[i] - d2[i]) <= 2e-3 * scale);
      const kept = keep.filter(Boolean).length;
      return {
        kept: kept / arr.length,
        ...compare(
          Array.from(analytic).filter((_, i) => keep[i]),
          d1.filter((_, i) => keep[i]),
        ),
      };
    };
    return { x: check(x, dx, hx), p: check(net.params, dp, H) };
  }

  it('passes the gradient check through a LeNet-like conv net (input and every parameter)', () => {
    // Four sigmoids and two poolings shrink the input gradient to ~1e-4: a larger step keeps the
    // float32 rounding of the loss below it (the curvature error stays ~1e-3 relative).
    const { x, p } = modelCheck(smoothNet(), 60, false, 0.1);
    expect(x.err).toBeLessThan(TOL);
    expect(x.wrongErr).toBeGreaterThan(TOL);
    expect(p.err).toBeLessThan(TOL);
    expect(p.wrongErr).toBeGreaterThan(TOL);
  });

  it('passes the gradient check through a conv net with ReLU and max pooling', () => {
    const { x, p } = modelCheck(smallNet(), 66, true);
    expect(x.kept).toBeGreaterThan(0.8);
    expect(p.kept).toBeGreaterThan(0.8);
    expect(x.err).toBeLessThan(TOL);
    expect(x.wrongErr).toBeGreaterThan(TOL);
    expect(p.err).toBeLessThan(TOL);
    expect(p.wrongErr).toBeGreaterThan(TOL);
  });

  it('binds to caller-provided vectors (a SharedArrayBuffer) and zeroGrad clears them', () => {
    const net = smallNet();
    const params = new Float32Array(new SharedArrayBuffer(net.paramCount * 4));
    const grads = new Float32Array(new SharedArrayBuffer(net.paramCount * 4));
    net.bindTo(params, grads);
    expect(net.params).toBe(params);
    net.init(new SeededRandom(61));
    expect(params.some((v) => v !== 0)).toBe(true);
    const x = uniform(new SeededRandom(62), 2 * 7 * 8);
    const y = net.forward(x, 1, true);
    net.backward(new Float32Array(y.length).fill(1));
    expect(grads.some((v) => v !== 0)).toBe(true);
    net.zeroGrad();
    expect(grads.every((v) => v === 0)).toBe(true);
    expect(() => net.bindTo(new Float32Array(3), new Float32Array(3))).toThrow(InputError);
  });

  it('the same seed gives the same parameters; another seed others', () => {
    const a = smallNet();
    const b = smallNet();
    const c = smallNet();
    a.init(new SeededRandom(7));
    b.init(new SeededRandom(7));
    c.init(new SeededRandom(8));
    expect(Array.from(a.params)).toEqual(Array.from(b.params));
    expect(Array.from(a.params)).not.toEqual(Array.from(c.params));
  });

  it('an evaluation forward between a training forward and its backward changes nothing', () => {
    const run = (interleave: boolean) => {
      const net = smallNet();
      net.init(new SeededRandom(63));
      const rng = new SeededRandom(64);
      const x = uniform(rng, 3 * 2 * 7 * 8);
      const other = uniform(rng, 3 * 2 * 7 * 8);
      net.zeroGrad();
      const y = Float32Array.from(net.forward(x, 3, true));
      if (interleave) net.forward(other, 3, false);
      const dx = Float32Array.from(net.backward(new Float32Array(y.length).fill(0.5)));
      return { y, dx, grads: Float32Array.from(net.grads) };
    };
    const plain = run(false);
    const mixed = run(true);
    expect(Array.from(mixed.grads)).toEqual(Array.from(plain.grads));
    expect(Array.from(mixed.dx)).toEqual(Array.from(plain.dx));
  });

  it('skips the input gradient of the first layer unless asked', () => {
    const net = new Sequential([new Conv2d(1, 2, 3), new Flatten(), new Linear(2 * 3 * 3, 2)], [1, 5, 5]);
    const y = net.forward(uniform(new SeededRandom(65), 25), 1, true);
    expect(net.backward(new Float32Array(y.length).fill(1)).length).toBe(0);
    expect(net.grads.some((v) => v !== 0)).toBe(true);
  });

  it('accepts any Layer, including one with state outside the flat vectors', () => {
    class Counter extends Flatten {
      calls = 0; // state kept by the layer itself
      override forward(x: Float32Array, batch: number, shape: readonly number[], training: boolean): Float32Array {
        this.calls++;
        return super.forward(x, batch, shape, training);
      }
    }
    const counter = new Counter();
    const net = new Sequential([counter, new Linear(4, 2)], [2, 2]);
    net.forward(new Float32Array(8), 2, false);
    net.forward(new Float32Array(8), 2, true);
    expect(counter.calls).toBe(2);
    expect(net.paramCount).toBe(10);
  });
});

describe('SGD', () => {
  it('matches hand-computed steps with momentum and weight decay (torch.optim.SGD)', () => {
    const p = new Float32Array([1, -2]);
    const buf = new Float32Array(2).fill(123); // ignored on the first step
    const opts = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
    sgdStep(p, new Float32Array([0.5, 0.25]), buf, opts, true);
    // d = g + wd p = [0.51, 0.23]; buf = d; p -= lr buf
    expect(buf[0]).toBeCloseTo(0.51, 6);
    expect(buf[1]).toBeCloseTo(0.23, 6);
    expect(p[0]).toBeCloseTo(0.949, 6);
    expect(p[1]).toBeCloseTo(-2.023, 6);
    sgdStep(p, new Float32Array([0.1, -0.3]), buf, opts, false);
    // d = [0.1 + 0.00949, -0.3 - 0.02023]; buf = 0.9 [0.51, 0.23] + d = [0.56849, -0.11323]
    expect(buf[0]).toBeCloseTo(0.56849, 6);
    expect(buf[1]).toBeCloseTo(-0.11323, 6);
    expect(p[0]).toBeCloseTo(0.949 - 0.056849, 6);
    expect(p[1]).toBeCloseTo(-2.023 + 0.011323, 6);
  });

  it('plain SGD (no momentum) leaves the buffer alone; weight decay alone shrinks the parameters', () => {
    const p = new Float32Array([2, 4]);
    const buf = new Float32Array(0);
    sgdStep(p, new Float32Array([1, -1]), buf, { lr: 0.5 }, true);
    expect(Array.from(p)).toEqual([1.5, 4.5]);
    sgdStep(p, new Float32Array(2), buf, { lr: 0.1, weightDecay: 0.5 }, false);
    expect(p[0]).toBeCloseTo(1.5 * 0.95, 6);
    expect(p[1]).toBeCloseTo(4.5 * 0.95, 6);
  });

  it('the Sgd class counts steps and starts its buffer on the first', () => {
    const p = new Float32Array([1]);
    const opt = new Sgd(1, { lr: 1, momentum: 0.5 });
    opt.step(p, new Float32Array([1])); // buf = 1, p = 0
    opt.step(p, new Float32Array([1])); // buf = 1.5, p = -1.5
    expect(opt.stepCount).toBe(2);
    expect(p[0]).toBe(-1.5);
    expect(() => sgdStep(p, new Float32Array(1), new Float32Array(1), { lr: -1 }, true)).toThrow(InputError);
  });
});

describe('initialisation', () => {
  const N = 20000;
  const stats = (a: Float32Array) => {
    let mean = 0;
    for (const v of a) mean += v;
    mean /= a.length;
    let v2 = 0;
    for (const v of a) v2 += (v - mean) ** 2;
    return { mean, std: Math.sqrt(v2 / a.length), maxAbs: Math.max(...Array.from(a, Math.abs)) };
  };

  it('fans follow torch.nn.init', () => {
    expect(fansOf([6, 1, 5, 5])).toEqual({ fanIn: 25, fanOut: 150 });
    expect(fansOf([120, 256])).toEqual({ fanIn: 256, fanOut: 120 });
  });

  it('Xavier uniform stays within sqrt(6 / (fanIn + fanOut)) and has its variance', () => {
    const fans = { fanIn: 150, fanOut: 400 };
    const bound = Math.sqrt(6 / 550);
    const w = new Float32Array(N);
    xavierUniform(w, fans, new SeededRandom(70));
    const s = stats(w);
    expect(s.maxAbs).toBeLessThanOrEqual(bound);
    expect(s.maxAbs).toBeGreaterThan(0.99 * bound);
    expect(s.std / (bound / Math.sqrt(3))).toBeCloseTo(1, 1);
    expect(Math.abs(s.mean)).toBeLessThan(0.02 * bound);
  });

  it('Xavier normal, Kaiming normal and Kaiming uniform have their standard deviations', () => {
    const fans = { fanIn: 256, fanOut: 120 };
    const w = new Float32Array(N);
    xavierNormal(w, fans, new SeededRandom(71));
    expect(stats(w).std / Math.sqrt(2 / 376)).toBeCloseTo(1, 1);
    kaimingNormal(w, fans, new SeededRandom(72));
    expect(stats(w).std / Math.sqrt(2 / 256)).toBeCloseTo(1, 1);
    expect(Math.abs(stats(w).mean)).toBeLessThan(0.02 * Math.sqrt(2 / 256));
    kaimingUniform(w, fans, new SeededRandom(73));
    expect(stats(w).maxAbs).toBeLessThanOrEqual(Math.sqrt(6 / 256));
    expect(stats(w).std / Math.sqrt(2 / 256)).toBeCloseTo(1, 1);
    initWeight(w, 'pytorch', fans, new SeededRandom(74));
    expect(stats(w).maxAbs).toBeLessThanOrEqual(1 / 16);
  });

  it('is reproducible from the seed, and the layers default to Xavier uniform with zero biases', () => {
    const a = new Float32Array(100);
    const b = new Float32Array(100);
    kaimingNormal(a, { fanIn: 10, fanOut: 10 }, new SeededRandom(5));
    kaimingNormal(b, { fanIn: 10, fanOut: 10 }, new SeededRandom(5));
    expect(Array.from(a)).toEqual(Array.from(b));
    const conv = new Conv2d(1, 6, 5);
    const params = new Float32Array(conv.paramCount);
    conv.bind(params, new Float32Array(conv.paramCount));
    conv.init(new SeededRandom(6));
    const w = params.subarray(0, 150);
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (25 + 150)));
    expect(Array.from(params.subarray(150))).toEqual([0, 0, 0, 0, 0, 0]);
    const lin = new Linear(4, 3, { init: 'kaiming-normal', biasInit: 'pytorch' });
    const lp = new Float32Array(lin.paramCount);
    lin.bind(lp, new Float32Array(lin.paramCount));
    lin.init(new SeededRandom(6));
    const bias = lp.subarray(12);
    expect(bias.some((v) => v !== 0)).toBe(true);
    expect(Math.max(...Array.from(bias, Math.abs))).toBeLessThanOrEqual(0.5);
  });
});
