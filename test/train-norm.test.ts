/**
 * Training with another normalization at the BN positions (train --norm): a normalization that
 * never looks across examples gives the same weights whatever the BN mode, Batch Renorm follows
 * the BN mode and its warm-up, and the command names the normalization of every run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { gatherBatch } from '../src/data/batches.js';
import { loadSynthetic } from '../src/data/synthetic.js';
import type { RenormSchedule } from '../src/norm/batch-renorm.js';
import type { ModelNorm } from '../src/train/model-norm.js';
import type { ModelName } from '../src/train/protocol.js';
import { Trainer } from '../src/train/trainer.js';
import { normName, parseRenormSchedule } from '../src/cli/parse.js';
import { relativeError, runCli } from './helpers.js';

const { train } = loadSynthetic({ train: 64, test: 16, seed: 5 });
const open: Trainer[] = [];
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
});

function trainer(
  devices: number,
  bn: string,
  norm: ModelNorm,
  options: { model?: ModelName; renormSchedule?: RenormSchedule } = {},
): Trainer {
  const t = new Trainer({
    model: { name: options.model ?? 'lenet-bn', inputShape: [...train.shape], classes: train.classes },
    devices,
    bn,
    norm,
    renormSchedule: options.renormSchedule,
    optimizer: { lr: 0.3, momentum: 0.9, weightDecay: 1e-4 },
    maxBatch: 16,
    seed: 11,
  });
  open.push(t);
  return t;
}

async function steps(t: Trainer, k: number): Promise<void> {
  for (let s = 0; s < k; s++) {
    const indices = Array.from({ length: 16 }, (_, i) => (s * 16 + i) % train.count);
    gatherBatch(train, indices, t.batchImages, t.batchLabels);
    await t.step(16);
  }
}

describe('train with a normalization that does not use the batch', () => {
  it('group-norm:2 on 4 devices: bitwise the same weights in every BN mode, and those of one device to float32 rounding', async () => {
    const norm: ModelNorm = { kind: 'group-norm', groups: 2 };
    const one = trainer(1, 'sync', norm);
    const fresh = one.params(0);
    await steps(one, 1);
    const reference = one.params(0);
    expect(relativeError(reference, fresh)).toBeGreaterThan(1e-3); // the weights moved
    let first: number[] | undefined;
    for (const bn of ['local', 'sync', 'ghost:2']) {
      const t = trainer(4, bn, norm);
      await steps(t, 1);
      const p = Array.from(t.params(0));
      for (let r = 1; r < 4; r++) expect(Array.from(t.params(r))).toEqual(p);
      // Not one message of BN statistics: the mode has nothing to synchronize.
      first ??= p;
      expect(p).toEqual(first);
      // Against one device the only difference is the order DDP sums the gradients in.
      expect(relativeError(p, reference)).toBeLessThan(1e-5);
      await t.close();
    }
    // With batch norm, the modes differ: the test above could fail.
    const local = trainer(4, 'local', { kind: 'batch' });
    const sync = trainer(4, 'sync', { kind: 'batch' });
    await steps(local, 1);
    await steps(sync, 1);
    expect(relativeError(local.params(0), sync.params(0))).toBeGreaterThan(1e-4);
    await Promise.all([one.close(), local.close(), sync.close()]);
  });

  it('layer-norm and frn train the mlp; the model has no running statistics', async () => {
    for (const norm of [{ kind: 'layer-norm' }, { kind: 'frn' }] as ModelNorm[]) {
      const t = trainer(2, 'sync', norm, { model: 'mlp' });
      expect(t.bnLayout.stride).toBe(0);
      const before = t.params(0);
      await steps(t, 1);
      expect(relativeError(t.params(0), before)).toBeGreaterThan(1e-4);
      await t.close();
    }
  });

  it('refuses what does not fit the model: instance norm on fully connected layers, G that does not divide, renorm in ghost mode', () => {
    expect(() => trainer(2, 'sync', { kind: 'instance-norm' })).toThrow(/instance/i);
    expect(() => trainer(2, 'sync', { kind: 'group-norm', groups: 4 })).toThrow(/must divide/);
    expect(() => trainer(2, 'ghost:2', { kind: 'batch-renorm' })).toThrow(/ghost/);
  });
});

describe('train with Batch Renormalization', () => {
  it('during the warm-up (r_max 1, d_max 0) it trains as batch norm; relaxed limits change it; sync over 4 devices is one device', async () => {
    const mlp = { model: 'mlp' as const };
    const bn = trainer(4, 'sync', { kind: 'batch' }, mlp);
    const warm = trainer(4, 'sync', { kind: 'batch-renorm' }, mlp);
    // Relaxed from the first step: r_max 3 and d_max 5 at step 1.
    const relaxed: RenormSchedule = { warmupSteps: 0, rMax: 3, rMaxSteps: 1, dMax: 5, dMaxSteps: 1 };
    const loose = trainer(4, 'sync', { kind: 'batch-renorm' }, { ...mlp, renormSchedule: relaxed });
    const looseOne = trainer(1, 'sync', { kind: 'batch-renorm' }, { ...mlp, renormSchedule: relaxed });
    for (const t of [bn, warm, loose, looseOne]) await steps(t, 2);
    expect(relativeError(warm.params(0), bn.params(0))).toBeLessThan(1e-5);
    expect(relativeError(loose.params(0), bn.params(0))).toBeGreaterThan(1e-4);
    expect(relativeError(loose.params(0), looseOne.params(0))).toBeLessThan(1e-5);
    for (let r = 1; r < 4; r++) expect(Array.from(loose.bnStatistics(r))).toEqual(Array.from(loose.bnStatistics(0)));
    await Promise.all([bn, warm, loose, looseOne].map((t) => t.close()));
  });
});

describe('syncbn-sim train --norm', () => {
  it('runs batch norm in each BN mode and a batch-independent norm once, naming the norm in the JSON', () => {
    const r = runCli([
      'train',
      '--model',
      'mlp',
      '--devices',
      '2',
      '--batch',
      '16',
      '--bn',
      'local,sync',
      '--norm',
      'batch,layer-norm',
      '--epochs',
      '1',
      '--subset',
      '32',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.runs.map((run: { norm: string; bn: string }) => `${run.norm}/${run.bn}`)).toEqual([
      'batch/local',
      'batch/sync',
      'layer-norm/none',
    ]);
    const e = report.runs[2].epochs[0];
    expect(e.testAccPrecise).toBe(e.testAcc);
  });

  it.each([
    [['--norm', 'group-norm:4'], /must divide/],
    [['--norm', 'batch-renorm', '--bn', 'ghost:2'], /ghost/],
  ])('bad input %j: one line, exit 2', (args, message) => {
    const r = runCli(['train', '--epochs', '1', '--subset', '64', '--batch', '16', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('--norm and --renorm-schedule refuse malformed values as InputError naming the flag', () => {
    expect(normName('--norm')('group-norm:2')).toBe('group-norm:2');
    expect(() => normName('--norm')('group-norm')).toThrow(/--norm: norm group-norm needs its number of groups/);
    expect(() => normName('--norm')('batchnorm')).toThrow(/--norm: unknown norm 'batchnorm'/);
    expect(() => normName('--norm', ['group-norm'])('frn')).toThrow(/--norm: frn is not available here/);
    expect(parseRenormSchedule('10,20,30')).toEqual({
      warmupSteps: 10,
      rMax: 3,
      rMaxSteps: 20,
      dMax: 5,
      dMaxSteps: 30,
    });
    expect(() => parseRenormSchedule('10,5,20')).toThrow(
      /--renorm-schedule: R_STEPS and D_STEPS must not come before WARMUP/,
    );
    expect(() => parseRenormSchedule('1,2')).toThrow(/--renorm-schedule must be WARMUP,R_STEPS,D_STEPS/);
  });
});
