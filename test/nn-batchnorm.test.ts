/** The BN layer of the training experiments: finite-difference gradients in local and ghost mode. */
import { describe, expect, it } from 'vitest';
import { parseMode } from '../src/bn/modes.js';
import { BatchNormLayer, type BnContextHolder } from '../src/nn/batch-norm-layer.js';
import { SeededRandom } from '../src/tensor/random.js';

function setup(mode: string, shape: number[]) {
  const [batch, C] = shape;
  const holder: BnContextHolder = {};
  const running = { mean: new Float64Array(C), var: new Float64Array(C).fill(1) };
  holder.current = {
    settings: {
      mode: parseMode(mode, 1),
      stats: 'sums',
      accumulator: 'float64',
      training: true,
      momentum: 0.1,
      eps: 1e-5,
      convention: 'pytorch',
    },
    running: () => running,
  };
  const layer = new BatchNormLayer(C, 0, holder);
  const params = new Float32Array(2 * C);
  const grads = new Float32Array(2 * C);
  layer.bind(params, grads);
  layer.init(new SeededRandom(1));
  const rng = new SeededRandom(2);
  for (let c = 0; c < C; c++) {
    params[c] = 0.5 + rng.uniform(); // gamma
    params[C + c] = rng.normal(); // beta
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n }, () => 2 * rng.normal() + 1);
  const r = Float32Array.from({ length: n }, () => rng.normal());
  const inputShape = shape.slice(1);
  // L = sum(y * r): its gradient with respect to y is r.
  const loss = (input: Float32Array) => {
    const y = layer.forward(input, batch, inputShape, true);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * r[i];
    return s;
  };
  return { layer, params, grads, x, r, loss, batch, inputShape };
}

describe.each(['local', 'ghost:2'])('BatchNormLayer (%s) gradients match central differences', (mode) => {
  it.each([[[6, 3, 2, 2]], [[6, 4]]])('shape %j', (shape) => {
    const { layer, params, grads, x, r, loss } = setup(mode, shape as number[]);
    loss(x);
    const dx = Float32Array.from(layer.backward(r));
    const h = 1e-2;
    const numeric = (f: () => number, target: Float32Array, i: number) => {
      const keep = target[i];
      target[i] = keep + h;
      const plus = f();
      target[i] = keep - h;
      const minus = f();
      target[i] = keep;
      return (plus - minus) / (2 * h);
    };
    const close = (analytic: number, num: number) =>
      expect(Math.abs(analytic - num)).toBeLessThan(1e-2 * Math.max(1, Math.abs(num)));
    for (const i of [0, 3, 7, x.length - 1])
      close(
        dx[i],
        numeric(() => loss(x), x, i),
      );
    for (let p = 0; p < params.length; p++)
      close(
        grads[p],
        numeric(() => loss(x), params, p),
      );
    // A wrong gradient would fail the same check.
    expect(Math.abs(dx[3] * 1.05 - numeric(() => loss(x), x, 3))).toBeGreaterThan(1e-3 * Math.abs(dx[3]));
  });
});
