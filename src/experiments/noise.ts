/**
 * `noise`: how far the statistics each device normalizes with fall from the population's and
 * from the whole batch's, for local, group and sync BN, as the per-device batch shrinks, beside
 * the theory for i.i.d. samples: Var(mean) = s^2/n, Var(unbiased variance) = mu4/n - s^4 (n-3)/(n(n-1))
 * (2 s^4/(n-1) for normal data), and Var(unit mean - batch mean) = s^2 (1/n - 1/N), where n is the
 * count the unit normalizes with and N the whole batch's.
 */
import { batchMoments } from '../bn/batch-moments.js';
import type { StatsMethod } from '../bn/batch-moments.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import { Cluster, MAX_DEVICES } from '../cluster/cluster.js';
import { parseMode, syncGroup } from '../bn/modes.js';
import { InputError, requireInput } from '../errors.js';
import {
  type DistributionName,
  DISTRIBUTION_NAMES,
  distributionByName,
  varianceOfSampleVariance,
} from '../tensor/distributions.js';
import { describeNonFinite } from '../tensor/finite.js';
import { SeededRandom } from '../tensor/random.js';
import { type Tensor, channelLayout, sizeOf } from '../tensor/tensor.js';
import { type ProgressFn, throwIfInterrupted } from './interrupt.js';
import { checkNoiseOptions } from './option-checks.js';

/** Most trials per batch size. */
export const MAX_NOISE_TRIALS = 1_000_000;
/** Most values in one drawn global batch (b x W rows): 2^24, 128 MiB as float64. */
export const MAX_NOISE_BATCH_ELEMENTS = 2 ** 24;
/** Most values drawn over a whole run (trials x every batch size): 2^34, minutes of work. */
export const MAX_NOISE_TOTAL_ELEMENTS = 2 ** 34;

/** What {@link noiseExperiment} measures, and how. */
export interface NoiseOptions {
  /** Worker threads hosting the devices (1 to the devices); default min(devices, cores). Results do not depend on it. */
  readonly threads?: number;
  /** Per-device batch sizes b (rows per device); required, at least one. */
  readonly batchSizes: readonly number[];
  /** Simulated devices W; default 8. */
  readonly devices?: number;
  /** Batches drawn per batch size; default 300 (the CLI's default is 400). */
  readonly trials?: number;
  /** Synthetic population; ignored when `input` is given. Default 'normal'. */
  readonly dist?: DistributionName;
  /** A user's array whose rows are the population, drawn with replacement; it must hold finite values. */
  readonly input?: Tensor;
  /** Seed of the draws; default 0. */
  readonly seed?: number;
  /** Channels of the synthetic data; default 16. */
  readonly channels?: number;
  /** K of the group:K rows; default the smallest factor of W below W (none when W is prime). */
  readonly group?: number;
  /** All-reduce of the devices; default the cluster's (allgather). */
  readonly algorithm?: AlgorithmName;
  /** Statistics method of the devices; default 'sums'. */
  readonly stats?: StatsMethod;
  /** Checked between trials; an abort throws InterruptedError. */
  readonly signal?: AbortSignal;
  /** Called after every trial. */
  readonly onProgress?: ProgressFn;
}

/** The noise of one BN mode at one per-device batch size. */
export interface NoiseRow {
  /** Per-device batch size b. */
  readonly batch: number;
  /** 'local', 'group:K' or 'sync'. */
  readonly mode: string;
  /** Values per channel each normalizing unit holds (b x H x W x devices in the unit). */
  readonly valuesPerUnit: number;
  /** measured / theory of Var(unit mean - population mean). */
  readonly meanRatio: number;
  /** measured / theory of Var(unbiased unit variance - population variance). */
  readonly varRatio: number;
  /** Var(unit mean - population mean) in units of s^2, measured. */
  readonly meanNoise: number;
  /** Its i.i.d. theory, 1/n. */
  readonly meanNoiseTheory: number;
  /** Var(unbiased unit variance) in units of s^4, measured. */
  readonly varNoise: number;
  /** Its i.i.d. theory, (mu4/n - s^4 (n-3)/(n(n-1))) / s^4. */
  readonly varNoiseTheory: number;
  /** measured / theory of Var(unit mean - whole-batch mean); null when the unit is the whole batch (both are 0). */
  readonly meanVsBatchRatio: number | null;
  /** Root mean square of (unit variance / whole-batch variance - 1). */
  readonly varVsBatchRms: number;
  /** Independent (unit, channel, trial) samples behind the figures. */
  readonly samples: number;
}

