/**
 * Per-layer experiments on captured activations (python/syncbn_capture.py): for every batch-norm
 * layer of a real model, how far each device's statistics stray from the whole batch's when its
 * captured batches are split over W devices (`compare --input acts.npz`), and how noisy the
 * statistics local, group and sync BN normalize with are at several per-device batch sizes
 * (`noise --input acts.npz`), each beside i.i.d. theory.
 *
 * The effective number of independent values behind a device's statistics is the n at which
 * i.i.d. theory gives the measured noise of the mean: n_eff = n / ratio, with n the values per
 * channel the device holds (b rows x H x W) and ratio = measured / theoretical variance. Real
 * feature maps are spatially correlated, so n_eff is nearer b than b x H x W: the statistics are
 * far noisier than i.i.d. synthetic data of the same shape suggests.
 */
import { batchMoments } from '../bn/batch-moments.js';
import type { StatsMethod } from '../bn/batch-moments.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import { MAX_DEVICES } from '../cluster/cluster.js';
import { shardRows } from '../tensor/sharding.js';
import { InputError, requireInput } from '../errors.js';
import { type CapturedActivations, type CapturedLayer, checkCaptured } from '../tensor/activations.js';
import { checkObject } from '../args.js';
import { describeNonFinite } from '../tensor/finite.js';
import { type Tensor, channelLayout } from '../tensor/tensor.js';
import { type ProgressFn, throwIfInterrupted } from './interrupt.js';
import { type NoiseRow, noiseExperiment } from './noise.js';

/** How many layers a summary names as the most sensitive to the split. */
export const SENSITIVE_LAYERS_NAMED = 3;
/** A noise ratio above this says the values of one sample are correlated (i.i.d. data gives about 1). */
export const CORRELATED_RATIO = 2;

/** What {@link compareLayers} runs. */
export interface LayerCompareOptions {
  /** The captured activations (every layer is run; select with `selectLayers` first). */
  readonly acts: CapturedActivations;
  /** Simulated devices W; default 8. */
  readonly devices?: number;
  /** Statistics method of the devices' own statistics; default 'sums'. */
  readonly stats?: StatsMethod;
  /** Checked between steps; an abort throws InterruptedError. */
  readonly signal?: AbortSignal;
  /** Called after every layer step. */
  readonly onProgress?: ProgressFn;
}

/** How one captured batch of one layer splits over W devices. */
export interface LayerStrayRow {
  /** The training step the batch was captured at. */
  readonly step: number;
  /** Rows N of the batch. */
  readonly rows: number;
  /** Rows per device (the mean over devices holding any). */
  readonly rowsPerDevice: number;
  /** Values per channel per device, rows x H x W (the mean over devices holding any). */
  readonly valuesPerDevice: number;
  /** Root mean square over devices and channels of (device mean - batch mean) / batch std. */
  readonly meanStray: number;
  /** What i.i.d. values dealt to the devices at random would give: sqrt(mean over devices of (1/n - 1/N) N/(N-1)). */
  readonly meanStrayIid: number;
  /** (meanStray / meanStrayIid)^2: measured over i.i.d. variance of the device means; null when W = 1. */
  readonly noiseRatio: number | null;
  /** valuesPerDevice / noiseRatio: the i.i.d. values that would stray as much; null when W = 1. */
  readonly effectiveN: number | null;
  /** Root mean square over devices and channels of (device variance / batch variance - 1). */
  readonly varStrayRms: number;
  /** Channels left out because they are constant in this batch (no std to measure in). */
  readonly constantChannels: number;
}

/** One layer's figures over all its steps (pooled: sums of squares over every step). */
export interface LayerSummary {
  /** Values per channel in one row (H x W, or 1 for [N,C]). */
  readonly valuesPerRow: number;
  /** Rows per device (mean over steps). */
  readonly rowsPerDevice: number;
  /** Values per channel per device (mean over steps). */
  readonly valuesPerDevice: number;
  /** Pooled root mean square stray of the device means, in batch std. */
  readonly meanStray: number;
  /** Its i.i.d. theory, pooled the same way. */
  readonly meanStrayIid: number;
  /** Pooled measured over i.i.d. variance; null when W = 1. */
  readonly noiseRatio: number | null;
  /** valuesPerDevice / noiseRatio; null when W = 1. */
  readonly effectiveN: number | null;
  /** effectiveN per row: independent values one sample contributes (valuesPerRow when i.i.d.). */
  readonly effectivePerRow: number | null;
}

