/**
 * `train`: data-parallel training of a real network on real data across the simulated devices,
 * once per BN mode (and per-device batch size) asked for, each run from the same initial
 * parameters and the same example order. Every epoch is evaluated three ways: with the running
 * statistics, with precise BN (population statistics recomputed over K training batches with the
 * weights frozen), and with batch statistics at the training per-device batch size.
 */
import type { StatsMethod } from '../bn/batch-moments.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import { MAX_DEVICES } from '../cluster/cluster.js';
import { modeName, parseMode } from '../bn/modes.js';
import { epochBatches, gatherBatch } from '../data/batches.js';
import type { Dataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { loadSynthetic } from '../data/synthetic.js';
import { SyncBnError, requireInput } from '../errors.js';
import type { KernelBackend } from '../kernels/backend.js';
import { firstNonFinite } from '../tensor/finite.js';
import { type ModelName, MODEL_NAMES } from '../train/protocol.js';
import { type ModelNorm, modelNormName, parseModelNorm } from '../train/model-norm.js';
import { IOFFE_SCHEDULE, type RenormSchedule, checkRenormSchedule } from '../norm/batch-renorm.js';
import { DEFAULT_BN_EPS, DEFAULT_BN_MOMENTUM, type SharedSet, Trainer, sharedSet } from '../train/trainer.js';
import { type ProgressFn, throwIfInterrupted } from './interrupt.js';
import { checkTrainOptions } from './option-checks.js';

/**
 * A training run whose loss or weights became NaN or infinite (a learning rate too large, most
 * often): the experiment stops at that step and reports nothing as if it had finished.
 */
export class DivergedError extends SyncBnError {
  /** 'E_DIVERGED': a runtime failure, exit code 1. */
  override readonly code = 'E_DIVERGED';
  /** Always 'DivergedError'. */
  override readonly name = 'DivergedError';
  /**
   * @param run - the run, as `runLabel` names it.
   * @param epoch - the 1-based epoch.
   * @param step - the 1-based step within the epoch.
   * @param what - what became non-finite.
   */
  constructor(
    /** The run, as the table names it (e.g. "sync W=8 b=32 lr=1"). */
    readonly run: string,
    /** 1-based epoch and step within the epoch. */
    readonly epoch: number,
    /** 1-based step within the epoch. */
    readonly step: number,
    /** What became non-finite: "loss NaN" or "weights (infinity)". */
    readonly what: string,
  ) {
    super(`diverged: ${what} in run ${run} at epoch ${epoch}, step ${step}; nothing was written (try a smaller --lr)`);
  }
}

/**
 * Whether a normalization looks across examples (batch norm and Batch Renorm do; group norm,
 * layer norm, instance norm and FRN never do, so the BN mode cannot change them).
 * @param norm - the normalization.
 * @returns true when its statistics include the batch axis.
 */
export function usesBatch(norm: ModelNorm): boolean {
  return norm.kind === 'batch' || norm.kind === 'batch-renorm';
}

/** The BN mode a run reports when its normalization does not use the batch. */
export const NO_BN_MODE = 'none';

/**
 * A run's normalization as tables and plots name it: the BN mode for batch norm ("sync"),
 * "batch-renorm sync" for Batch Renorm, the normalization alone otherwise ("group-norm:2").
 * @param run - the run.
 * @returns its label.
 */
export function normalizationLabel(run: Pick<RunHeader, 'bn' | 'norm'>): string {
  if (run.norm === 'batch') return run.bn;
  return run.bn === NO_BN_MODE ? run.norm : `${run.norm} ${run.bn}`;
}

/**
 * How a run is named in messages and tables: normalization and BN mode, devices, per-device
 * batch and learning rate.
 *
 * @param run - the run's header.
 * @returns e.g. "sync W=8 b=32 lr=1" or "group-norm:2 W=8 b=2 lr=0.0625".
 */
export function runLabel(run: RunHeader): string {
  const lr =
    run.lr >= 1e6 || run.lr < 1e-3
      ? run.lr.toExponential(2).replace(/\.?0+e/, 'e')
      : String(Number(run.lr.toPrecision(3)));
  return `${normalizationLabel(run)} W=${run.devices} b=${run.perDeviceBatch} lr=${lr}`;
}

/** Throws DivergedError when the step's loss or rank 0's weights (all replicas hold the same) are not finite. */
function checkFiniteStep(trainer: Trainer, lossSum: number, header: RunHeader, epoch: number, step: number): void {
  const fail = (what: string) => {
    throw new DivergedError(runLabel(header), epoch, step, what);
  };
  if (!Number.isFinite(lossSum)) fail(`loss ${Number.isNaN(lossSum) ? 'NaN' : 'infinity'}`);
  const params = trainer.params(0);
  const bad = firstNonFinite(params);
  if (bad >= 0)
    fail(`weights ${Number.isNaN(params[bad]) ? 'NaN' : 'infinity'} (parameter ${bad} of ${params.length})`);
}

/**
 * A dataset training can run on: 'synthetic' (seeded, needs nothing installed, so tests and CI
 * can train) or 'fashion-mnist' (Debian's dataset-fashion-mnist, IDX files).
 */
export type DatasetName = 'synthetic' | 'fashion-mnist';
/** Every {@link DatasetName}. */
export const DATASET_NAMES: readonly DatasetName[] = ['synthetic', 'fashion-mnist'];

/** Most epochs per run. */
export const MAX_TRAIN_EPOCHS = 1000;
/** Most runs (BN modes x per-device batch sizes) in one experiment. */
export const MAX_TRAIN_RUNS = 64;

/** The batch the learning rate is given for, when `lrScaling` is 'linear' (Goyal et al.'s rule). */
export const LR_REFERENCE_BATCH = 256;

/** What {@link trainExperiment} trains, on what, and how; every field is optional. */
export interface TrainOptions {
  /** Worker threads hosting the devices (1 to the devices); default min(devices, cores). Results do not depend on it. */
  readonly threads?: number;
  /** The network; default 'lenet-bn'. */
  readonly model?: ModelName;
  /** The data; default 'synthetic'. */
  readonly dataset?: DatasetName;
  /** Where Fashion-MNIST's IDX files are; default /usr/share/datasets/fashion-mnist. */
  readonly dataDir?: string;
  /** Training examples to use (the first ones); default all. */
  readonly subset?: number;
  /** W, simulated devices, 1 to MAX_DEVICES; default 8. */
  readonly devices?: number;
  /** Global batch size (split over the devices); default 256; ignored with perDeviceBatches. */
  readonly batch?: number;
  /** Per-device batch sizes: each gives a run with global batch b x W. */
  readonly perDeviceBatches?: readonly number[];
  /** BN modes to train with, one run each ('local', 'sync', 'group:K', 'ghost:G'); default local and sync. */
  readonly bn?: readonly string[];
  /**
   * Normalizations at the model's BN positions, as on the command line: batch (default),
   * batch-renorm, group-norm:G, layer-norm, instance-norm, frn. Batch norm and Batch Renorm run
   * once per BN mode of `bn`; the others, which never look across examples, once (BN mode "none").
   */
  readonly norm?: readonly string[];
  /** Batch Renorm's warm-up of r_max and d_max by step; default Ioffe 2017's. */
  readonly renormSchedule?: RenormSchedule;
  /** Epochs per run, 1 to MAX_TRAIN_EPOCHS; default 5. */
  readonly epochs?: number;
  /** A budget of training steps per run instead of whole epochs: the run stops after this many (its last epoch is partial), then evaluates. */
  readonly steps?: number;
  /** SGD learning rate, > 0; default 1.0 (for the batch LR_REFERENCE_BATCH with 'linear' scaling). */
  readonly lr?: number;
  /** 'linear' scales lr by global batch / LR_REFERENCE_BATCH (Goyal et al.); default 'none'. */
  readonly lrScaling?: 'none' | 'linear';
  /** SGD momentum; default 0. */
  readonly momentum?: number;
  /** SGD weight decay; default 0. */
  readonly weightDecay?: number;
  /** Seed of the initial parameters, the example order and the synthetic data; default 0. */
  readonly seed?: number;
  /** How the BN layers compute and merge statistics; default 'sums'. */
  readonly stats?: StatsMethod;
  /** The all-reduce of the BN statistics and the gradients; default the trainer's ('allgather'). */
  readonly algorithm?: AlgorithmName;
  /** Whose running statistics testAcc uses in local mode: rank 0's (DDP) or the mean over ranks. */
  readonly evalStats?: 'rank0' | 'average';
  /** Training batches precise BN recomputes the statistics over; default 10. */
  readonly preciseBatches?: number;
  /** How long a device waits for a peer, in ms; default the trainer's (30,000). */
  readonly timeoutMs?: number;
  /** The kernels the devices run (`wasm` or `js`); default SYNCBN_KERNELS, else `wasm` (see `TrainerOptions`). */
  readonly kernels?: KernelBackend;
  /** Checked before every step; an abort throws InterruptedError and closes the trainer. */
  readonly signal?: AbortSignal;
  /** Called after every step; default none. */
  readonly onProgress?: ProgressFn;
  /** Called after every epoch of every run (the CLI prints it as it comes). */
  readonly onEpoch?: (run: RunHeader, epoch: EpochRow) => void;
}

/** One epoch of one run (its JSON, with snake_case keys, is src/report/json/train-json.ts's). */
export interface EpochRow {
  /** 1-based. */
  readonly epoch: number;
  /** Mean loss over the epoch's training examples. */
  readonly trainLoss: number;
  /** Accuracy on the training examples, as the steps saw them (train-mode BN). */
  readonly trainAcc: number;
  /** With the running statistics (rank 0's, or averaged over ranks when asked). */
  readonly testAcc: number;
  /** With precise BN: population statistics recomputed over `preciseBatches` training batches, weights frozen. */
  readonly testAccPrecise: number;
  /** With batch statistics at the training per-device batch size (what train mode would do at test time). */
  readonly testAccBatch: number;
  /** Wall-clock seconds of the epoch's training steps (evaluation left out). */
  readonly seconds: number;
}

/** What tells one run from another in a training experiment. */
export interface RunHeader {
  /** The normalization: batch, batch-renorm, group-norm:G, layer-norm, instance-norm or frn. */
  readonly norm: string;
  /** The BN mode, normalized ('sync', 'group:2', ...; "none" for a normalization that does not use the batch). */
  readonly bn: string;
  /** W. */
  readonly devices: number;
  /** Examples per device per step. */
  readonly perDeviceBatch: number;
  /** Examples per step over all devices. */
  readonly globalBatch: number;
  /** The learning rate used, after any scaling. */
  readonly lr: number;
}

/** One training run: its header, every epoch, and its speed. */
export interface TrainRunReport extends RunHeader {
  /** One row per epoch, in order. */
  readonly epochs: EpochRow[];
  /** Examples dropped per epoch: a final partial batch too small to give every device two. */
  readonly droppedPerEpoch: number;
  /** Steps per epoch. */
  readonly stepsPerEpoch: number;
  /** Training examples per wall-clock second, evaluation left out. */
  readonly examplesPerSecond: number;
}

/** What {@link trainExperiment} found: one report per run, and every setting used. */
export interface TrainReport {
  /** The network. */
  readonly model: ModelName;
  /** The data, and how many examples each split held. */
  readonly dataset: {
    /** Its name. */
    readonly name: DatasetName;
    /** Training examples used. */
    readonly train: number;
    /** Test examples. */
    readonly test: number;
  };
  /** Every setting as used, defaults filled in. */
  readonly settings: {
    /** Epochs per run. */
    readonly epochs: number;
    /** SGD momentum and weight decay. */
    readonly momentum: number;
    /** SGD weight decay. */
    readonly weightDecay: number;
    /** The seed. */
    readonly seed: number;
    /** 'rank0' or 'average': whose running statistics testAcc used in local mode. */
    readonly evalStats: string;
    /** Training batches of precise BN. */
    readonly preciseBatches: number;
    /** 'none' or 'linear'. */
    readonly lrScaling: string;
    /** The BN layers' running-statistics momentum (PyTorch convention) and eps, as used. */
    readonly bnMomentum: number;
    /** The BN layers' eps. */
    readonly bnEps: number;
    /** How the BN layers computed and merged statistics. */
    readonly stats: StatsMethod;
    /** Batch Renorm's warm-up (present when a run uses batch-renorm). */
    readonly renormSchedule?: {
      /** Steps with r_max 1 and d_max 0. */
      readonly warmupSteps: number;
      /** r_max at the end of its ramp. */
      readonly rMax: number;
      /** The step r_max reaches it. */
      readonly rMaxSteps: number;
      /** d_max at the end of its ramp. */
      readonly dMax: number;
      /** The step d_max reaches it. */
      readonly dMaxSteps: number;
    };
  };
  /** One per (per-device batch, BN mode), batch sizes outermost. */
  readonly runs: TrainRunReport[];
}

/**
 * Loads a dataset by name, so the CLI and the experiment refuse an unknown one the same way.
 *
 * @param name - the dataset.
 * @param options - where Fashion-MNIST is, how many training examples to keep, the synthetic seed.
 * @returns the training and test sets.
 * @throws InputError for an unknown name or Fashion-MNIST files that are missing or malformed.
 */
export function loadDataset(
  name: DatasetName,
  options: { dataDir?: string; subset?: number; seed?: number },
): { train: Dataset; test: Dataset } {
  requireInput(DATASET_NAMES.includes(name), () => `unknown dataset '${name}' (${DATASET_NAMES.join(', ')})`);
  return name === 'fashion-mnist'
    ? loadFashionMnist({ dataDir: options.dataDir, subset: options.subset })
    : loadSynthetic({ subset: options.subset, seed: options.seed });
}

/**
 * Trains the model once per (per-device batch size, BN mode), each run from the same initial
 * parameters and example order, so the runs differ only in how BN sees the batch. Evaluates every
 * epoch three ways (running statistics, precise BN, batch statistics).
 *
 * @param options - the model, data, devices, modes and optimizer; every field has a default.
 * @returns one report per run, with every setting used.
 * @throws InputError for bad options, before any thread starts.
 * @throws {@link DivergedError} when a run's loss or weights stop being finite.
 * @throws InterruptedError when `signal` aborts; the trainer is closed.
 * @throws a DeviceFailureError when a device fails.
 * @example
 * ```ts
 * const report = await trainExperiment({ devices: 4, perDeviceBatches: [2, 32], bn: ['local', 'sync'], epochs: 2 });
 * for (const run of report.runs) console.log(runLabel(run), run.epochs.at(-1)?.testAcc);
 * ```
 */
export async function trainExperiment(options: TrainOptions = {}): Promise<TrainReport> {
  checkTrainOptions(options);
  const model = options.model ?? 'lenet-bn';
  const devices = options.devices ?? 8;
  const stepBudget = options.steps;
  requireInput(
    stepBudget === undefined || (Number.isSafeInteger(stepBudget) && stepBudget >= 1),
    () => `steps must be a whole number >= 1, got ${stepBudget}`,
  );
  requireInput(
    stepBudget === undefined || options.epochs === undefined,
    'give a budget of epochs or of steps, not both',
  );
  const epochs = stepBudget === undefined ? (options.epochs ?? 5) : MAX_TRAIN_EPOCHS;
  const seed = options.seed ?? 0;
  const modes = options.bn ?? ['local', 'sync'];
  const lrBase = options.lr ?? 1.0;
  const preciseBatches = options.preciseBatches ?? 10;
  requireInput(MODEL_NAMES.includes(model), () => `unknown model '${model}' (${MODEL_NAMES.join(', ')})`);
  requireInput(Number.isSafeInteger(epochs) && epochs >= 1, () => `epochs must be a whole number >= 1, got ${epochs}`);
  requireInput(epochs <= MAX_TRAIN_EPOCHS, () => `epochs must be at most ${MAX_TRAIN_EPOCHS}, got ${epochs}`);
  requireInput(
    Number.isSafeInteger(devices) && devices >= 1 && devices <= MAX_DEVICES,
    () => `devices must be a whole number from 1 to ${MAX_DEVICES}, got ${devices}`,
  );
  requireInput(modes.length > 0, '--bn: give at least one mode');
  for (const m of modes) parseMode(m, devices);
  const norms = (options.norm ?? ['batch']).map((n) => parseModelNorm(n));
  requireInput(norms.length > 0, '--norm: give at least one normalization');
  if (options.renormSchedule !== undefined) checkRenormSchedule('renormSchedule', options.renormSchedule);
  // Each normalization that uses the batch runs in every BN mode; the others once.
  const pairs: { norm: ModelNorm; mode: string; bn: string }[] = [];
  for (const norm of norms) {
    if (!usesBatch(norm)) {
      pairs.push({ norm, mode: 'local', bn: NO_BN_MODE });
      continue;
    }
    for (const mode of modes) {
      const parsed = parseMode(mode, devices);
      requireInput(
        !(norm.kind === 'batch-renorm' && parsed.kind === 'ghost'),
        () =>
          `--norm batch-renorm runs in local, sync or group:K mode, not ${mode}: each ghost chunk would need its own r and d`,
      );
      pairs.push({ norm, mode, bn: modeName(parsed) });
    }
  }
  requireInput(Number.isFinite(lrBase) && lrBase > 0, () => `learning rate must be > 0, got ${lrBase}`);
  requireInput(
    Number.isSafeInteger(preciseBatches) && preciseBatches >= 1,
    () => `precise-BN batches must be a whole number >= 1, got ${preciseBatches}`,
  );
  const grid: { perDevice: number; global: number }[] = options.perDeviceBatches
    ? options.perDeviceBatches.map((b) => ({ perDevice: b, global: b * devices }))
    : [{ perDevice: Math.ceil((options.batch ?? 256) / devices), global: options.batch ?? 256 }];
  requireInput(
    grid.length * pairs.length <= MAX_TRAIN_RUNS,
    () =>
      `${pairs.length} normalizations and BN modes x ${grid.length} batch sizes make ${grid.length * pairs.length} runs; the limit is ${MAX_TRAIN_RUNS}`,
  );
  for (const g of grid) {
    requireInput(
      g.global >= 2 * devices,
      () => `a global batch of ${g.global} cannot give each of ${devices} devices two examples`,
    );
  }

  const { train, test } = loadDataset(options.dataset ?? 'synthetic', {
    dataDir: options.dataDir,
    subset: options.subset,
    seed,
  });
  for (const g of grid)
    requireInput(
      g.global <= train.count,
      () => `the global batch (${g.global}) is larger than the training set (${train.count} examples)`,
    );
  const spec = { name: model, inputShape: [...train.shape], classes: train.classes };
  const testSet = sharedSet(test.images, test.labels, test.count);
  const trainSet = sharedSet(train.images, train.labels, train.count);
  const runs: TrainRunReport[] = [];
  const totalSteps =
    stepBudget === undefined
      ? grid.reduce((a, g) => a + Math.floor(train.count / g.global) + 1, 0) * pairs.length * epochs
      : stepBudget * grid.length * pairs.length;
  let stepsDone = 0;

  for (const g of grid) {
    for (const { norm, mode, bn } of pairs) {
      const lr = options.lrScaling === 'linear' ? (lrBase * g.global) / LR_REFERENCE_BATCH : lrBase;
      const header: RunHeader = {
        norm: modelNormName(norm),
        bn,
        devices,
        perDeviceBatch: g.perDevice,
        globalBatch: g.global,
        lr,
      };
      const trainer = new Trainer({
        model: spec,
        devices,
        threads: options.threads,
        bn: mode,
        norm,
        renormSchedule: options.renormSchedule,
        optimizer: { lr, momentum: options.momentum ?? 0, weightDecay: options.weightDecay ?? 0 },
        maxBatch: g.global,
        seed,
        stats: options.stats,
        algorithm: options.algorithm,
        timeoutMs: options.timeoutMs,
        kernels: options.kernels,
      });
      const rows: EpochRow[] = [];
      let dropped = 0;
      let steps = 0;
      let trainSeconds = 0;
      let examples = 0;
      let stepsTaken = 0;
      try {
        for (let epoch = 0; epoch < epochs && (stepBudget === undefined || stepsTaken < stepBudget); epoch++) {
          const t0 = performance.now();
          const plan = epochBatches(train.count, { batchSize: g.global, devices, seed, epoch });
          dropped = plan.dropped;
          steps = plan.steps;
          let lossSum = 0;
          let correct = 0;
          let count = 0;
          for (const [b, indices] of plan.batches.entries()) {
            if (stepBudget !== undefined && stepsTaken >= stepBudget) break;
            stepsTaken++;
            throwIfInterrupted(options.signal);
            gatherBatch(train, indices, trainer.batchImages, trainer.batchLabels);
            const r = await trainer.step(indices.length);
            checkFiniteStep(trainer, r.lossSum, header, epoch + 1, b + 1);
            lossSum += r.lossSum;
            correct += r.correct;
            count += r.count;
            options.onProgress?.(
              ++stepsDone,
              totalSteps,
              `${normalizationLabel(header)}, b = ${g.perDevice}, ${stepBudget === undefined ? `epoch ${epoch + 1}/${epochs}` : `epoch ${epoch + 1}, step ${stepsTaken}/${stepBudget}`}`,
            );
          }
          const stepSeconds = (performance.now() - t0) / 1000;
          trainSeconds += stepSeconds;
          examples += count;
          throwIfInterrupted(options.signal);
          const row = await evaluateThreeWays(
            trainer,
            testSet,
            trainSet,
            g,
            mode,
            options.evalStats ?? 'rank0',
            preciseBatches,
            usesBatch(norm),
          );
          const epochRow: EpochRow = {
            epoch: epoch + 1,
            trainLoss: lossSum / count,
            trainAcc: correct / count,
            ...row,
            seconds: stepSeconds,
          };
          rows.push(epochRow);
          options.onEpoch?.(header, epochRow);
        }
      } finally {
        await trainer.close();
      }
      runs.push({
        ...header,
        epochs: rows,
        droppedPerEpoch: dropped,
        stepsPerEpoch: steps,
        examplesPerSecond: examples / trainSeconds,
      });
    }
  }
  return {
    model,
    dataset: { name: options.dataset ?? 'synthetic', train: train.count, test: test.count },
    settings: {
      epochs: stepBudget === undefined ? epochs : Math.max(0, ...runs.map((run) => run.epochs.length)),
      momentum: options.momentum ?? 0,
      weightDecay: options.weightDecay ?? 0,
      seed,
      evalStats: options.evalStats ?? 'rank0',
      preciseBatches: preciseBatches,
      lrScaling: options.lrScaling ?? 'none',
      bnMomentum: DEFAULT_BN_MOMENTUM,
      bnEps: DEFAULT_BN_EPS,
      stats: options.stats ?? 'sums',
      ...(norms.some((n) => n.kind === 'batch-renorm')
        ? { renormSchedule: scheduleJson(options.renormSchedule ?? IOFFE_SCHEDULE) }
        : {}),
    },
    runs,
  };
}

async function evaluateThreeWays(
  trainer: Trainer,
  testSet: SharedSet,
  trainSet: SharedSet,
  grid: { perDevice: number; global: number },
  mode: string,
  evalStats: 'rank0' | 'average',
  preciseBatches: number,
  batchDependent: boolean,
): Promise<Pick<EpochRow, 'testAcc' | 'testAccPrecise' | 'testAccBatch'>> {
  if (!batchDependent) {
    // No running statistics and nothing that depends on the batch: the three evaluations are one.
    const only = await trainer.evaluate(testSet, 'running', { chunk: 500 });
    return { testAcc: only.accuracy, testAccPrecise: only.accuracy, testAccBatch: only.accuracy };
  }
  const averaged = evalStats === 'average' && mode === 'local' ? trainer.averagedBnStatistics() : undefined;
  const running = await trainer.evaluate(testSet, 'running', { chunk: 500, stats: averaged });
  // Precise BN over the first K global batches of the (unshuffled) training set.
  const preciseSet: SharedSet = { ...trainSet, count: Math.min(trainSet.count, preciseBatches * grid.global) };
  const precise = await trainer.evaluate(testSet, 'running', {
    chunk: 500,
    stats: await trainer.preciseStatistics(preciseSet, grid.global),
  });
  const batch = await trainer.evaluate(testSet, 'batch', { chunk: grid.perDevice });
  return { testAcc: running.accuracy, testAccPrecise: precise.accuracy, testAccBatch: batch.accuracy };
}

function scheduleJson(s: RenormSchedule) {
  return { warmupSteps: s.warmupSteps, rMax: s.rMax, rMaxSteps: s.rMaxSteps, dMax: s.dMax, dMaxSteps: s.dMaxSteps };
}