/** Where the noise experiment drew its batches from. */
export type NoiseSource =
  | {
      /** Seeded draws from a named distribution, whose moments are known exactly. */
      readonly kind: 'synthetic';
      /** The distribution. */
      readonly dist: DistributionName;
      /** The distribution and the per-channel offset and scale, in words. */
      readonly description: string;
    }
  | {
      /** Rows drawn with replacement from the user's array: its moments stand for the population's. */
      readonly kind: 'input';
      /** The array's shape. */
      readonly shape: number[];
    };

/** What {@link noiseExperiment} measured; src/report/json/noise-json.ts maps it to the documented JSON. */
export interface NoiseReport {
  /** The population: a synthetic distribution, or the rows of the user's array. */
  readonly source: NoiseSource;
  /** Simulated devices W. */
  readonly devices: number;
  /** Batches drawn per batch size. */
  readonly trials: number;
  /** Channels of the data. */
  readonly channels: number;
  /** Seed of the draws. */
  readonly seed: number;
  /** Statistics method of the devices. */
  readonly stats: StatsMethod;
  /** With shifted-sums: the shift is 0 (momentum 0 keeps the running mean there), so the results are those of sums. */
  readonly shift?: {
    /** What the shift is: 'the running mean'. */
    readonly by: string;
    /** Its value in every channel: 0. */
    readonly value: number;
    /** Why the results are then exactly those of sums. */
    readonly note: string;
  };
  /** One row per batch size and mode, batch sizes in the order given, modes local, group:K, sync. */
  readonly rows: NoiseRow[];
}

/** Where batches come from, and the moments of that population per channel. */
interface Population {
  readonly channels: number;
  readonly inner: number;
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  readonly mu4: Float64Array;
  draw(rows: number, rng: SeededRandom): Tensor;
}

/** Synthetic: channel c is offset by c and scaled by 1 + (c mod 4), so ratios must normalize per channel. */
function syntheticPopulation(name: DistributionName, channels: number): Population {
  const dist = distributionByName(name);
  const scale = Float64Array.from({ length: channels }, (_, c) => 1 + (c % 4));
  return {
    channels,
    inner: 1,
    mean: Float64Array.from({ length: channels }, (_, c) => c + scale[c] * dist.mean),
    variance: scale.map((s) => s * s * dist.variance),
    mu4: scale.map((s) => s ** 4 * dist.mu4),
    draw(rows, rng) {
      const data = new Float64Array(rows * channels);
      for (let i = 0; i < data.length; i++) {
        const c = i % channels;
        data[i] = c + scale[c] * dist.sample(rng);
      }
      return { data, shape: [rows, channels] };
    },
  };
}

/** A user's array: its rows are the population, drawn with replacement. */
function filePopulation(input: Tensor): Population {
  const { rows, channels, inner } = channelLayout(input.shape);
  requireInput(rows >= 2, () => `input: need at least 2 rows to draw from, got ${rows}`);
  const bad = describeNonFinite(input.data, input.shape);
  requireInput(bad === undefined, () => `input holds ${bad}: noise needs finite values`);
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  const mu4 = new Float64Array(channels);
  const n = rows * inner;
  const forEach = (c: number, f: (v: number) => void) => {
    for (let r = 0; r < rows; r++) for (let i = 0; i < inner; i++) f(input.data[(r * channels + c) * inner + i]);
  };
  for (let c = 0; c < channels; c++) {
    let s = 0;
    forEach(c, (v) => (s += v));
    mean[c] = s / n;
    let s2 = 0;
    let s4 = 0;
    forEach(c, (v) => {
      const d = (v - mean[c]) ** 2;
      s2 += d;
      s4 += d * d;
    });
    variance[c] = s2 / n;
    mu4[c] = s4 / n;
    requireInput(variance[c] > 0, () => `input: channel ${c} is constant, so its noise cannot be measured`);
  }
  const rowSize = channels * inner;
  return {
    channels,
    inner,
    mean,
    variance,
    mu4,
    draw(count, rng) {
      const data = new Float64Array(count * rowSize);
      for (let r = 0; r < count; r++) {
        const from = Math.floor(rng.uniform() * rows) * rowSize;
        for (let i = 0; i < rowSize; i++) data[r * rowSize + i] = input.data[from + i];
      }
      return { data, shape: [count, ...input.shape.slice(1)] };
    },
  };
}