/** One layer of {@link LayerCompareReport}. */
export interface LayerCompareEntry {
  /** The layer's name in the model. */
  readonly name: string;
  /** Its class (BatchNorm2d, ...). */
  readonly type: string;
  /** Its input's shape at the first step. */
  readonly shape: readonly number[];
  /** One row per captured step. */
  readonly rows: LayerStrayRow[];
  /** Pooled over the steps. */
  readonly summary: LayerSummary;
}

/** What {@link compareLayers} measured. */
export interface LayerCompareReport {
  /** The archive. */
  readonly source: string;
  /** Simulated devices W. */
  readonly devices: number;
  /** One entry per layer, in the model's order. */
  readonly layers: LayerCompareEntry[];
  /** Layer names, most sensitive to the split first (largest stray of the device means). */
  readonly mostSensitive: string[];
}

function checkDevices(devices: number): void {
  requireInput(
    Number.isSafeInteger(devices) && devices >= 1 && devices <= MAX_DEVICES,
    () => `devices must be a whole number from 1 to ${MAX_DEVICES}, got ${devices}`,
  );
}

function checkFinite(layer: CapturedLayer, source: string): void {
  for (const [k, b] of layer.batches.entries()) {
    const bad = describeNonFinite(b.data, b.shape);
    requireInput(
      bad === undefined,
      () => `${source}: layer '${layer.name}' step ${layer.steps[k]} holds ${bad}: the statistics need finite values`,
    );
  }
}

interface Pool {
  z2: number;
  theory: number;
  count: number;
}

/**
 * Splits every captured batch of every layer over W devices as the cluster does (numpy.array_split
 * along N; each device's own statistics by the same kernel local BN runs on a device) and measures how far each device's mean and variance stray from the whole batch's, beside i.i.d.
 * theory, with the effective number of independent values behind a device's statistics.
 * @param options - the activations, W and the cluster's settings.
 * @returns one entry per layer (a row per step and a pooled summary) and the layers most sensitive to the split.
 * @throws InputError for bad options, non-finite activations, or a batch whose channels are all constant
 *   (devices left with an empty shard, when N < W, are simply left out).
 * @throws InterruptedError when `signal` is aborted.
 * @example
 * ```ts
 * const report = await compareLayers({ acts: readCapturedActivations('acts.npz'), devices: 8 });
 * for (const l of report.layers) console.log(l.name, l.summary.effectiveN);
 * ```
 */
