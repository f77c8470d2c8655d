/**
 * `sweep`: a grid of data-parallel training runs (BN mode x per-device batch x devices x learning
 * rate scaling, and normalization once `train` has it) over K seeds with a fixed budget of epochs
 * or steps, summarized per configuration as the mean final accuracy with a 95% confidence interval
 * over the seeds (Student's t), and the gap to sync BN at the same per-device batch.
 *
 * Each run is one call of {@link trainExperiment} (one mode, one batch size, one seed): the sweep
 * adds no training code of its own. Runs are independent, so several run at once (`jobs`, default
 * the machine's cores), each on one worker thread by default: a run's results do not depend on
 * its thread count, so the sweep's results do not depend on how it was scheduled. With `resumeDir`
 * each finished run is written whole to that directory as it finishes (atomically), and a later
 * sweep with the same settings reuses it instead of training again.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { checkOptions, checkWhole } from '../args.js';
import type { StatsMethod } from '../bn/batch-moments.js';
import { modeName, parseMode } from '../bn/modes.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import { InputError, requireInput } from '../errors.js';
import { writeFilesAtomically } from '../io/atomic-write.js';
import { describeFsError } from '../io/fs-errors.js';
import type { KernelBackend } from '../kernels/backend.js';
import { meanCi95 } from '../summary-stats.js';
import type { ModelName } from '../train/protocol.js';
import { InterruptedError, type ProgressFn, throwIfInterrupted } from './interrupt.js';
import { modelNormName, parseModelNorm } from '../train/model-norm.js';
import {
  type DatasetName,
  DivergedError,
  LR_REFERENCE_BATCH,
  NO_BN_MODE,
  type TrainRunReport,
  trainExperiment,
  usesBatch,
} from './train.js';

/** Most runs (configurations x seeds) in one sweep. */
export const MAX_SWEEP_RUNS = 4096;
/** Most seeds per configuration. */
export const MAX_SWEEP_SEEDS = 100;
/** The version of the run files a sweep writes to its resume directory. */
export const SWEEP_RUN_FILE_VERSION = 1;

/**
 * The BN-mode label of a run whose normalization does not use the batch (group norm, layer norm,
 * instance norm, FRN): it runs once, whatever `--bn` lists, as `train` runs it.
 */
export const SWEEP_NO_BN_MODE: string = NO_BN_MODE;

/** What {@link sweepExperiment} runs. */
export interface SweepOptions {
  /** Per-device batch sizes b; required. */
  readonly perDeviceBatches: readonly number[];
  /** BN modes ('local', 'sync', 'group:K', 'ghost:G'); default local and sync. */
  readonly bn?: readonly string[];
  /** Normalizations, as `train --norm` names them (batch, batch-renorm, group-norm:G, layer-norm, instance-norm, frn); default ['batch']. Those that use the batch run in every BN mode, the others once. */
  readonly norms?: readonly string[];
  /** Device counts W; default [8]. */
  readonly devices?: readonly number[];
  /** Learning-rate scaling rules; default ['none']. */
  readonly lrScaling?: readonly ('none' | 'linear')[];
  /** Seeds per configuration, K; default 3. Run k uses seed `seed + k`. */
  readonly seeds?: number;
  /** First seed; default 0. */
  readonly seed?: number;
  /** Budget of every run in epochs (default 1 when `steps` is not given). */
  readonly epochs?: number;
  /** Budget of every run in training steps instead. */
  readonly steps?: number;
  /** Runs trained at once; default the machine's cores (at most the runs). */
  readonly jobs?: number;
  /** Worker threads per run; default 1 (results do not depend on it). */
  readonly threads?: number;
  /** Where each finished run is written, and read back from on a later sweep; default none. */
  readonly resumeDir?: string;
  /** The model; default lenet-bn. */
  readonly model?: ModelName;
  /** The data; default synthetic. */
  readonly dataset?: DatasetName;
  /** Fashion-MNIST's directory. */
  readonly dataDir?: string;
  /** Use only this many training examples. */
  readonly subset?: number;
  /** Base learning rate; default 1. */
  readonly lr?: number;
  /** SGD momentum; default 0. */
  readonly momentum?: number;
  /** SGD weight decay; default 0. */
  readonly weightDecay?: number;
  /** BN statistics method. */
  readonly stats?: StatsMethod;
  /** All-reduce of the BN statistics. */
  readonly algorithm?: AlgorithmName;
  /** Whose running statistics test accuracy uses in local mode. */
  readonly evalStats?: 'rank0' | 'average';
  /** Training batches precise BN recomputes the statistics over. */
  readonly preciseBatches?: number;
  /** How long a device waits for a peer. */
  readonly timeoutMs?: number;
  /** The kernels the devices run. */
  readonly kernels?: KernelBackend;
  /** Stops the sweep (every running run) cleanly; finished runs stay in `resumeDir`. */
  readonly signal?: AbortSignal;
  /** Progress over all runs' steps, labelled with the run, its seed and epoch. */
  readonly onProgress?: ProgressFn;
  /** Called as each run finishes (or is reused from `resumeDir`). */
  readonly onRun?: (run: SweepRunResult, done: number, total: number) => void;
}

