/**
 * The JSON of the benchmarks (`syncbn-sim bench --json`, `npm run bench -- --json`, bench_ab.js) keeps exactly
 * the keys, in the order, it has always printed, while the reports are typed in camelCase. Reports
 * are made up here (every optional figure present, then absent), so no benchmark runs; the real
 * `bench --json` is checked against the same keys in test/bench-command.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterBenchReport } from '../src/experiments/bench.js';
import type { KernelBenchReport } from '../src/experiments/kernel-bench.js';
import type { TrainBenchReport } from '../src/experiments/train-bench.js';
import { benchAbJson } from '../src/report/json/bench-ab-json.js';
import { clusterBenchJson } from '../src/report/json/bench-json.js';
import { benchRunJson } from '../src/report/json/bench-run-json.js';
import { kernelBenchJson } from '../src/report/json/kernel-bench-json.js';
import { trainBenchJson } from '../src/report/json/train-bench-json.js';
import { CLUSTER_BENCH_KEYS, KERNEL_BENCH_KEYS, TRAIN_BENCH_KEYS, keyPaths } from './json-keys.js';

const ratio = { median: 1.5, min: 1.2, max: 1.9 };

function clusterReport(pytorch: boolean): ClusterBenchReport {
  return {
    shape: [16, 4, 2, 2],
    dtype: 'float32',
    devices: 2,
    algorithm: 'allgather',
    cpus: 2,
    reps: { steps: 2, allreduce: 5, start: 1 },
    probeMs: 0.1,
    probeGbPerS: 2,
    syncStepMs: 3,
    localStepMs: 2,
    singleStepMs: 4,
    singleKernelsStepMs: 1,
    syncOverLocal: 1.5,
    syncOverSingle: 0.75,
    syncOverSingleKernels: 3,
    allreduceValues: 9,
    allreduceUs: 12,
    allreduce: [{ algorithm: 'allgather', medianUs: 12, p10Us: 10, p90Us: 15, samples: 5 }],
    startStop: { devices: 4, startReadyCloseMs: 30, startFirstStepCloseMs: 40, reps: 1 },
    ...(pytorch
      ? { pytorch: { forwardMs: 1, forwardBackwardMs: 2, threads: 2 }, syncOverPytorch: 1.5 }
      : { pytorchNote: 'not run (disabled)' }),
    goals: [{ name: 'sync step / local step', figure: 1.5, goal: 1.1, unit: 'x', met: false }],
  };
}

function kernelReport(pytorch: boolean): KernelBenchReport {
  return {
    shape: [4, 3, 4, 4],
    dtype: 'float32',
    rounds: 2,
    reps: 1,
    probe: { what: 'streaming read of x in a JS loop', ms: 0.01, gbPerS: 3 },
    staging: { ms: 0.02, gbPerS: 1.5, ratioToProbe: 0.5 },
    passes: [
      {
        pass: 'forward: statistics (read x)',
        bytes: 768,
        wasmMs: 0.01,
        jsMs: 0.02,
        wasmGbPerS: 0.08,
        jsGbPerS: 0.04,
        wasmRatioToProbe: 0.03,
        jsRatioToProbe: 0.01,
      },
    ],
    steps: [
      {
        step: 'forward',
        wasmMs: 0.1,
        jsMs: 0.2,
        jsOverWasm: ratio,
        ...(pytorch ? { pytorchMs: 0.3, wasmOverPytorch: ratio, jsOverPytorch: ratio } : {}),
      },
    ],
    ...(pytorch ? { pytorch: { threads: 1, version: '1.13' } } : { pytorchNote: 'not run (switched off)' }),
    goal: { name: 'BN forward+backward', goal: 1, ...(pytorch ? { figure: 0.8, met: true } : {}) },
  };
}

function trainReport(pytorch: boolean): TrainBenchReport {
  return {
    data: 'synthetic',
    devices: 8,
    batch: 16,
    bn: 'sync',
    steps: 2,
    examplesPerSecond: 100,
    secondsPer60kEpoch: 600,
    ...(pytorch
      ? { pytorch: { examplesPerSecond: 200, threads: 2, batch: 16, secondsPer60kEpoch: 300 }, ratioToPytorch: 2 }
      : { pytorchNote: 'not run (--no-torch)' }),
  };
}

describe('the JSON of the benchmarks', () => {
  it.each([true, false])('bench --json keeps its keys and their order (PyTorch ran: %s)', (pytorch) => {
    const json = clusterBenchJson(clusterReport(pytorch));
    expect(keyPaths(json)).toEqual(CLUSTER_BENCH_KEYS(pytorch));
    expect(json.allreduce[0]).toEqual({ algorithm: 'allgather', median_us: 12, p10_us: 10, p90_us: 15, samples: 5 });
    expect(json.start_stop).toEqual({ devices: 4, start_ready_close_ms: 30, start_first_step_close_ms: 40, reps: 1 });
    expect(json.sync_step_ms).toBe(3);
    if (pytorch) expect(json.pytorch).toEqual({ forward_ms: 1, forward_backward_ms: 2, threads: 2 });
  });

  it.each([true, false])('the kernel benchmark keeps its keys and their order (PyTorch ran: %s)', (pytorch) => {
    const json = kernelBenchJson(kernelReport(pytorch));
    expect(keyPaths(json)).toEqual(KERNEL_BENCH_KEYS(pytorch));
    expect(json.passes[0].wasm_gb_per_s).toBe(0.08);
    expect(json.staging).toEqual({ ms: 0.02, gb_per_s: 1.5, ratio_to_probe: 0.5 });
  });

  it.each([true, false])('the training benchmark keeps its keys and their order (PyTorch ran: %s)', (pytorch) => {
    const json = trainBenchJson(trainReport(pytorch));
    expect(keyPaths(json)).toEqual(TRAIN_BENCH_KEYS(pytorch));
    expect(json.seconds_per_60k_epoch).toBe(600);
    if (pytorch)
      expect(json.pytorch).toEqual({ examples_per_second: 200, threads: 2, batch: 16, seconds_per_60k_epoch: 300 });
  });

  it.each([true, false])(
    'npm run bench -- --json nests them under the keys it always had (scaling ran: %s)',
    (scaled) => {
      const json = benchRunJson({
        kernels: kernelReport(true),
        cluster: clusterReport(false),
        devicesAndThreads: {
          allreduce: [{ threads: 1, algorithm: 'ring', medianUs: 5, p10Us: 4, p90Us: 6 }],
          ...(scaled
            ? {
                scaling: [{ devices: 8, seconds: 1, maxRssMb: 50 }],
                growth: [{ from: 8, to: 64, timeExponent: 1, memoryExponent: 0.5 }],
              }
            : { scaling: { reason: 'dist/scripts/compare-footprint.js not built' } }),
        },
        trainingSmall: trainReport(true),
        training: trainReport(false),
        goals: [{ name: 'compare --devices 1024', figure: '12 s', goal: '<= 30 s', met: 'met' }],
      });
      const prefixed = (prefix: string, keys: string[]) => [
        prefix,
        ...keys.map((k) => `${prefix}${k.startsWith('[') ? '' : '.'}${k}`),
      ];
      expect(keyPaths(json)).toEqual([
        ...prefixed('kernels', KERNEL_BENCH_KEYS(true)),
        ...prefixed('cluster', CLUSTER_BENCH_KEYS(false)),
        'devices_and_threads',
        'devices_and_threads.allreduce',
        ...['threads', 'algorithm', 'median_us', 'p10_us', 'p90_us'].map((k) => `devices_and_threads.allreduce[].${k}`),
        'devices_and_threads.scaling',
        ...(scaled
          ? [
              ...['devices', 'seconds', 'max_rss_mb'].map((k) => `devices_and_threads.scaling[].${k}`),
              'devices_and_threads.growth',
              ...['from', 'to', 'time_exponent', 'memory_exponent'].map((k) => `devices_and_threads.growth[].${k}`),
            ]
          : ['devices_and_threads.scaling.reason']),
        ...prefixed('training_small', TRAIN_BENCH_KEYS(true)),
        ...prefixed('training', TRAIN_BENCH_KEYS(false)),
        'goals',
        'goals[].name',
        'goals[].figure',
        'goals[].goal',
        'goals[].met',
      ]);
    },
  );

  it('bench_ab.js --json keeps its keys and their order', () => {
    const json = benchAbJson({
      a: 'A /tmp/old/dist',
      b: 'B dist',
      rounds: 21,
      trainRounds: 4,
      gemm: [
        {
          product: 'square 256',
          op: 'NN 256x256x256',
          aGflops: 10,
          bGflops: 11,
          bSpeedup: 1.1,
          bSpeedupBest: 1.05,
          bitwiseSame: true,
        },
      ],
      lenet: { aMs: 5, bMs: 4, bSpeedup: 1.25, bSpeedupBest: 1.2, lossBitwiseSame: true },
      training: { aExamplesPerS: 1000, bExamplesPerS: 1100, bSpeedup: 1.1, bSpeedupBest: 1.1 },
    });
    expect(keyPaths(json)).toEqual([
      'a',
      'b',
      'rounds',
      'train_rounds',
      'gemm',
      ...['product', 'op', 'a_gflops', 'b_gflops', 'b_speedup', 'b_speedup_best', 'bitwise_same'].map(
        (k) => `gemm[].${k}`,
      ),
      'lenet',
      ...['a_ms', 'b_ms', 'b_speedup', 'b_speedup_best', 'loss_bitwise_same'].map((k) => `lenet.${k}`),
      'training',
      ...['a_examples_per_s', 'b_examples_per_s', 'b_speedup', 'b_speedup_best'].map((k) => `training.${k}`),
    ]);
  });
});
