/**
 * The normalization layers of src/nn and the models' choice of normalization: finite-difference
 * gradients on float32 activations (as test/nn-layers.test.ts checks the other layers: h = 1e-2,
 * the rounded step as divisor, 1e-2 relative), agreement with the float64 operators, and the
 * models built with each normalization (today's models unchanged without one).
 */
import { describe, expect, it } from 'vitest';
import { parseMode } from '../src/bn/modes.js';
import { InputError } from '../src/errors.js';
import type { BnContext } from '../src/nn/batch-norm-layer.js';
import { BatchRenormLayer, type RenormContextHolder } from '../src/nn/batch-renorm-layer.js';
import { FrnLayer } from '../src/nn/frn-layer.js';
import { GroupNormLayer } from '../src/nn/group-norm-layer.js';
import { InstanceNormLayer } from '../src/nn/instance-norm-layer.js';
import type { Layer } from '../src/nn/layer.js';
import { LayerNormLayer } from '../src/nn/layer-norm-layer.js';
import { softmaxCrossEntropy } from '../src/nn/loss.js';
import { batchRenorm } from '../src/norm/batch-renorm.js';
import { filterResponseNorm } from '../src/norm/frn.js';
import { groupNorm } from '../src/norm/group-norm.js';
import { layerNorm } from '../src/norm/layer-norm.js';
import { buildModel } from '../src/train/models.js';
import { type ModelNorm, modelNormName, parseModelNorm } from '../src/train/model-norm.js';
import { SeededRandom } from '../src/tensor/random.js';
import { relativeError } from './helpers.js';

const H = 1e-2;
const TOL = 1e-2;

function bnContext(C: number[], momentum = 0): { ctx: BnContext; states: { mean: Float64Array; var: Float64Array }[] } {
  const states = C.map((c) => ({ mean: new Float64Array(c).fill(-10), var: new Float64Array(c).fill(0.01) }));
  return {
    states,
    ctx: {
      settings: {
        mode: parseMode('local', 1),
        stats: 'sums',
        accumulator: 'float64',
        training: true,
        momentum,
        eps: 1e-5,
        convention: 'pytorch',
      },
      running: (i) => states[i],
    },
  };
}

/** Central-difference check of dL/dx and dL/dparams of a layer on float32 activations, L = sum(R * y). */
function gradCheck(
  layer: Layer,
  shape: number[],
  seed: number,
  adjust?: (params: Float32Array) => void,
): { dx: number; dp: number } {
  const rng = new SeededRandom(seed);
  const [batch, ...example] = shape;
  layer.outputShape(example);
  const n = shape.reduce((a, b) => a * b, 1);
  const params = new Float32Array(layer.paramCount);
  const grads = new Float32Array(layer.paramCount);
  layer.bind(params, grads);
  layer.init(rng);
  for (let i = 0; i < params.length; i++) params[i] += 0.3 * (rng.uniform() - 0.5);
  adjust?.(params);
  const x = Float32Array.from({ length: n }, () => 0.5 + 1.5 * rng.normal());
  const R = Float32Array.from({ length: n }, () => rng.normal());
  const loss = () => {
    const y = layer.forward(x, batch, example, true);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * R[i];
    return s;
  };
  loss();
  const dx = Float32Array.from(layer.backward(R));
  const diff = (arr: Float32Array, i: number) => {
    const keep = arr[i];
    arr[i] = keep + H;
    const up = arr[i];
    const fp = loss();
    arr[i] = keep - H;
    const down = arr[i];
    const fm = loss();
    arr[i] = keep;
    return (fp - fm) / (up - down);
  };
  const rel = (a: ArrayLike<number>, num: number[]) => {
    let d = 0;
    let s = 0;
    num.forEach((v, i) => {
      d = Math.max(d, Math.abs(a[i] - v));
      s = Math.max(s, Math.abs(v));
    });
    return d / Math.max(s, 1e-12);
  };
  const numX = Array.from(x, (_, i) => diff(x, i));
  const numP = Array.from(params, (_, i) => diff(params, i));
  return { dx: rel(dx, numX), dp: rel(grads, numP) };
}