/** One configuration of the grid, with one seed: one training run. */
export interface SweepRunConfig {
  /** The BN mode, as train names it ('none' for a normalization that does not use the batch). */
  readonly bn: string;
  /** The normalization ('batch', 'group-norm:2', ...). */
  readonly norm: string;
  /** Per-device batch b. */
  readonly perDeviceBatch: number;
  /** Devices W. */
  readonly devices: number;
  /** Learning-rate scaling. */
  readonly lrScaling: 'none' | 'linear';
  /** The seed of this run. */
  readonly seed: number;
}

/** A finished run: its configuration and what train reported for it. */
export interface SweepRunResult {
  /** The configuration and seed. */
  readonly config: SweepRunConfig;
  /** train's report of the run (every epoch); absent when it diverged. */
  readonly run?: TrainRunReport;
  /** Where and how the run diverged; absent when it finished. */
  readonly diverged?: DivergedRun;
  /** Whether it was read back from the resume directory rather than trained now. */
  readonly reused: boolean;
}

/** A run whose loss or weights became NaN or infinite: a result of the sweep, not its end. */
export interface DivergedRun {
  /** The 1-based epoch it diverged in. */
  readonly epoch: number;
  /** The 1-based step within that epoch. */
  readonly step: number;
  /** What became non-finite ("loss NaN"). */
  readonly what: string;
  /** The learning rate it ran with (after scaling). */
  readonly lr: number;
}

/** One configuration summarized over its seeds. */
export interface SweepRow {
  /** The BN mode. */
  readonly bn: string;
  /** The normalization. */
  readonly norm: string;
  /** Per-device batch b. */
  readonly perDeviceBatch: number;
  /** Devices W. */
  readonly devices: number;
  /** Seeds run. */
  readonly seeds: number;
  /** Mean final training accuracy over the seeds that did not diverge; null when every one did. */
  readonly trainAccMean: number | null;
  /** Its 95% confidence half-width (Student's t); null for one seed. */
  readonly trainAccCi95: number | null;
  /** Mean final test accuracy with the running statistics (seeds that did not diverge). */
  readonly testAccMean: number | null;
  /** Its 95% confidence half-width. */
  readonly testAccCi95: number | null;
  /** testAccMean minus sync batch norm's at the same per-device batch, devices and scaling; null without that row (0 for it). */
  readonly gapVsSync: number | null;
  /** Learning-rate scaling. */
  readonly lrScaling: 'none' | 'linear';
  /** The learning rate used (after scaling). */
  readonly lr: number;
  /** Mean final test accuracy with precise BN. */
  readonly testAccPreciseMean: number | null;
  /** Its 95% confidence half-width. */
  readonly testAccPreciseCi95: number | null;
  /** Mean final test accuracy with batch statistics. */
  readonly testAccBatchMean: number | null;
  /** Its 95% confidence half-width. */
  readonly testAccBatchCi95: number | null;
  /** The final test accuracy (running statistics) of each seed, in seed order; null for a seed that diverged. */
  readonly testAccBySeed: (number | null)[];
  /** Seeds whose run diverged (loss or weights NaN or infinite), left out of the means. */
  readonly diverged: number;
}