function smallestFactorBelow(n: number): number | undefined {
  for (let k = 2; k < n; k++) if (n % k === 0) return k;
  return undefined;
}

interface Tally {
  meanZ: number;
  varZ: number;
  meanNoise: number;
  varNoise: number;
  meanTheory: number;
  varTheory: number;
  batchZ: number;
  /** Samples behind batchZ: units smaller than the whole batch. */
  batchSamples: number;
  batchVarSq: number;
  samples: number;
}

/** Refuses runs too large to finish (InputError naming the limit); `rowSize` is the values per drawn row. */
function checkNoiseSize(options: NoiseOptions, devices: number, trials: number, rowSize: number): void {
  requireInput(devices <= MAX_DEVICES, () => `devices must be at most ${MAX_DEVICES}, got ${devices}`);
  requireInput(trials <= MAX_NOISE_TRIALS, () => `trials must be at most ${MAX_NOISE_TRIALS}, got ${trials}`);
  let total = 0;
  for (const b of options.batchSizes) {
    const elements = b * devices * rowSize;
    requireInput(
      elements <= MAX_NOISE_BATCH_ELEMENTS,
      () =>
        `per-device batch size ${b} over ${devices} devices with ${rowSize} values a row draws ${elements} values a batch; the limit is ${MAX_NOISE_BATCH_ELEMENTS}`,
    );
    total += elements * trials;
  }
  requireInput(
    total <= MAX_NOISE_TOTAL_ELEMENTS,
    () =>
      `${trials} trials of these batch sizes draw ${total} values in all; the limit is ${MAX_NOISE_TOTAL_ELEMENTS} (use fewer trials)`,
  );
}

/**
 * Measures how noisy the statistics each device normalizes with are, for local, group:K and sync
 * BN, at each per-device batch size, over many seeded batches on the real devices, beside i.i.d.
 * theory.
 * @param options - batch sizes, W, trials, and the data (a distribution or the user's array).
 * @returns one row per batch size and mode, in camelCase (src/report/json/noise-json.ts gives the documented JSON).
 * @throws InputError for bad options or data, or runs too large to finish, before any thread starts.
 * @throws InterruptedError when `signal` is aborted.
 * @throws DeviceFailureError when a device fails.
 * @example
 * ```ts
 * const report = await noiseExperiment({ batchSizes: [2, 8], devices: 4, trials: 50 });
 * for (const row of report.rows) console.log(row.batch, row.mode, row.meanRatio);
 * ```
 */