export async function compareLayers(options: LayerCompareOptions): Promise<LayerCompareReport> {
  checkObject('options', options);
  const devices = options.devices ?? 8;
  checkDevices(devices);
  const acts = checkCaptured('acts', options.acts);
  requireInput(acts.layers.length > 0, 'no layer to compare');
  for (const layer of acts.layers) checkFinite(layer, acts.source);
  const total = acts.layers.reduce((a, l) => a + l.batches.length, 0);
  let done = 0;
  const layers: LayerCompareEntry[] = [];
  for (const layer of acts.layers) {
    const rows: LayerStrayRow[] = [];
    const pool: Pool = { z2: 0, theory: 0, count: 0 };
    for (const [k, batch] of layer.batches.entries()) {
      throwIfInterrupted(options.signal);
      const layout = channelLayout(batch.shape);
      const N = layout.rows * layout.inner;
      const whole = batchMoments(batch.data, layout, { method: 'two-pass' });
      let z2 = 0;
      let v2 = 0;
      let samples = 0;
      let theory = 0;
      let held = 0;
      let rowsHeld = 0;
      let constant = 0;
      for (let c = 0; c < layout.channels; c++) if (!(whole.var[c] > 0)) constant++;
      const rowSize = layout.channels * layout.inner;
      for (let rank = 0; rank < devices; rank++) {
        const [from, to] = shardRows(layout.rows, devices, rank);
        if (to === from) continue;
        // The device's own statistics, as local BN computes them on its shard.
        const local = batchMoments(
          batch.data.subarray(from * rowSize, to * rowSize),
          { ...layout, rows: to - from },
          { method: options.stats ?? 'sums' },
        );
        const n = local.count;
        held++;
        rowsHeld += to - from;
        theory += N > 1 ? ((1 / n - 1 / N) * N) / (N - 1) : 0;
        for (let c = 0; c < layout.channels; c++) {
          if (!(whole.var[c] > 0)) continue;
          z2 += (local.mean[c] - whole.mean[c]) ** 2 / whole.var[c];
          v2 += (local.var[c] / whole.var[c] - 1) ** 2;
          samples++;
        }
      }
      requireInput(
        samples > 0,
        () =>
          `${acts.source}: layer '${layer.name}' step ${layer.steps[k]}: every channel is constant, nothing to measure`,
      );
      const meanZ2 = z2 / samples;
      const meanTheory = theory / held;
      const valuesPerDevice = (rowsHeld * layout.inner) / held;
      const ratio = meanTheory > 0 ? meanZ2 / meanTheory : null;
      rows.push({
        step: layer.steps[k],
        rows: layout.rows,
        rowsPerDevice: rowsHeld / held,
        valuesPerDevice,
        meanStray: Math.sqrt(meanZ2),
        meanStrayIid: Math.sqrt(meanTheory),
        noiseRatio: ratio,
        effectiveN: ratio === null || ratio === 0 ? null : valuesPerDevice / ratio,
        varStrayRms: Math.sqrt(v2 / samples),
        constantChannels: constant,
      });
      pool.z2 += z2;
      pool.theory += meanTheory * samples;
      pool.count += samples;
      options.onProgress?.(++done, total, `layer ${layer.name}, step ${layer.steps[k]}`);
    }
    const valuesPerRow = channelLayout(layer.batches[0].shape).inner;
    const valuesPerDevice = rows.reduce((a, r) => a + r.valuesPerDevice, 0) / rows.length;
    const rowsPerDevice = rows.reduce((a, r) => a + r.rowsPerDevice, 0) / rows.length;
    const ratio = pool.theory > 0 ? pool.z2 / pool.theory : null;
    const effectiveN = ratio === null || ratio === 0 ? null : valuesPerDevice / ratio;
    layers.push({
      name: layer.name,
      type: layer.type,
      shape: [...layer.shape],
      rows,
      summary: {
        valuesPerRow,
        rowsPerDevice,
        valuesPerDevice,
        meanStray: Math.sqrt(pool.z2 / pool.count),
        meanStrayIid: Math.sqrt(pool.theory / pool.count),
        noiseRatio: ratio,
        effectiveN,
        effectivePerRow: effectiveN === null ? null : effectiveN / rowsPerDevice,
      },
    });
  }
  const mostSensitive = [...layers]
    .sort((a, b) => b.summary.meanStray - a.summary.meanStray)
    .slice(0, SENSITIVE_LAYERS_NAMED)
    .map((l) => l.name);
  return { source: acts.source, devices, layers, mostSensitive };
}

/** What {@link noiseLayers} runs. */
export interface LayerNoiseOptions {
  /** The captured activations. */
  readonly acts: CapturedActivations;
  /** Per-device batch sizes b. */
  readonly batchSizes: readonly number[];
  /** Simulated devices W; default 8. */
  readonly devices?: number;
  /** Worker threads; default min(W, cores). */
  readonly threads?: number;
  /** Batches drawn per batch size and layer; default 300. */
  readonly trials?: number;
  /** Seed of the draws; default 0 (every layer draws with the same seed). */
  readonly seed?: number;
  /** K of the group:K rows. */
  readonly group?: number;
  /** All-reduce algorithm. */
  readonly algorithm?: AlgorithmName;
  /** Statistics method; default 'sums'. */
  readonly stats?: StatsMethod;
  /** Checked between trials. */
  readonly signal?: AbortSignal;
  /** Called after every trial of every layer. */
  readonly onProgress?: ProgressFn;
}

/** A noise row of one layer, with the effective number of independent values behind it. */
export interface LayerNoiseRow extends NoiseRow {
  /** valuesPerUnit / meanRatio: the i.i.d. values that would give the measured noise of the mean. */
  readonly effectiveN: number;
}

/** One layer's noise figures summarized over its local-BN rows. */
export interface LayerNoiseSummary {
  /** Values per channel in one row (H x W, or 1 for [N,C]). */
  readonly valuesPerRow: number;
  /** Mean over batch sizes of local BN's measured / i.i.d. noise of the mean. */
  readonly noiseRatio: number;
  /** valuesPerRow / noiseRatio: independent values one sample contributes. */
  readonly effectivePerRow: number;
  /** Local BN at the smallest batch size: per-device batch b. */
  readonly smallestBatch: number;
  /** Its measured Var(device mean - population mean) in units of s^2 (1 / effective n). */
  readonly meanNoiseAtSmallest: number;
}