/** What {@link sweepExperiment} reports. */
export interface SweepReport {
  /** The settings every run shared. */
  readonly settings: SweepSettings;
  /** Runs trained now, and runs reused from the resume directory. */
  readonly trained: number;
  /** Runs reused from the resume directory. */
  readonly reused: number;
  /** One row per configuration, in grid order (norm, devices, scaling, batch, mode). */
  readonly rows: SweepRow[];
}

/** What every run of a sweep shares; a resumed run must have been trained with the same. */
export interface SweepSettings {
  /** The model. */
  readonly model: string;
  /** The data. */
  readonly dataset: string;
  /** Training examples used (the subset), or null for all. */
  readonly subset: number | null;
  /** Budget in epochs, or null when in steps. */
  readonly epochs: number | null;
  /** Budget in steps, or null when in epochs. */
  readonly steps: number | null;
  /** Base learning rate. */
  readonly lr: number;
  /** SGD momentum. */
  readonly momentum: number;
  /** SGD weight decay. */
  readonly weightDecay: number;
  /** BN statistics method. */
  readonly stats: string;
  /** Whose running statistics test accuracy uses in local mode. */
  readonly evalStats: string;
  /** Precise-BN batches. */
  readonly preciseBatches: number;
  /** First seed. */
  readonly seed: number;
  /** Seeds per configuration. */
  readonly seeds: number;
}

/** Every run of the grid, in grid order, seeds innermost. */
function gridOf(options: SweepOptions, seeds: number, seed: number): SweepRunConfig[] {
  const runs: SweepRunConfig[] = [];
  for (const norm of options.norms ?? ['batch']) {
    for (const devices of options.devices ?? [8]) {
      for (const lrScaling of options.lrScaling ?? ['none']) {
        for (const perDeviceBatch of options.perDeviceBatches) {
          // As train does: a normalization that uses the batch runs in every BN mode, the others once.
          const modes = usesBatch(parseModelNorm(norm))
            ? (options.bn ?? ['local', 'sync']).map((m) => modeName(parseMode(m, devices)))
            : [NO_BN_MODE];
          for (const bn of modes) {
            for (let k = 0; k < seeds; k++) runs.push({ bn, norm, perDeviceBatch, devices, lrScaling, seed: seed + k });
          }
        }
      }
    }
  }
  return runs;
}

/** The run file's name in the resume directory. */
function runFileName(c: SweepRunConfig): string {
  return `run_${c.norm.replace(':', '-')}_${c.bn.replace(':', '-')}_W${c.devices}_b${c.perDeviceBatch}_lr-${c.lrScaling}_seed${c.seed}.json`;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The settings a run's result depends on: the sweep's, less its range of seeds (each run has its own). */
function runSettings(settings: SweepSettings): Omit<SweepSettings, 'seed' | 'seeds'> {
  const { seed: _seed, seeds: _seeds, ...rest } = settings;
  return rest;
}

/** Reads a finished run back; undefined when there is none. Refuses a file of another sweep's settings. */
function readRunFile(
  dir: string,
  config: SweepRunConfig,
  sweepSettings: SweepSettings,
): { run: TrainRunReport } | { diverged: DivergedRun } | undefined {
  const settings = runSettings(sweepSettings);
  const path = join(dir, runFileName(config));
  if (!existsSync(path)) return undefined;
  let parsed: { version?: unknown; settings?: unknown; config?: unknown; run?: TrainRunReport; diverged?: DivergedRun };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError(
      `${path}: not a sweep run file (${err instanceof SyntaxError ? err.message : describeFsError(err)}); remove it to train the run again`,
    );
  }
  requireInput(
    parsed.version === SWEEP_RUN_FILE_VERSION,
    () => `${path}: a run file of version ${JSON.stringify(parsed.version)}, expected ${SWEEP_RUN_FILE_VERSION}`,
  );
  if (!sameJson(parsed.settings, settings)) {
    const theirs = (parsed.settings ?? {}) as Record<string, unknown>;
    const differ = Object.keys(settings).filter(
      (k) => !sameJson(theirs[k], (settings as unknown as Record<string, unknown>)[k]),
    );
    throw new InputError(
      `${path}: trained with other settings (${differ.map((k) => `${k} ${JSON.stringify(theirs[k])}, now ${JSON.stringify((settings as unknown as Record<string, unknown>)[k])}`).join('; ')}): resume with the same settings, or use another directory`,
    );
  }
  requireInput(
    sameJson(parsed.config, config),
    () => `${path}: its configuration does not match its name; remove it to train the run again`,
  );
  const d = parsed.diverged;
  if (d !== undefined) {
    requireInput(
      parsed.run === undefined &&
        Number.isSafeInteger(d.epoch) &&
        Number.isSafeInteger(d.step) &&
        typeof d.what === 'string' &&
        Number.isFinite(d.lr),
      () => `${path}: a diverged run without its epoch, step, what and lr; remove it to train the run again`,
    );
    return { diverged: { epoch: d.epoch, step: d.step, what: d.what, lr: d.lr } };
  }
  requireInput(
    parsed.run !== undefined && Array.isArray(parsed.run.epochs) && parsed.run.epochs.length > 0,
    () => `${path}: neither a finished nor a diverged run; remove it to train the run again`,
  );
  return { run: parsed.run };
}