describe('normalization layers: gradients match central differences on float32 activations', () => {
  const holder: RenormContextHolder = {};
  // The kinks of the TLU and of |epsL| are checked in float64 (test/norm-kernels.test.ts); a
  // float32 step of 1e-2 would cross them, so here tau sits below every output and epsL at 0.2.
  const lowTau = (C: number) => (p: Float32Array) => {
    p.subarray(2 * C, 3 * C).fill(-5);
    p.subarray(3 * C, 4 * C).fill(0.2);
  };
  const cases: [string, () => Layer, number[], ((p: Float32Array) => void)?][] = [
    ['GroupNorm(2, 4) on feature maps', () => new GroupNormLayer(4, 2), [3, 4, 3, 3]],
    ['GroupNorm(2, 6) on features', () => new GroupNormLayer(6, 2), [4, 6]],
    ['LayerNorm, per channel', () => new LayerNormLayer(4), [3, 4, 3, 2]],
    ['LayerNorm, elementwise', () => new LayerNormLayer(4, [4, 3, 2]), [3, 4, 3, 2]],
    ['InstanceNorm', () => new InstanceNormLayer(3), [2, 3, 3, 3]],
    ['FRN on feature maps', () => new FrnLayer(3), [2, 3, 3, 3], lowTau(3)],
    ['FRN on features (learned eps)', () => new FrnLayer(5), [4, 5], lowTau(5)],
    ['BatchRenorm, r and d clipped', () => new BatchRenormLayer(3, 0, holder), [6, 3, 2, 2]],
  ];
  it.each(cases)('%s', (_name, make, shape, adjust) => {
    holder.current = bnContext([shape[1]]).ctx;
    holder.limits = { rMax: 1.5, dMax: 2 };
    const r = gradCheck(make(), shape, 5, adjust);
    expect(r.dx, 'input gradient').toBeLessThan(TOL);
    expect(r.dp, 'parameter gradient').toBeLessThan(TOL);
  });
});

describe('the layers compute what the operators compute', () => {
  const rng = new SeededRandom(9);
  const x = Float32Array.from({ length: 2 * 4 * 9 }, () => rng.normal() * 2 + 1);
  const bind = (layer: Layer, params: number[]) => {
    const p = Float32Array.from(params);
    layer.bind(p, new Float32Array(p.length));
  };
  it('group norm and layer norm', () => {
    const gn = new GroupNormLayer(4, 2);
    bind(gn, [1, 2, -1, 0.5, 0, 0.1, 0.2, 0.3]);
    const ref = groupNorm(
      { data: Float64Array.from(x), shape: [2, 4, 3, 3] },
      { groups: 2, weight: [1, 2, -1, 0.5], bias: [0, 0.1, 0.2, 0.3] },
    );
    expect(relativeError(gn.forward(x, 2, [4, 3, 3], false), ref.output.data)).toBeLessThan(1e-6);
    const ln = new LayerNormLayer(4);
    bind(ln, [1, 1, 1, 1, 0, 0, 0, 0]);
    const lref = layerNorm({ data: Float64Array.from(x), shape: [2, 4, 3, 3] }, { affine: 'channel' });
    expect(relativeError(ln.forward(x, 2, [4, 3, 3], true), lref.output.data)).toBeLessThan(1e-6);
  });
  it('FRN starts with a fixed eps on feature maps and a learned one on 1x1 inputs', () => {
    const maps = new FrnLayer(4);
    maps.outputShape([4, 3, 3]);
    const p = new Float32Array(16);
    maps.bind(p, new Float32Array(16));
    maps.init(rng);
    expect([...p.subarray(12)]).toEqual([0, 0, 0, 0]);
    const ref = filterResponseNorm({ data: Float64Array.from(x), shape: [2, 4, 3, 3] });
    expect(relativeError(maps.forward(x, 2, [4, 3, 3], false), ref.output.data)).toBeLessThan(1e-6);
    const flat = new FrnLayer(4);
    flat.outputShape([4]);
    const q = new Float32Array(16);
    flat.bind(q, new Float32Array(16));
    flat.init(rng);
    expect([...q.subarray(12)]).toEqual([1, 1, 1, 1]);
  });
  it('batch renorm, and it updates the running statistics of its slot by the paper rule', () => {
    const holder: RenormContextHolder = {};
    const { ctx, states } = bnContext([4], 0.1);
    states[0].mean.fill(0.5);
    states[0].var.fill(2);
    holder.current = ctx;
    holder.limits = { rMax: 1.2, dMax: 0.3 };
    const layer = new BatchRenormLayer(4, 0, holder);
    bind(layer, [1, 1, 1, 1, 0, 0, 0, 0]);
    const ref = batchRenorm(
      { data: Float64Array.from(x), shape: [2, 4, 3, 3] },
      { limits: holder.limits, momentum: 0.1, runningMean: [0.5, 0.5, 0.5, 0.5], runningVar: [2, 2, 2, 2] },
    );
    expect(relativeError(layer.forward(x, 2, [4, 3, 3], true), ref.output.data)).toBeLessThan(1e-6);
    expect(relativeError(states[0].mean, ref.runningMean)).toBeLessThan(1e-12);
    expect(relativeError(states[0].var, ref.runningVar)).toBeLessThan(1e-12);
  });
  it('batch renorm refuses a training step without limits, and ghost mode', () => {
    const holder: RenormContextHolder = { current: bnContext([4]).ctx };
    const layer = new BatchRenormLayer(4, 0, holder);
    bind(layer, [1, 1, 1, 1, 0, 0, 0, 0]);
    expect(() => layer.forward(x, 2, [4, 3, 3], true)).toThrow(/no renormalization limits/);
    expect(layer.forward(x, 2, [4, 3, 3], false)).toHaveLength(72);
    holder.limits = { rMax: 1, dMax: 0 };
    holder.current = { ...holder.current!, settings: { ...holder.current!.settings, mode: parseMode('ghost:1', 1) } };
    expect(() => layer.forward(x, 2, [4, 3, 3], true)).toThrow(/ghost/);
  });
});

