/**
 * Timing helpers for benchmarks (never for tests): medians over repetitions after a warm-up, and
 * a streaming-read probe that tells what bandwidth plain JavaScript reaches in this process.
 */
import { performance } from 'node:perf_hooks';
import { median } from '../summary-stats.js';

export interface Timing {
  /** Median milliseconds over the measured repetitions. */
  readonly medianMs: number;
  readonly minMs: number;
  readonly reps: number;
}

export function timeIt(fn: () => void, reps = 15, warmup = 3): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return { medianMs: median(samples), minMs: Math.min(...samples), reps };
}

export async function timeItAsync(fn: () => Promise<void>, reps = 15, warmup = 3): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return { medianMs: median(samples), minMs: Math.min(...samples), reps };
}

/** Keeps results alive so that the JIT cannot drop the work being timed. */
export let sink = 0;
export function consume(value: number): void {
  sink += value;
}

/** A plain sequential read of the whole array: the bandwidth a JS loop gets from memory here. */
export function streamingRead(data: Float32Array | Float64Array): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i];
  return s;
}

/** Gigabytes per second for `bytes` moved in `ms` milliseconds. */
export function gbPerSecond(bytes: number, ms: number): number {
  return bytes / (ms * 1e6);
}
