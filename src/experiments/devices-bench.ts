/**
 * The figures of "devices are not threads" (issue 10), measured in one run: the all-reduce of
 * sync BN's 2C+1 values at W = 8 hosted on T = 1, 2 and 8 threads, and how the compare job's time
 * and memory grow with W up to 4096 devices (each W in a process of its own, so that its peak
 * memory is its own). Benchmarks print figures; nothing here is asserted in tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { median } from '../summary-stats.js';
import { ALGORITHM_NAMES, type AlgorithmName } from '../collectives/algorithms/index.js';
import { Cluster } from '../cluster/cluster.js';
import { packageRoot } from './torch-python.js';

/** One algorithm's all-reduce time on one thread count. */
export interface AllReduceOnThreads {
  /** T, the threads hosting the devices. */
  readonly threads: number;
  /** The algorithm timed. */
  readonly algorithm: AlgorithmName;
  /** Median over calls, in microseconds. */
  readonly medianUs: number;
  /** 10th percentile, in microseconds. */
  readonly p10Us: number;
  /** 90th percentile, in microseconds. */
  readonly p90Us: number;
}

/** One W of the compare job: wall time and peak resident memory of its process. */
export interface CompareFootprint {
  /** W. */
  readonly devices: number;
  /** Wall time of the whole compare job, in seconds. */
  readonly seconds: number;
  /** Peak resident memory of its process, in MB. */
  readonly maxRssMb: number;
}

function quantileOf(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Times `reps` back-to-back all-reduces of `values` float64 values among `devices` devices for
 * each thread count and algorithm (after a warm-up of a tenth as many). One cluster per thread
 * count, closed before the next starts.
 *
 * @param devices - W.
 * @param threadCounts - the T to try, each 1 to W.
 * @param values - float64 values per all-reduce (2C+1 for sync BN).
 * @param reps - timed calls per (threads, algorithm).
 * @returns one row per (threads, algorithm)
 * @throws InputError for arguments the cluster refuses.
 */
export async function allReduceOnThreads(
  devices: number,
  threadCounts: readonly number[],
  values: number,
  reps: number,
): Promise<AllReduceOnThreads[]> {
  const rows: AllReduceOnThreads[] = [];
  for (const threads of threadCounts) {
    const cluster = Cluster.start({ devices, threads });
    try {
      await cluster.ready();
      for (const algorithm of ALGORITHM_NAMES) {
        await cluster.benchmarkAllReduce(values, Math.max(5, Math.floor(reps / 10)), algorithm);
        const calls = await cluster.benchmarkAllReduce(values, reps, algorithm);
        rows.push({
          threads,
          algorithm,
          medianUs: median(calls),
          p10Us: quantileOf(calls, 0.1),
          p90Us: quantileOf(calls, 0.9),
        });
      }
    } finally {
      await cluster.close();
    }
  }
  return rows;
}

/**
 * Runs the compare job at each W in a child process (dist/scripts/compare-footprint.js), so that
 * each W's peak memory is its own.
 *
 * @param devicesList - the W to run, in order.
 * @returns one footprint per W, or the reason the runs could not be made
 */
export function compareFootprints(devicesList: readonly number[]): CompareFootprint[] | { readonly reason: string } {
  const root = packageRoot();
  const script = root && join(root, 'dist', 'scripts', 'compare-footprint.js');
  if (!script || !existsSync(script)) return { reason: 'dist/scripts/compare-footprint.js not built' };
  const rows: CompareFootprint[] = [];
  for (const devices of devicesList) {
    const r = spawnSync(process.execPath, [script, String(devices)], { encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0)
      return { reason: `compare on ${devices} devices failed: ${(r.stderr || '').trim().split('\n').pop()}` };
    const parsed = JSON.parse(r.stdout) as CompareFootprint;
    rows.push({ devices, seconds: parsed.seconds, maxRssMb: parsed.maxRssMb });
  }
  return rows;
}

/**
 * How the cost grows from one W to the next: the ratio of the growth in seconds to the growth in
 * W (1 means linear, 2 means the time grew with the square of W over that step): the slope of
 * log cost against log W.
 *
 * @param rows - footprints, W ascending.
 * @returns one entry per consecutive pair of rows, with the time and memory exponents.
 */
export function growthExponents(
  rows: readonly CompareFootprint[],
): { readonly from: number; readonly to: number; readonly timeExponent: number; readonly memoryExponent: number }[] {
  const out = [];
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1];
    const b = rows[i];
    const w = Math.log(b.devices / a.devices);
    out.push({
      from: a.devices,
      to: b.devices,
      timeExponent: Math.log(b.seconds / a.seconds) / w,
      memoryExponent: Math.log(b.maxRssMb / a.maxRssMb) / w,
    });
  }
  return out;
}