function checkSweepOptions(options: SweepOptions): { seeds: number; seed: number; jobs: number } {
  checkOptions('options', options);
  if (options.seeds !== undefined) checkWhole('seeds', options.seeds, 1, MAX_SWEEP_SEEDS);
  if (options.seed !== undefined) checkWhole('seed', options.seed);
  requireInput(
    Array.isArray(options.perDeviceBatches) && options.perDeviceBatches.length > 0,
    '--per-device-batch: give at least one per-device batch size',
  );
  const seeds = options.seeds ?? 3;
  const seed = options.seed ?? 0;
  requireInput(
    Number.isSafeInteger(seeds) && seeds >= 1 && seeds <= MAX_SWEEP_SEEDS,
    () => `seeds must be a whole number from 1 to ${MAX_SWEEP_SEEDS}, got ${seeds}`,
  );
  requireInput(Number.isSafeInteger(seed) && seed >= 0, () => `seed must be a whole number >= 0, got ${seed}`);
  requireInput(
    options.epochs === undefined || options.steps === undefined,
    'give a budget of --epochs or of --steps, not both',
  );
  const norms = options.norms ?? ['batch'];
  requireInput(Array.isArray(norms) && norms.length > 0, '--norm: give at least one normalization');
  const names = norms.map((norm) => modelNormName(parseModelNorm(norm)));
  requireInput(new Set(names).size === names.length, '--norm: a normalization is given twice');
  for (const [name, list] of [
    ['per-device batch', options.perDeviceBatches],
    ['devices', options.devices ?? [8]],
  ] as const) {
    for (const v of list)
      requireInput(Number.isSafeInteger(v) && v >= 1, () => `${name} must be a whole number >= 1, got ${v}`);
    requireInput(new Set(list).size === list.length, () => `${name}: a value is given twice`);
  }
  requireInput(new Set(options.bn ?? []).size === (options.bn ?? []).length, '--bn: a mode is given twice');
  for (const s of options.lrScaling ?? ['none'])
    requireInput(s === 'none' || s === 'linear', () => `lr scaling must be none or linear, got '${s}'`);
  const jobs = options.jobs ?? availableParallelism();
  requireInput(Number.isSafeInteger(jobs) && jobs >= 1, () => `jobs must be a whole number >= 1, got ${jobs}`);
  return { seeds, seed, jobs };
}

/**
 * Runs a grid of training runs over seeds and summarizes each configuration with 95% confidence
 * intervals (Student's t over the seeds) and its gap to sync BN.
 * @param options - the grid, the seeds, the budget and train's settings.
 * @returns one row per configuration, and how many runs were trained and reused.
 * @throws InputError for a bad grid or settings (before any run), or a resume directory holding
 *   runs of other settings.
 * @throws InterruptedError when `signal` is aborted (finished runs stay in `resumeDir`).
 * A run that diverges (loss or weights NaN or infinite) is recorded as such, not thrown: its
 * configuration's means are over the seeds that did not diverge, and `diverged` counts the others.
 * @example
 * ```ts
 * const r = await sweepExperiment({ perDeviceBatches: [2, 8], bn: ['local', 'sync'], devices: [4], seeds: 3, steps: 50, subset: 2000 });
 * for (const row of r.rows) console.log(row.bn, row.perDeviceBatch, row.testAccMean, row.testAccCi95);
 * ```
 */
