/**
 * Data-parallel training with real worker threads: replicas stay bitwise identical, W devices
 * with sync BN follow one device with the whole batch, and the command reports what it promises.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gatherBatch } from '../src/data/batches.js';
import { loadSynthetic } from '../src/data/synthetic.js';
import { DivergedError } from '../src/experiments/train.js';
import { trainExperiment } from '../src/experiments/train.js';
import { type KernelBackend, KERNELS_ENV } from '../src/kernels/backend.js';
import type { ModelName } from '../src/train/protocol.js';
import { type StepResult, Trainer, sharedSet } from '../src/train/trainer.js';
import { CLI, relativeError, runCli, tempDir } from './helpers.js';

const { train, test } = loadSynthetic({ train: 256, test: 128, seed: 5 });
const open: Trainer[] = [];
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
});

function trainer(
  devices: number,
  bn: string,
  model: ModelName = 'lenet-bn',
  batch = 32,
  kernels?: KernelBackend,
): Trainer {
  const t = new Trainer({
    model: { name: model, inputShape: [...train.shape], classes: train.classes },
    devices,
    bn,
    optimizer: { lr: 0.3, momentum: 0.9, weightDecay: 1e-4 },
    maxBatch: batch,
    seed: 11,
    kernels,
  });
  open.push(t);
  return t;
}

/** k steps over the same consecutive batches of the training set; the results of each. */
async function steps(t: Trainer, k: number, batch = 32): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (let s = 0; s < k; s++) {
    const indices = Array.from({ length: batch }, (_, i) => (s * batch + i) % train.count);
    gatherBatch(train, indices, t.batchImages, t.batchLabels);
    results.push(await t.step(batch));
  }
  return results;
}

describe('data-parallel semantics (as PyTorch DDP)', () => {
  it.each(['local', 'sync', 'group:2', 'ghost:2'])(
    'every replica stays bitwise identical (%s BN, 4 devices)',
    async (bn) => {
      const t = trainer(4, bn);
      await steps(t, 3);
      const p0 = t.params(0);
      for (let r = 1; r < 4; r++) expect(Array.from(t.params(r))).toEqual(Array.from(p0));
      // The parameters moved: a test that compared untouched copies would prove nothing.
      const fresh = trainer(4, bn);
      expect(relativeError(p0, fresh.params(0))).toBeGreaterThan(1e-3);
      await Promise.all([t.close(), fresh.close()]);
    },
  );

  it.each<ModelName>(['lenet-bn', 'mlp'])(
    '%s: W = 4 with sync BN reaches the parameters of one device with the whole batch',
    async (model) => {
      const one = trainer(1, 'sync', model);
      const four = trainer(4, 'sync', model);
      await steps(one, 4);
      await steps(four, 4);
      expect(relativeError(four.params(0), one.params(0))).toBeLessThan(1e-5);
      expect(relativeError(four.bnStatistics(2), one.bnStatistics(0))).toBeLessThan(1e-5);
      // Local BN on 4 devices is a different computation: it must not match.
      const local = trainer(4, 'local', model);
      await steps(local, 4);
      expect(relativeError(local.params(0), one.params(0))).toBeGreaterThan(1e-4);
      await Promise.all([one.close(), four.close(), local.close()]);
    },
  );

  it('local BN with W = 1 is single-device training, bit for bit', async () => {
    const sync = trainer(1, 'sync');
    const local = trainer(1, 'local');
    await steps(sync, 3);
    await steps(local, 3);
    expect(Array.from(local.params(0))).toEqual(Array.from(sync.params(0)));
    await Promise.all([sync.close(), local.close()]);
  });

  it('evaluates with running statistics, precise BN and batch statistics', async () => {
    const t = trainer(2, 'local');
    await steps(t, 6);
    const set = sharedSet(test.images, test.labels, test.count);
    const running = await t.evaluate(set, 'running', { chunk: 50 });
    const average = await t.evaluate(set, 'running', { chunk: 50, stats: t.averagedBnStatistics() });
    const precise = await t.preciseStatistics(sharedSet(train.images, train.labels, train.count), 32);
    const withPrecise = await t.evaluate(set, 'running', { chunk: 50, stats: precise });
    const batch = await t.evaluate(set, 'batch', { chunk: 16 });
    for (const r of [running, average, withPrecise, batch]) {
      expect(r.count).toBe(128);
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(1);
    }
    // Local BN: the two replicas' running statistics differ, and their mean is a third set.
    expect(relativeError(t.bnStatistics(0), t.bnStatistics(1))).toBeGreaterThan(1e-6);
    expect(relativeError(precise, t.bnStatistics(0))).toBeGreaterThan(1e-6);
    // Evaluation changes no replica's statistics.
    const before = t.bnStatistics(0);
    await t.evaluate(set, 'batch', { chunk: 16 });
    expect(Array.from(t.bnStatistics(0))).toEqual(Array.from(before));
    await t.close();
  });
});

