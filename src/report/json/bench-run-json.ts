/**
 * The JSON `npm run bench -- --json` prints (scripts/bench.ts): every benchmark of the run, each
 * mapped by its own module; the figures of devices and threads (src/experiments/devices-bench.ts)
 * are mapped here, in snake_case like every other key.
 */
import type { ClusterBenchReport } from '../../experiments/bench.js';
import type { AllReduceOnThreads, CompareFootprint, growthExponents } from '../../experiments/devices-bench.js';
import type { KernelBenchReport } from '../../experiments/kernel-bench.js';
import type { TrainBenchReport } from '../../experiments/train-bench.js';
import { type ClusterBenchJson, clusterBenchJson } from './bench-json.js';
import { type KernelBenchJson, kernelBenchJson } from './kernel-bench-json.js';
import { type TrainBenchJson, trainBenchJson } from './train-bench-json.js';
import type { SnakeCased } from './snake-case.js';

/** How the compare job's cost grows from one W to the next (an entry of {@link growthExponents}). */
export type GrowthStep = ReturnType<typeof growthExponents>[number];

/** One goal of devices and threads as the run prints it: every field is text. */
export interface BenchRunGoal {
  /** What is measured. */
  readonly name: string;
  /** The figure with its unit, or 'not measured'. */
  readonly figure: string;
  /** The bound, '<= 20 us' or '>= 1 x'. */
  readonly goal: string;
  /** 'met', 'NOT met' or '-' when not measured. */
  readonly met: string;
}

/** Every benchmark of one `npm run bench`, as the script holds them. */
export interface BenchRun {
  /** The BN kernels on both backends and PyTorch's. */
  readonly kernels: KernelBenchReport;
  /** The cluster benchmark. */
  readonly cluster: ClusterBenchReport;
  /** The all-reduce on each thread count, and compare at each W (or why it did not run). */
  readonly devicesAndThreads: {
    /** One row per (threads, algorithm). */
    readonly allreduce: readonly AllReduceOnThreads[];
    /** One row per W, or why the runs could not be made. */
    readonly scaling: readonly CompareFootprint[] | { readonly reason: string };
    /** The growth from one W to the next; absent when scaling did not run. */
    readonly growth?: readonly GrowthStep[];
  };
  /** Training at per-device batch 2. */
  readonly trainingSmall: TrainBenchReport;
  /** Training at global batch 256. */
  readonly training: TrainBenchReport;
  /** The goals of devices and threads. */
  readonly goals: readonly BenchRunGoal[];
}

/** The JSON of one `npm run bench`. */
export interface BenchRunJson {
  /** {@link kernelBenchJson} of the kernels. */
  readonly kernels: KernelBenchJson;
  /** {@link clusterBenchJson} of the cluster benchmark. */
  readonly cluster: ClusterBenchJson;
  /** The devices and threads figures, in their camelCase keys. */
  readonly devices_and_threads: {
    /** One row per (threads, algorithm). */
    readonly allreduce: SnakeCased<AllReduceOnThreads>[];
    /** One row per W, or why the runs could not be made. */
    readonly scaling: SnakeCased<CompareFootprint>[] | { readonly reason: string };
    /** The growth from one W to the next; absent when scaling did not run. */
    readonly growth?: SnakeCased<GrowthStep>[];
  };
  /** {@link trainBenchJson} of training at per-device batch 2. */
  readonly training_small: TrainBenchJson;
  /** {@link trainBenchJson} of training at global batch 256. */
  readonly training: TrainBenchJson;
  /** The goals of devices and threads. */
  readonly goals: BenchRunGoal[];
}

/**
 * Maps one `npm run bench` to its JSON, keys in the order it has always printed them.
 * @param run - every benchmark of the run.
 * @returns the JSON document (plain data, ready for JSON.stringify).
 */
export function benchRunJson(run: BenchRun): BenchRunJson {
  const d = run.devicesAndThreads;
  return {
    kernels: kernelBenchJson(run.kernels),
    cluster: clusterBenchJson(run.cluster),
    devices_and_threads: {
      allreduce: d.allreduce.map((r) => ({
        threads: r.threads,
        algorithm: r.algorithm,
        median_us: r.medianUs,
        p10_us: r.p10Us,
        p90_us: r.p90Us,
      })),
      scaling:
        'reason' in d.scaling
          ? { reason: d.scaling.reason }
          : d.scaling.map((r) => ({ devices: r.devices, seconds: r.seconds, max_rss_mb: r.maxRssMb })),
      ...(d.growth
        ? {
            growth: d.growth.map((g) => ({
              from: g.from,
              to: g.to,
              time_exponent: g.timeExponent,
              memory_exponent: g.memoryExponent,
            })),
          }
        : {}),
    },
    training_small: trainBenchJson(run.trainingSmall),
    training: trainBenchJson(run.training),
    goals: run.goals.map((g) => ({ name: g.name, figure: g.figure, goal: g.goal, met: g.met })),
  };
}