export async function sweepExperiment(options: SweepOptions): Promise<SweepReport> {
  const { seeds, seed, jobs } = checkSweepOptions(options);
  const grid = gridOf(options, seeds, seed);
  requireInput(
    grid.length <= MAX_SWEEP_RUNS,
    () => `the grid makes ${grid.length} runs; the limit is ${MAX_SWEEP_RUNS}`,
  );
  const settings: SweepSettings = {
    model: options.model ?? 'lenet-bn',
    dataset: options.dataset ?? 'synthetic',
    subset: options.subset ?? null,
    epochs: options.steps === undefined ? (options.epochs ?? 1) : null,
    steps: options.steps ?? null,
    lr: options.lr ?? 1,
    momentum: options.momentum ?? 0,
    weightDecay: options.weightDecay ?? 0,
    stats: options.stats ?? 'sums',
    evalStats: options.evalStats ?? 'rank0',
    preciseBatches: options.preciseBatches ?? 10,
    seed,
    seeds,
  };
  const dir = options.resumeDir;
  if (dir !== undefined) {
    try {
      if (existsSync(dir)) requireInput(statSync(dir).isDirectory(), () => `--resume ${dir}: not a directory`);
      else mkdirSync(dir, { recursive: true });
      readdirSync(dir);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`--resume ${dir}: ${describeFsError(err)}`);
    }
  }
  const results: (SweepRunResult | undefined)[] = grid.map((config) => {
    const saved = dir === undefined ? undefined : readRunFile(dir, config, settings);
    return saved ? { config, ...saved, reused: true } : undefined;
  });
  const reused = results.filter((r) => r !== undefined).length;
  let finished = 0;
  for (const r of results) if (r) options.onRun?.(r, ++finished, grid.length);

  // Each run reports its own steps; the sweep's progress sums them over the runs.
  const pending = grid.map((_, i) => i).filter((i) => results[i] === undefined);
  const stepsDone = new Map<number, { done: number; total: number }>();
  const report = (label: string) => {
    let done = 0;
    let total = 0;
    for (const v of stepsDone.values()) {
      done += v.done;
      total += v.total;
    }
    const unknown = pending.length - stepsDone.size;
    const perRun = stepsDone.size > 0 ? total / stepsDone.size : 1;
    options.onProgress?.(done, total + unknown * perRun, label);
  };
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let firstError: unknown;
  let next = 0;
  /** Keeps a finished or diverged run: in the results, in the resume directory, and announced. */
  const record = async (index: number, result: SweepRunResult) => {
    if (dir !== undefined) {
      const { config, run, diverged } = result;
      const file = { version: SWEEP_RUN_FILE_VERSION, settings: runSettings(settings), config, run, diverged };
      const name = runFileName(config);
      await writeFilesAtomically(dir, [{ name, bytes: `${JSON.stringify(file, null, 1)}\n` }]);
    }
    results[index] = result;
    options.onRun?.(result, ++finished, grid.length);
  };
  const worker = async () => {
    while (next < pending.length && firstError === undefined) {
      const index = pending[next++];
      const config = grid[index];
      const position = `run ${index + 1}/${grid.length}`;
      try {
        throwIfInterrupted(controller.signal);
        const r = await trainExperiment({
          model: options.model,
          dataset: options.dataset,
          dataDir: options.dataDir,
          subset: options.subset,
          devices: config.devices,
          threads: options.threads ?? 1,
          perDeviceBatches: [config.perDeviceBatch],
          // A normalization that does not use the batch ignores the mode (train runs it once).
          bn: [config.bn === NO_BN_MODE ? 'local' : config.bn],
          norm: [config.norm],
          ...(options.steps === undefined ? { epochs: options.epochs ?? 1 } : { steps: options.steps }),
          lr: options.lr,
          lrScaling: config.lrScaling,
          momentum: options.momentum,
          weightDecay: options.weightDecay,
          seed: config.seed,
          stats: options.stats,
          algorithm: options.algorithm,
          evalStats: options.evalStats,
          preciseBatches: options.preciseBatches,
          timeoutMs: options.timeoutMs,
          kernels: options.kernels,
          signal: controller.signal,
          onProgress: (done, total, label) => {
            stepsDone.set(index, { done, total });
            report(
              `${position}: ${label.replace(/^([^,]+), b = (\d+), /, `$1 W=${config.devices} b=$2 seed ${config.seed}, `)}`,
            );
          },
        });
        await record(index, { config, run: r.runs[0], reused: false });
      } catch (err) {
        let failure = err;
        // A run that diverges is a result (a learning rate too large for its batch), not the sweep's end.
        if (err instanceof DivergedError && !controller.signal.aborted) {
          const diverged = { epoch: err.epoch, step: err.step, what: err.what, lr: scaledLr(options.lr ?? 1, config) };
          try {
            await record(index, { config, diverged, reused: false });
            continue;
          } catch (writeError) {
            failure = writeError;
          }
        }
        if (firstError === undefined) firstError = failure;
        controller.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, pending.length)) }, worker));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (firstError !== undefined) {
    // An abort from outside wins over the errors it caused in the runs it stopped.
    if (options.signal?.aborted) throw new InterruptedError();
    throw firstError;
  }
  return { settings, trained: grid.length - reused, reused, rows: summarize(grid, results as SweepRunResult[]) };
}