describe('kernels on the devices', () => {
  it('devices run WebAssembly by default, JavaScript when asked, and both train to the same parameters', async () => {
    const byDefault = trainer(2, 'sync');
    const js = trainer(2, 'sync', 'lenet-bn', 32, 'js');
    expect([byDefault.kernels, js.kernels]).toEqual(['wasm', 'js']);
    const wasmSteps = await steps(byDefault, 3);
    const jsSteps = await steps(js, 3);
    // what the device threads report having run, not what the coordinator asked for
    expect(wasmSteps.map((r) => r.kernels)).toEqual(['wasm', 'wasm', 'wasm']);
    expect(jsSteps.map((r) => r.kernels)).toEqual(['js', 'js', 'js']);
    // float32 against float64 accumulation and a sigmoid within 2 ulp: the runs differ in their
    // last bits (1.5e-7 of the largest parameter after three steps of SGD with momentum; 1e-5
    // leaves room for amplification), while local BN, a different computation, is over 1e-4 away
    // (see above)
    const diff = relativeError(byDefault.params(0), js.params(0));
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(1e-5);
    await Promise.all([byDefault.close(), js.close()]);
  });

  it('SYNCBN_KERNELS selects the kernels when the option does not', async () => {
    const saved = process.env[KERNELS_ENV];
    let t: Trainer;
    try {
      process.env[KERNELS_ENV] = 'js';
      t = trainer(2, 'local', 'mlp');
      expect(t.kernels).toBe('js');
      process.env[KERNELS_ENV] = 'cuda';
      expect(() => trainer(2, 'local', 'mlp')).toThrow(/SYNCBN_KERNELS must be one of wasm, js, got 'cuda'/);
    } finally {
      if (saved === undefined) delete process.env[KERNELS_ENV];
      else process.env[KERNELS_ENV] = saved;
    }
    expect((await steps(t, 1))[0].kernels).toBe('js');
    await t.close();
  });
});

describe('trainExperiment', () => {
  it('learns the synthetic set, and reports every epoch three ways', async () => {
    const r = await trainExperiment({
      model: 'mlp',
      devices: 2,
      batch: 32,
      bn: ['sync'],
      epochs: 3,
      lr: 0.5,
      subset: 600,
    });
    const epochs = r.runs[0].epochs;
    expect(epochs).toHaveLength(3);
    expect(epochs[2].trainLoss).toBeLessThan(epochs[0].trainLoss);
    expect(epochs[2].trainAcc).toBeGreaterThan(0.3);
    for (const e of epochs)
      for (const k of ['testAcc', 'testAccPrecise', 'testAccBatch'] as const) expect(e[k]).toBeGreaterThan(0);
  });

  it("reports the BN settings it trained with, not only the optimizer's", async () => {
    const r = await trainExperiment({ model: 'mlp', devices: 2, batch: 32, bn: ['sync'], epochs: 1, subset: 64 });
    expect(r.settings).toMatchObject({ momentum: 0, bnMomentum: 0.1, bnEps: 1e-5, stats: 'sums' });
  });

  it('a run whose loss turns NaN stops with DivergedError naming the run, epoch and step', async () => {
    const run = trainExperiment({
      model: 'mlp',
      devices: 2,
      batch: 16,
      bn: ['sync'],
      epochs: 2,
      lr: 1e30,
      subset: 100,
    });
    await expect(run).rejects.toThrow(DivergedError);
    await expect(run).rejects.toThrow(/^diverged: loss NaN in run sync W=2 b=8 lr=1e\+30 at epoch 1, step \d+;/);
    const error = (await run.catch((e) => e)) as DivergedError;
    expect(error.code).toBe('E_DIVERGED');
    expect(error.epoch).toBe(1);
    expect(error.step).toBeGreaterThan(1);
  });

  it('drops a final batch too small to give every device two examples, and says so', async () => {
    // 600 = 9 x 64 + 24 over 8 devices: 24 >= 16 is kept. 600 = 6 x 98 + 12: 12 < 16 is dropped.
    const kept = await trainExperiment({ model: 'mlp', devices: 8, batch: 64, bn: ['local'], epochs: 1, subset: 600 });
    expect(kept.runs[0].droppedPerEpoch).toBe(0);
    expect(kept.runs[0].stepsPerEpoch).toBe(10);
    const small = await trainExperiment({ model: 'mlp', devices: 8, batch: 98, bn: ['local'], epochs: 1, subset: 600 });
    expect(small.runs[0].stepsPerEpoch).toBe(6);
    expect(small.runs[0].droppedPerEpoch).toBe(12);
  });
});