describe('the models take a normalization in place of batch norm', () => {
  const lenet = { name: 'lenet-bn' as const, inputShape: [1, 28, 28], classes: 10 };
  const mlp = { name: 'mlp' as const, inputShape: [1, 28, 28], classes: 10 };

  it('parses the names of the command line', () => {
    expect(parseModelNorm('group-norm:2')).toEqual({ kind: 'group-norm', groups: 2 });
    for (const name of ['batch', 'batch-renorm', 'layer-norm', 'instance-norm', 'frn'])
      expect(modelNormName(parseModelNorm(name))).toBe(name);
    expect(() => parseModelNorm('group-norm')).toThrow(/group-norm:G/);
    expect(() => parseModelNorm('group-norm:0')).toThrow(InputError);
    expect(() => parseModelNorm('batchnorm')).toThrow(/unknown norm 'batchnorm'/);
  });

  it("builds today's models without a choice, and the same with batch", () => {
    for (const spec of [lenet, mlp]) {
      const before = buildModel(spec, {});
      const batch = buildModel(spec, {}, { kind: 'batch' });
      expect(batch.model.summary()).toEqual(before.model.summary());
      expect(batch.bnChannels).toEqual(before.bnChannels);
    }
    expect(buildModel(lenet, {}).bnChannels).toEqual([6, 16, 120, 84]);
  });

  const choices: [string, ModelNorm, string, number[]][] = [
    ['group-norm:2', { kind: 'group-norm', groups: 2 }, 'GroupNorm(2, 6)', []],
    ['layer-norm', { kind: 'layer-norm' }, 'LayerNorm(6)', []],
    ['frn', { kind: 'frn' }, 'FRN(6)', []],
    ['batch-renorm', { kind: 'batch-renorm' }, 'BatchRenorm(6)', [6, 16, 120, 84]],
  ];
  it.each(choices)('lenet-bn with %s trains a step', (_name, norm, first, bnChannels) => {
    const holder: RenormContextHolder = {};
    const built = buildModel(lenet, holder, norm);
    expect(built.model.layers[1].name).toBe(first);
    expect(built.bnChannels).toEqual(bnChannels);
    holder.current = bnContext([6, 16, 120, 84], 0.1).ctx;
    holder.limits = { rMax: 2, dMax: 1 };
    const rng = new SeededRandom(3);
    built.model.init(rng);
    const x = Float32Array.from({ length: 4 * 784 }, () => rng.uniform());
    const labels = Int32Array.of(1, 2, 3, 4);
    const logits = built.model.forward(x, 4, true);
    const { loss, grad } = softmaxCrossEntropy(logits, labels, 4, 10);
    expect(Number.isFinite(loss)).toBe(true);
    built.model.zeroGrad();
    built.model.backward(grad);
    expect(built.model.grads.some((g) => g !== 0)).toBe(true);
    expect(built.model.grads.every(Number.isFinite)).toBe(true);
  });

  it('refuses a G that does not divide a layer, and instance norm on fully connected layers', () => {
    expect(() => buildModel(lenet, {}, { kind: 'group-norm', groups: 4 })).toThrow(/G must divide .* a layer of 6/);
    expect(() => buildModel(mlp, {}, { kind: 'instance-norm' })).toThrow(/larger than 1x1/);
    expect(() => buildModel(lenet, {}, { kind: 'group-norm', groups: 0 } as ModelNorm)).toThrow(InputError);
  });
});