/** The learning rate a run of `config` trains with: train's linear rule (lr x global batch / 256) or the base. */
function scaledLr(base: number, config: SweepRunConfig): number {
  return config.lrScaling === 'linear' ? (base * config.perDeviceBatch * config.devices) / LR_REFERENCE_BATCH : base;
}

/** Groups runs by configuration, in grid order, and summarizes each over its seeds. */
function summarize(grid: readonly SweepRunConfig[], results: readonly SweepRunResult[]): SweepRow[] {
  const groups = new Map<string, SweepRunResult[]>();
  for (const [i, c] of grid.entries()) {
    const key = JSON.stringify([c.norm, c.devices, c.lrScaling, c.perDeviceBatch, c.bn]);
    const group = groups.get(key) ?? [];
    group.push(results[i]);
    groups.set(key, group);
  }
  const rows = [...groups.values()].map((runs) => {
    const c = runs[0].config;
    const finalOf = (r: SweepRunResult) => (r.run ? r.run.epochs[r.run.epochs.length - 1] : undefined);
    const final = runs.map(finalOf).filter((e) => e !== undefined);
    // Over the seeds that did not diverge; none when every one did.
    const summary = (values: number[]) => (values.length > 0 ? meanCi95(values) : { mean: null, ci95: null });
    const train = summary(final.map((e) => e.trainAcc));
    const test = summary(final.map((e) => e.testAcc));
    const precise = summary(final.map((e) => e.testAccPrecise));
    const batch = summary(final.map((e) => e.testAccBatch));
    return {
      bn: c.bn,
      norm: c.norm,
      perDeviceBatch: c.perDeviceBatch,
      devices: c.devices,
      seeds: runs.length,
      trainAccMean: train.mean,
      trainAccCi95: train.ci95,
      testAccMean: test.mean,
      testAccCi95: test.ci95,
      gapVsSync: null as number | null,
      lrScaling: c.lrScaling,
      lr: runs[0].run?.lr ?? (runs[0].diverged as DivergedRun).lr,
      testAccPreciseMean: precise.mean,
      testAccPreciseCi95: precise.ci95,
      testAccBatchMean: batch.mean,
      testAccBatchCi95: batch.ci95,
      testAccBySeed: runs.map((r) => finalOf(r)?.testAcc ?? null),
      diverged: runs.filter((r) => r.diverged !== undefined).length,
    };
  });
  for (const row of rows) {
    const sync = rows.find(
      (r) =>
        r.bn === 'sync' &&
        r.norm === 'batch' &&
        r.devices === row.devices &&
        r.lrScaling === row.lrScaling &&
        r.perDeviceBatch === row.perDeviceBatch,
    );
    row.gapVsSync =
      sync && row.testAccMean !== null && sync.testAccMean !== null ? row.testAccMean - sync.testAccMean : null;
  }
  return rows;
}