export async function noiseExperiment(options: NoiseOptions): Promise<NoiseReport> {
  checkNoiseOptions(options);
  const devices = options.devices ?? 8;
  const trials = options.trials ?? 300;
  const seed = options.seed ?? 0;
  const dist = options.dist ?? 'normal';
  requireInput(options.batchSizes.length > 0, '--batch-sizes: give at least one per-device batch size');
  for (const b of options.batchSizes)
    requireInput(
      Number.isSafeInteger(b) && b >= 1,
      () => `per-device batch size must be a whole number >= 1, got ${b}`,
    );
  requireInput(
    Number.isSafeInteger(devices) && devices >= 1,
    () => `devices must be a whole number >= 1, got ${devices}`,
  );
  requireInput(Number.isSafeInteger(trials) && trials >= 1, () => `trials must be a whole number >= 1, got ${trials}`);
  requireInput(
    DISTRIBUTION_NAMES.includes(dist),
    () => `unknown distribution '${dist}' (${DISTRIBUTION_NAMES.join(', ')})`,
  );
  const channels = options.channels ?? 16;
  requireInput(
    Number.isSafeInteger(channels) && channels >= 1,
    () => `channels must be a whole number >= 1, got ${channels}`,
  );
  checkNoiseSize(options, devices, trials, options.input ? sizeOf(options.input.shape.slice(1)) : channels);
  const population = options.input ? filePopulation(options.input) : syntheticPopulation(dist, channels);
  const group = options.group ?? smallestFactorBelow(devices);
  const modes = ['local', ...(group !== undefined && group > 1 && group < devices ? [`group:${group}`] : []), 'sync'];
  if (options.group !== undefined) parseMode(`group:${options.group}`, devices);

  const C = population.channels;
  const rng = new SeededRandom(seed);
  const tallies = new Map<string, Tally>();
  const cluster = Cluster.start({
    devices,
    threads: options.threads,
    algorithm: options.algorithm,
    stats: options.stats,
  });
  const total = trials * options.batchSizes.length;
  let done = 0;
  try {
    for (const b of options.batchSizes) {
      const N = b * devices;
      for (let t = 0; t < trials; t++) {
        throwIfInterrupted(options.signal);
        const x = population.draw(N, rng);
        const whole = batchMoments(x.data, channelLayout(x.shape), { method: 'two-pass' });
        for (const mode of modes) {
          const parsed = parseMode(mode, devices);
          const unitDevices = parsed.kind === 'group' ? parsed.size : parsed.kind === 'sync' ? devices : 1;
          const n = b * population.inner * unitDevices;
          if (n < 2) continue; // one value per channel: no variance to normalize with
          const f = await cluster.forward(x, { mode, momentum: 0 });
          const key = `${b}/${mode}`;
          const tally = tallies.get(key) ?? {
            meanZ: 0,
            varZ: 0,
            meanNoise: 0,
            varNoise: 0,
            meanTheory: 0,
            varTheory: 0,
            batchZ: 0,
            batchSamples: 0,
            batchVarSq: 0,
            samples: 0,
          };
          tallies.set(key, tally);
          for (const d of f.devices) {
            // One sample per normalizing unit: its first rank speaks for it.
            const group = syncGroup(parsed, d.rank, devices);
            if (group && group.first !== d.rank) continue;
            for (let c = 0; c < C; c++) {
              const s2 = population.variance[c];
              const meanTheory = s2 / n;
              const varTheory = varianceOfSampleVariance(s2, population.mu4[c], n);
              const dm = d.used.mean[c] - population.mean[c];
              const unbiased = (d.used.var[c] * n) / (n - 1);
              const dv = unbiased - s2;
              tally.meanZ += (dm * dm) / meanTheory;
              tally.varZ += (dv * dv) / varTheory;
              tally.meanNoise += (dm * dm) / s2;
              tally.varNoise += (dv * dv) / (s2 * s2);
              tally.meanTheory += 1 / n;
              tally.varTheory += varTheory / (s2 * s2);
              const wholeN = whole.count;
              if (n < wholeN) {
                const dg = d.used.mean[c] - whole.mean[c];
                tally.batchZ += (dg * dg) / (s2 * (1 / n - 1 / wholeN));
                tally.batchSamples++;
              }
              tally.batchVarSq += (d.used.var[c] / whole.var[c] - 1) ** 2;
              tally.samples++;
            }
          }
        }
        options.onProgress?.(++done, total, `b = ${b}, trial ${t + 1} of ${trials}`);
      }
    }
  } finally {
    await cluster.close();
  }

  const rows: NoiseRow[] = [];
  for (const b of options.batchSizes) {
    for (const mode of modes) {
      const tally = tallies.get(`${b}/${mode}`);
      if (!tally) continue;
      const k = tally.samples;
      const parsed = parseMode(mode, devices);
      const unitDevices = parsed.kind === 'group' ? parsed.size : parsed.kind === 'sync' ? devices : 1;
      rows.push({
        batch: b,
        mode,
        valuesPerUnit: b * population.inner * unitDevices,
        meanRatio: tally.meanZ / k,
        varRatio: tally.varZ / k,
        meanNoise: tally.meanNoise / k,
        meanNoiseTheory: tally.meanTheory / k,
        varNoise: tally.varNoise / k,
        varNoiseTheory: tally.varTheory / k,
        meanVsBatchRatio: tally.batchSamples === 0 ? null : tally.batchZ / tally.batchSamples,
        varVsBatchRms: Math.sqrt(tally.batchVarSq / k),
        samples: k,
      });
    }
  }
  if (rows.length === 0)
    throw new InputError('every normalizing unit would hold one value per channel: use larger batch sizes');
  const source = options.input
    ? { kind: 'input' as const, shape: [...options.input.shape] }
    : { kind: 'synthetic' as const, dist, description: distributionByName(dist).description };
  const stats = options.stats ?? 'sums';
  const shift =
    stats === 'shifted-sums'
      ? {
          by: 'the running mean',
          value: 0,
          note: 'shifted-sums shifts by the running mean, which stays 0 here (every step has momentum 0): the results are exactly those of sums',
        }
      : undefined;
  return { source, devices, trials, channels: C, seed, stats, ...(shift ? { shift } : {}), rows };
}
