/**
 * Timing helpers for benchmarks (never for tests): medians over repetitions after a warm-up, and
 * a streaming-read probe that tells what bandwidth plain JavaScript reaches in this process.
 */
import { performance } from 'node:perf_hooks';
import { median } from '../summary-stats.js';

/** What a timing loop measured. */
export interface Timing {
  /** Median milliseconds over the measured repetitions. */
  readonly medianMs: number;
  /** The fastest repetition, in ms: the least disturbed by other work on a shared machine. */
  readonly minMs: number;
  /** Repetitions measured (warm-up left out). */
  readonly reps: number;
}

/**
 * Times `fn`, after a warm-up that lets the JIT compile it, one sample per call.
 *
 * @param fn - the work; its result should go to {@link consume}.
 * @param reps - measured calls; default 15.
 * @param warmup - calls run first and not measured; default 3.
 * @returns the median and fastest call.
 */
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

/**
 * {@link timeIt} for work that completes asynchronously (a cluster step): each call is awaited
 * before the next starts.
 *
 * @param fn - the work.
 * @param reps - measured calls; default 15.
 * @param warmup - calls run first and not measured; default 3.
 * @returns the median and fastest call.
 */
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
/**
 * Adds a result of the timed work to {@link sink}, so the JIT cannot prove it unused.
 *
 * @param value - any number the work produced.
 */
export function consume(value: number): void {
  sink += value;
}

/**
 * A plain sequential read of the whole array: the bandwidth a JS loop gets from memory here, the
 * yardstick every kernel's GB/s is divided by.
 *
 * @param data - the array to read, larger than the caches to measure memory.
 * @returns the sum, to pass to {@link consume}.
 */
export function streamingRead(data: Float32Array | Float64Array): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i];
  return s;
}

/**
 * Gigabytes per second for `bytes` moved in `ms` milliseconds.
 *
 * @param bytes - bytes read plus bytes written.
 * @param ms - the time taken.
 * @returns 1e9 bytes per second.
 */
export function gbPerSecond(bytes: number, ms: number): number {
  return bytes / (ms * 1e6);
}