describe('syncbn-sim train', () => {
  it('--json prints runs with per-epoch train loss and the three test accuracies; a grid scales the learning rate', () => {
    const dir = tempDir();
    const r = runCli([
      'train',
      '--model',
      'mlp',
      '--devices',
      '2',
      '--per-device-batch',
      '8,16',
      '--bn',
      'local,sync',
      '--epochs',
      '1',
      '--subset',
      '300',
      '--lr',
      '0.5',
      '--lr-scaling',
      'linear',
      '--json',
      '--plot',
      join(dir, 'curves.svg'),
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(
      report.runs.map((run: { bn: string; per_device_batch: number }) => `${run.bn}/${run.per_device_batch}`),
    ).toEqual(['local/8', 'sync/8', 'local/16', 'sync/16']);
    expect(report.runs[0].lr).toBeCloseTo((0.5 * 16) / 256, 12);
    const e = report.runs[0].epochs[0];
    for (const k of ['epoch', 'train_loss', 'train_acc', 'test_acc', 'test_acc_precise', 'test_acc_batch'])
      expect(typeof e[k]).toBe('number');
    // The documented keys, in order (the report is camelCase inside, mapped at the JSON boundary).
    expect(Object.keys(report)).toEqual(['model', 'dataset', 'settings', 'runs', 'rows']);
    expect(Object.keys(report.settings)).toEqual([
      'epochs',
      'momentum',
      'weight_decay',
      'seed',
      'eval_stats',
      'precise_batches',
      'lr_scaling',
      'bn_momentum',
      'bn_eps',
      'stats',
    ]);
    expect(Object.keys(report.runs[0])).toEqual([
      'norm',
      'bn',
      'devices',
      'per_device_batch',
      'global_batch',
      'lr',
      'epochs',
      'dropped_per_epoch',
      'steps_per_epoch',
      'examples_per_second',
    ]);
    expect(Object.keys(e)).toEqual([
      'epoch',
      'train_loss',
      'train_acc',
      'test_acc',
      'test_acc_precise',
      'test_acc_batch',
      'seconds',
    ]);
    expect(report.rows).toHaveLength(4);
    expect(Object.keys(report.rows[0])).toEqual([
      'norm',
      'bn',
      'devices',
      'per_device_batch',
      'global_batch',
      'lr',
      'epoch',
      'train_loss',
      'train_acc',
      'test_acc',
      'test_acc_precise',
      'test_acc_batch',
      'seconds',
    ]);
  });

  it.each([
    [['--model', 'resnet'], /resnet/],
    [
      ['--dataset', 'fashion-mnist', '--data-dir', '/nonexistent'],
      /dataset-fashion-mnist.*--data-dir|--data-dir.*dataset-fashion-mnist/,
    ],
    [['--batch', '64', '--per-device-batch', '4'], /not both/],
    [['--devices', '8', '--batch', '8'], /two examples/],
    [['--bn', 'group:3', '--devices', '4'], /must divide/],
    [['--per-device-batch', ''], /empty/],
    [['--lr', '0'], /--lr must be a number > 0, got '0'/],
  ])('bad input %j: one line, exit 2', (args, message) => {
    const r = runCli(['train', '--epochs', '1', '--subset', '100', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('syncbn-sim train, diverging', () => {
  it('--lr 1e300: exit 1, one line naming run, epoch and step, nothing written', () => {
    const plot = join(tempDir(), 'never.svg');
    const r = runCli([
      'train',
      '--model',
      'mlp',
      '--subset',
      '100',
      '--devices',
      '2',
      '--batch',
      '16',
      '--epochs',
      '2',
      '--bn',
      'sync',
      '--lr',
      '1e300',
      '--json',
      '--plot',
      plot,
    ]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^syncbn-sim: diverged: weights infinity \(parameter \d+ of \d+\) in run sync W=2 b=8 lr=1e\+300 at epoch 1, step 1; nothing was written/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(plot)).toBe(false);
  });
});

describe('syncbn-sim train, interrupted', () => {
  it('Ctrl-C stops training cleanly: exit 130, device threads ended, no plot written', async () => {
    const plot = join(tempDir(), 'never.svg');
    const child = spawn(
      process.execPath,
      [CLI, 'train', '--model', 'mlp', '--epochs', '1000', '--devices', '2', '--batch', '16', '--plot', plot],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((r) => setTimeout(r, 2000));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(existsSync(plot)).toBe(false);
  });
});
