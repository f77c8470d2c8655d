/**
 * Training speed: examples per second of data-parallel BN-LeNet steps (forward, backward, BN
 * all-reduces, gradient all-reduce, SGD) at a global batch over W devices, and what that means for
 * an epoch of 60,000 images; PyTorch's CPU build on the same network and batch beside it.
 * A benchmark prints figures; nothing here is asserted in tests. The report is typed in camelCase;
 * src/report/json/train-bench-json.ts maps it to the JSON `npm run bench -- --json` prints.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { gatherBatch } from '../data/batches.js';
import type { Dataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { loadSynthetic } from '../data/synthetic.js';
import { Trainer } from '../train/trainer.js';
import { TORCH_PYTHON, packageRoot } from './torch-python.js';

/** Training speed, ours and PyTorch's on the same network and batch. */
export interface TrainBenchReport {
  /** Fashion-MNIST when installed, else the synthetic set of the same shape. */
  readonly data: 'fashion-mnist' | 'synthetic';
  /** W. */
  readonly devices: number;
  /** The global batch. */
  readonly batch: number;
  /** The BN mode. */
  readonly bn: string;
  /** Steps timed. */
  readonly steps: number;
  /** Training examples per second. */
  readonly examplesPerSecond: number;
  /** What an epoch of 60,000 images takes at that speed (`seconds_per_60k_epoch` in the JSON). */
  readonly secondsPer60kEpoch: number;
  /** PyTorch's CPU build on the same network and batch, when it ran. */
  readonly pytorch?: TorchLenetFigures;
  /** Why PyTorch did not run (absent when it did). */
  readonly pytorchNote?: string;
  /** Ours against the goal of at most twice PyTorch's epoch time. */
  readonly ratioToPytorch?: number;
}

/** PyTorch's CPU build training the same network (scripts/bench_torch_lenet.py, read into camelCase). */
export interface TorchLenetFigures {
  /** Training examples per second. */
  readonly examplesPerSecond: number;
  /** PyTorch's intra-op threads. */
  readonly threads: number;
  /** The global batch it trained at. */
  readonly batch: number;
  /** What an epoch of 60,000 images takes at that speed. */
  readonly secondsPer60kEpoch: number;
}

/**
 * Times data-parallel BN-LeNet steps on W devices and PyTorch's on one process at the same global
 * batch (at as many intra-op threads as this machine has cores, the fair peer of our T threads).
 * @param options - devices (8), global batch (256), timed steps (40), BN mode ('sync'), device
 *   threads (min(W, cores)), and whether to run the PyTorch peer (true)
 * @returns examples per second of both, and ours over PyTorch's epoch time
 */
export async function benchmarkTraining(
  options: { devices?: number; batch?: number; steps?: number; bn?: string; threads?: number; torch?: boolean } = {},
): Promise<TrainBenchReport> {
  const devices = options.devices ?? 8;
  const batch = options.batch ?? 256;
  const steps = options.steps ?? 40;
  const bn = options.bn ?? 'sync';
  let data: TrainBenchReport['data'] = 'fashion-mnist';
  let train: Dataset;
  try {
    train = loadFashionMnist().train;
  } catch {
    data = 'synthetic';
    train = loadSynthetic({ train: batch * 8 }).train;
  }
  const trainer = new Trainer({
    model: { name: 'lenet-bn', inputShape: [...train.shape], classes: train.classes },
    devices,
    threads: options.threads,
    bn,
    optimizer: { lr: 1, momentum: 0, weightDecay: 0 },
    maxBatch: batch,
    seed: 0,
  });
  let seconds = 0;
  try {
    const warmup = 5;
    for (let s = 0; s < warmup + steps; s++) {
      const indices = Array.from({ length: batch }, (_, i) => (s * batch + i) % train.count);
      gatherBatch(train, indices, trainer.batchImages, trainer.batchLabels);
      const t0 = performance.now();
      await trainer.step(batch);
      if (s >= warmup) seconds += (performance.now() - t0) / 1000;
    }
  } finally {
    await trainer.close();
  }
  const examplesPerSecond = (steps * batch) / seconds;
  const report: TrainBenchReport = {
    data,
    devices,
    batch,
    bn,
    steps,
    examplesPerSecond,
    secondsPer60kEpoch: 60_000 / examplesPerSecond,
  };
  if (options.torch === false) return { ...report, pytorchNote: 'not run (--no-torch)' };
  const peer = torchLenet(steps, batch, availableParallelism());
  if ('reason' in peer) return { ...report, pytorchNote: `not run (${peer.reason})` };
  const torch: TorchLenetFigures = { ...peer, secondsPer60kEpoch: 60_000 / peer.examplesPerSecond };
  return { ...report, pytorch: torch, ratioToPytorch: report.secondsPer60kEpoch / torch.secondsPer60kEpoch };
}

/** Runs scripts/bench_torch_lenet.py; its snake_case JSON is read into camelCase here, at the parse. */
function torchLenet(
  steps: number,
  batch: number,
  threads: number,
): Omit<TorchLenetFigures, 'secondsPer60kEpoch'> | { reason: string } {
  const root = packageRoot();
  const script = root ? join(root, 'scripts', 'bench_torch_lenet.py') : undefined;
  if (!script || !existsSync(script)) return { reason: 'scripts/bench_torch_lenet.py not found' };
  if (!existsSync(TORCH_PYTHON)) return { reason: `${TORCH_PYTHON} not found` };
  const r = spawnSync(TORCH_PYTHON, [script, String(steps), String(batch), String(threads)], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) return { reason: (r.stderr || 'python failed').trim().split('\n').pop() ?? 'python failed' };
  try {
    const parsed = JSON.parse(r.stdout) as { examples_per_second: number; threads: number; batch: number };
    return { examplesPerSecond: parsed.examples_per_second, threads: parsed.threads, batch: parsed.batch };
  } catch {
    return { reason: 'unexpected output from bench_torch_lenet.py' };
  }
}