/** One layer of {@link LayerNoiseReport}. */
export interface LayerNoiseEntry {
  /** The layer's name. */
  readonly name: string;
  /** Its class. */
  readonly type: string;
  /** Its input's shape at the first step. */
  readonly shape: readonly number[];
  /** Rows of the population the batches are drawn from (every captured step). */
  readonly population: number;
  /** One row per batch size and mode. */
  readonly rows: LayerNoiseRow[];
  /** Over the local-BN rows. */
  readonly summary: LayerNoiseSummary;
}

/** What {@link noiseLayers} measured. */
export interface LayerNoiseReport {
  /** The archive. */
  readonly source: string;
  /** Simulated devices W. */
  readonly devices: number;
  /** Batches drawn per batch size and layer. */
  readonly trials: number;
  /** Seed of the draws. */
  readonly seed: number;
  /** One entry per layer. */
  readonly layers: LayerNoiseEntry[];
  /** Layer names, most sensitive to the split first (noisiest local statistics at the smallest b). */
  readonly mostSensitive: string[];
}

/** Every captured step of a layer as one population of rows (the steps agree on all but N). */
function population(layer: CapturedLayer): Tensor {
  const rows = layer.batches.reduce((a, b) => a + b.shape[0], 0);
  const rowSize = layer.batches[0].data.length / Math.max(1, layer.batches[0].shape[0]);
  const data = new Float64Array(rows * rowSize);
  let at = 0;
  for (const b of layer.batches) {
    data.set(b.data, at);
    at += b.data.length;
  }
  return { data, shape: [rows, ...layer.batches[0].shape.slice(1)] };
}

/**
 * Runs the noise experiment on every captured layer, drawing batches (rows, with replacement)
 * from all its captured steps, and adds the effective number of independent values to each row.
 * @param options - the activations, batch sizes, W, trials.
 * @returns one entry per layer and the layers most sensitive to the split.
 * @throws InputError for bad options or data (naming the layer), or a run too large.
 * @throws InterruptedError when `signal` is aborted.
 * @example
 * ```ts
 * const r = await noiseLayers({ acts: readCapturedActivations('acts.npz'), batchSizes: [2, 8], devices: 4, trials: 50 });
 * ```
 */
export async function noiseLayers(options: LayerNoiseOptions): Promise<LayerNoiseReport> {
  checkObject('options', options);
  const devices = options.devices ?? 8;
  checkDevices(devices);
  const acts = checkCaptured('acts', options.acts);
  requireInput(acts.layers.length > 0, 'no layer to measure');
  for (const layer of acts.layers) checkFinite(layer, acts.source);
  const trials = options.trials ?? 300;
  const seed = options.seed ?? 0;
  const layers: LayerNoiseEntry[] = [];
  const perLayer = trials * options.batchSizes.length;
  for (const [i, layer] of acts.layers.entries()) {
    const input = population(layer);
    let report: Awaited<ReturnType<typeof noiseExperiment>>;
    try {
      report = await noiseExperiment({
        input,
        batchSizes: options.batchSizes,
        devices,
        threads: options.threads,
        trials,
        seed,
        group: options.group,
        algorithm: options.algorithm,
        stats: options.stats,
        signal: options.signal,
        onProgress:
          options.onProgress &&
          ((done, _total, label) =>
            options.onProgress?.(i * perLayer + done, acts.layers.length * perLayer, `layer ${layer.name}: ${label}`)),
      });
    } catch (err) {
      if (err instanceof InputError) throw new InputError(`layer '${layer.name}': ${err.message}`);
      throw err;
    }
    const rows = report.rows.map((r) => ({ ...r, effectiveN: r.valuesPerUnit / r.meanRatio }));
    const local = rows.filter((r) => r.mode === 'local');
    const valuesPerRow = channelLayout(input.shape).inner;
    const basis = local.length > 0 ? local : rows;
    const noiseRatio = basis.reduce((a, r) => a + r.meanRatio, 0) / basis.length;
    const smallest = basis.reduce((a, r) => (r.batch < a.batch ? r : a), basis[0]);
    layers.push({
      name: layer.name,
      type: layer.type,
      shape: [...layer.shape],
      population: input.shape[0],
      rows,
      summary: {
        valuesPerRow,
        noiseRatio,
        effectivePerRow: valuesPerRow / noiseRatio,
        smallestBatch: smallest.batch,
        meanNoiseAtSmallest: smallest.meanNoise,
      },
    });
  }
  const mostSensitive = [...layers]
    .sort((a, b) => b.summary.meanNoiseAtSmallest - a.summary.meanNoiseAtSmallest)
    .slice(0, SENSITIVE_LAYERS_NAMED)
    .map((l) => l.name);
  return { source: acts.source, devices, trials, seed, layers, mostSensitive };
}
