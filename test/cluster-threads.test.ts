/**
 * Devices are not threads: W devices on any number of threads T give bitwise the same outputs,
 * gradients, statistics and message counts, in every mode and with every algorithm; training
 * replicas end with bitwise the same weights; and a fault on a device that shares its thread is
 * still named.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES } from '../src/collectives/algorithms/index.js';
import { Cluster } from '../src/cluster/cluster.js';
import { DeviceCrashError, DeviceHangError, DeviceMissingError } from '../src/cluster/errors.js';
import { gatherBatch } from '../src/data/batches.js';
import { loadSynthetic } from '../src/data/synthetic.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { Trainer, sharedSet } from '../src/train/trainer.js';

function batch(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 12.9898 + seed * 78.233) * ((i % 7) + 1) + (i % 3);
  return { data, shape };
}

/** Everything a step produced, as plain numbers, for a bitwise comparison. */
async function stepRecord(cluster: Cluster, mode: string, algorithm: (typeof ALGORITHM_NAMES)[number]) {
  const x = batch([150, 3, 2, 2], 1);
  const dy = batch([150, 3, 2, 2], 2);
  const f = await cluster.forward(x, { mode, algorithm, weight: [1.5, -0.5, 2], bias: [0.1, 0.2, -0.3] });
  const b = await cluster.backward(dy);
  return {
    output: Array.from(f.output.data),
    devices: f.devices.map((d) => [
      d.local.count,
      ...d.local.mean,
      ...d.local.var,
      d.used.count,
      ...d.used.mean,
      ...d.used.var,
    ]),
    forwardTraffic: f.comm.perRank,
    gradInput: Array.from(b.gradInput.data),
    gradWeight: Array.from(b.gradWeight),
    gradBias: Array.from(b.gradBias),
    backwardTraffic: b.comm.perRank,
    running: cluster.runningStats().map((r) => [...r.mean, ...r.var]),
  };
}

const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
});

describe('W = 64 devices on T threads', () => {
  const W = 64;
  const threadCounts = [1, 2, 7, 64];
  const clusters = new Map<string, Cluster>();
  function cluster(T: number, stats: 'sums' | 'welford'): Cluster {
    const key = `${T}/${stats}`;
    let c = clusters.get(key);
    if (!c) {
      c = Cluster.start({ devices: W, threads: T, stats, timeoutMs: 20_000 });
      open.push(c);
      clusters.set(key, c);
    }
    return c;
  }

  for (const stats of ['sums', 'welford'] as const) {
    it(`every algorithm and mode (${stats}): outputs, gradients, statistics and traffic are bitwise the same for T = ${threadCounts.join(', ')}`, async () => {
      // local and ghost send nothing, so the algorithm cannot matter to them: one is enough.
      const cases = [
        ...ALGORITHM_NAMES.flatMap((algorithm) => ['sync', 'group:8'].map((mode) => [algorithm, mode] as const)),
        ...['local', 'ghost:2'].map((mode) => [ALGORITHM_NAMES[0], mode] as const),
      ];
      for (const [algorithm, mode] of cases) {
        const records = [];
        for (const T of threadCounts) records.push(await stepRecord(cluster(T, stats), mode, algorithm));
        for (let i = 1; i < records.length; i++)
          expect(records[i], `${algorithm} ${mode}, T = ${threadCounts[i]} against T = 1`).toEqual(records[0]);
      }
    }, 240_000);
  }
});

describe('training on T threads', () => {
  it('sync BN for a few steps: the weights and BN statistics are bitwise the same with T = 1 and T = W', async () => {
    const { train } = loadSynthetic({ train: 64, test: 8, seed: 3 });
    const W = 8;
    const results = [];
    for (const threads of [1, W]) {
      const t = new Trainer({
        model: { name: 'lenet-bn', inputShape: [...train.shape], classes: train.classes },
        devices: W,
        threads,
        bn: 'sync',
        optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 },
        maxBatch: 32,
        seed: 7,
      });
      open.push(t);
      const losses = [];
      for (let s = 0; s < 3; s++) {
        gatherBatch(
          train,
          Array.from({ length: 32 }, (_, i) => (s * 32 + i) % train.count),
          t.batchImages,
          t.batchLabels,
        );
        losses.push((await t.step(32)).lossSum);
      }
      results.push({ losses, params: Array.from(t.params(W - 1)), stats: Array.from(t.bnStatistics(W - 1)) });
      await t.close();
    }
    expect(results[1]).toEqual(results[0]);
  }, 120_000);
});

describe('evaluation between steps', () => {
  it('changes nothing in training: every replica ends bitwise as a run without evaluation does', async () => {
    const { train } = loadSynthetic({ train: 64, test: 8, seed: 4 });
    const set = sharedSet(train.images, train.labels, train.count);
    const run = async (evaluateBetween: boolean) => {
      const t = new Trainer({
        model: { name: 'lenet-bn', inputShape: [...train.shape], classes: train.classes },
        devices: 4,
        threads: 2,
        bn: 'sync',
        optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 0 },
        maxBatch: 16,
        seed: 9,
      });
      open.push(t);
      for (let s = 0; s < 4; s++) {
        gatherBatch(
          train,
          Array.from({ length: 16 }, (_, i) => (s * 16 + i) % train.count),
          t.batchImages,
          t.batchLabels,
        );
        await t.step(16);
        if (evaluateBetween) await t.evaluate(set, 'running', { chunk: 16 });
      }
      const replicas = Array.from({ length: 4 }, (_, r) => Array.from(t.params(r)));
      await t.close();
      return replicas;
    };
    const plain = await run(false);
    const evaluated = await run(true);
    for (let r = 1; r < 4; r++) expect(plain[r]).toEqual(plain[0]);
    expect(evaluated).toEqual(plain);
  }, 60_000);
});

describe('faults on a device that shares its thread', () => {
  const x = batch([64, 3], 5);
  for (const [kind, type] of [
    ['crash', DeviceCrashError],
    ['hang', DeviceHangError],
    ['skip', DeviceMissingError],
  ] as const) {
    it(`${kind} on rank 5 of 16 devices on 3 threads names rank 5 and ends within the timeout plus a second`, async () => {
      const cluster = Cluster.start({ devices: 16, threads: 3, timeoutMs: 1500, fault: { kind, rank: 5 } });
      open.push(cluster);
      await cluster.ready();
      const t0 = Date.now();
      const error = await cluster.forward(x, { algorithm: 'ring' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(type);
      expect((error as DeviceCrashError).rank).toBe(5);
      expect(Date.now() - t0).toBeLessThan(1500 + 1000 + 500);
      expect(cluster.closed).toBe(true);
    });
  }
});
