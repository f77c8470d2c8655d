/**
 * Calls on one Cluster (and one Trainer) that overlap are queued in call order, each with its own
 * inputs; a call refused as bad input leaves no trace. Real worker threads throughout.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { batchNorm } from '../src/bn/batch-norm.js';
import { Cluster } from '../src/cluster/cluster.js';
import { gatherBatch } from '../src/data/batches.js';
import { loadSynthetic } from '../src/data/synthetic.js';
import { InputError } from '../src/errors.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { syntheticBatch, syntheticGradient } from '../src/tensor/synthetic.js';
import { Trainer } from '../src/train/trainer.js';
import { relativeError } from './helpers.js';

const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
});

function cluster(devices = 4): Cluster {
  const c = Cluster.start({ devices });
  open.push(c);
  return c;
}

/** A float64 batch in ordinary memory (so the cluster stages it), scaled and shifted. */
function batch(seed: number, scale: number, shift: number, shape = [8, 3]): Tensor {
  const t = syntheticBatch(shape, seed, 'float64');
  return { data: t.data.map((v) => v * scale + shift), shape: t.shape };
}

const TOL = 1e-10;

describe('overlapping calls on one cluster', () => {
  it('Promise.all of two forwards gives BN of each batch, running statistics updated in call order', async () => {
    const c = cluster();
    const a = batch(1, 1, 0);
    const b = batch(2, 3, 10);
    const [ra, rb] = await Promise.all([c.forward(a), c.forward(b)]);
    const refA = batchNorm(a);
    const refB = batchNorm(b, { runningMean: refA.runningMean, runningVar: refA.runningVar });
    expect(relativeError(ra.output.data, refA.output.data)).toBeLessThan(TOL);
    expect(relativeError(rb.output.data, refB.output.data)).toBeLessThan(TOL);
    const running = c.runningStats()[0];
    expect(relativeError(running.mean, refB.runningMean)).toBeLessThan(TOL);
    expect(relativeError(running.var, refB.runningVar)).toBeLessThan(TOL);
  });

  it('each backward pairs with the forward queued before it', async () => {
    const c = cluster();
    const a = batch(3, 1, 0);
    const b = batch(4, 2, -5);
    const dyA = syntheticGradient(a.shape, 5, 'float64');
    const dyB = syntheticGradient(b.shape, 6, 'float64');
    const [, ga, , gb] = await Promise.all([c.forward(a), c.backward(dyA), c.forward(b), c.backward(dyB)]);
    const refA = batchNorm(a, { gradOutput: dyA });
    const refB = batchNorm(b, { gradOutput: dyB, runningMean: refA.runningMean, runningVar: refA.runningVar });
    expect(relativeError(ga.gradInput.data, refA.gradInput!.data)).toBeLessThan(TOL);
    expect(relativeError(ga.gradWeight, refA.gradWeight!)).toBeLessThan(TOL);
    expect(relativeError(gb.gradInput.data, refB.gradInput!.data)).toBeLessThan(TOL);
    expect(relativeError(gb.gradBias, refB.gradBias!)).toBeLessThan(TOL);
  });

  it('reading or setting running statistics while calls are pending is refused; close waits for them', async () => {
    const c = Cluster.start({ devices: 2 });
    const pending = c.forward(batch(7, 1, 0));
    expect(() => c.runningStats()).toThrow(InputError);
    expect(() => c.setRunningStats([0, 0, 0], [1, 1, 1])).toThrow(/still running or queued/);
    const closing = c.close();
    await expect(c.forward(batch(8, 1, 0))).rejects.toThrow(/cluster is closed/);
    await pending; // queued before close(): it runs to the end
    await closing;
    expect(c.closed).toBe(true);
  });
});

describe('overlapping calls on one trainer', () => {
  const { train } = loadSynthetic({ train: 64, test: 16, seed: 3 });
  const size = train.shape.reduce((a, b) => a * b, 1);
  const B = 8;

  function examples(first: number) {
    const images = new Float32Array(B * size);
    const labels = new Int32Array(B);
    gatherBatch(
      train,
      Array.from({ length: B }, (_, i) => first + i),
      images,
      labels,
    );
    return { images, labels };
  }

  function trainer(): Trainer {
    const t = new Trainer({
      model: { name: 'mlp', inputShape: [...train.shape], classes: train.classes },
      devices: 2,
      bn: 'sync',
      optimizer: { lr: 0.3, momentum: 0.9, weightDecay: 0 },
      maxBatch: B,
      seed: 2,
    });
    open.push(t);
    return t;
  }

  it('Promise.all of steps trains on each step’s examples in call order, as awaited steps do', async () => {
    const first = examples(0);
    const second = examples(B);
    const sequential = trainer();
    await sequential.step(B, first);
    await sequential.step(B, second);
    const overlapped = trainer();
    await Promise.all([overlapped.step(B, first), overlapped.step(B, second)]);
    expect(Array.from(overlapped.params(0))).toEqual(Array.from(sequential.params(0)));
    expect(Array.from(overlapped.bnStatistics(1))).toEqual(Array.from(sequential.bnStatistics(1)));
  });
});

describe('a refused forward leaves no trace', () => {
  const nan = (): Tensor => {
    const t = batch(9, 1, 0, [8, 2]);
    t.data[5] = NaN;
    return t;
  };

  it('on a fresh cluster: no channel count locked in, no statistics, no step to go backward from', async () => {
    const c = cluster();
    await expect(c.forward(nan())).rejects.toThrow(InputError);
    await expect(c.forward({ data: [1, 2, 3, 4] as unknown as Float64Array, shape: [2, 2] })).rejects.toThrow(
      InputError,
    );
    await expect(c.forward({ data: new Int32Array(4) as unknown as Float64Array, shape: [2, 2] })).rejects.toThrow(
      InputError,
    );
    expect(c.runningStats()).toEqual([]);
    await expect(c.backward(syntheticGradient([8, 2], 1, 'float64'))).rejects.toThrow(/needs a forward pass first/);
    // Another channel count than the refused calls had is accepted, and starts from 0 and 1.
    const x = batch(10, 1, 0, [8, 3]);
    const result = await c.forward(x);
    const ref = batchNorm(x);
    expect(relativeError(result.output.data, ref.output.data)).toBeLessThan(TOL);
    expect(relativeError(c.runningStats()[3].var, ref.runningVar)).toBeLessThan(TOL);
  });

  it('after a good forward: running statistics, weight and the backward’s forward are the good one’s', async () => {
    const c = cluster();
    const x = batch(11, 2, 1, [8, 2]);
    const dy = syntheticGradient(x.shape, 12, 'float64');
    await c.forward(x, { weight: [1.5, 0.5] });
    const before = c.runningStats();
    await expect(c.forward(nan(), { weight: [9, 9], bias: [4, 4], mode: 'local' })).rejects.toThrow(/contains NaN/);
    expect(c.runningStats()).toEqual(before);
    // A refused backward (NaN in dy) leaves the pair intact too.
    const badDy = syntheticGradient(x.shape, 13, 'float64');
    badDy.data[0] = Infinity;
    await expect(c.backward(badDy)).rejects.toThrow(InputError);
    const g = await c.backward(dy);
    const ref = batchNorm(x, { weight: [1.5, 0.5], gradOutput: dy });
    expect(relativeError(g.gradInput.data, ref.gradInput!.data)).toBeLessThan(TOL);
    expect(relativeError(g.gradWeight, ref.gradWeight!)).toBeLessThan(TOL);
  });
});
