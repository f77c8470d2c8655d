/**
 * The coordinator of data-parallel training: W replicas on T device threads, their parameters,
 * momentum buffers and BN statistics in shared memory, a global batch per step split over them
 * as numpy.array_split does. It starts every replica from the same initial parameters, so that
 * with identical averaged gradients they stay bitwise identical.
 */
import type { StatsMethod } from '../bn/batch-moments.js';
import { type AlgorithmName, DEFAULT_ALGORITHM, algorithmByName } from '../collectives/algorithms/index.js';
import { bnOutboxGeometry, vectorOutboxGeometry } from '../collectives/all-reduce.js';
import { allocateOutbox } from '../collectives/outbox.js';
import { CallQueue } from '../cluster/call-queue.js';
import { DevicePool } from '../cluster/device-pool.js';
import { defaultThreads } from '../cluster/placement.js';
import { type BnMode, parseMode } from '../bn/modes.js';
import {
  checkChoice,
  checkFloat32Array,
  checkFloat64Array,
  checkInteger,
  checkNumber,
  checkNumbers,
  checkObject,
  checkOptions,
  checkString,
  checkWhole,
} from '../args.js';
import { STATS_METHODS } from '../bn/batch-moments.js';
import { MAX_DEVICES } from '../cluster/cluster.js';
import { ALGORITHM_NAMES } from '../collectives/algorithms/index.js';
import { InputError, InternalError, requireInput } from '../errors.js';
import { type KernelBackend, kernelsFromEnvironment, parseKernelBackend } from '../kernels/backend.js';
import { wasmRuntime } from '../kernels/wasm-runtime.js';
import { SeededRandom } from '../tensor/random.js';
import { IOFFE_SCHEDULE, type RenormSchedule, checkRenormSchedule, renormLimits } from '../norm/batch-renorm.js';
import type { RenormContextHolder } from '../nn/batch-renorm-layer.js';
import { type ModelNorm, checkModelNorm } from './model-norm.js';
import { type BnStateLayout, bnStateLayout, buildModel, checkModelSpec } from './models.js';
import type { EvalTask, ModelSpec, OptimizerSettings, TrainBuffers, TrainStepTask, TrainSuccess } from './protocol.js';

/** BN running-statistics momentum of the replicas unless given (PyTorch's default). */
export const DEFAULT_BN_MOMENTUM = 0.1;
/** BN eps of the replicas unless given (PyTorch's default). */
export const DEFAULT_BN_EPS = 1e-5;

/** Options of {@link Trainer}: the model, the devices, the BN mode, the optimizer and the batch size. */
export interface TrainerOptions {
  /** The network every replica is. */
  readonly model: ModelSpec;
  /** W: the devices, each holding a replica (1 to MAX_DEVICES). */
  readonly devices: number;
  /** Worker threads hosting the devices (1 to W); default min(W, cores). Weights are bitwise the same for every T. */
  readonly threads?: number;
  /** BN mode across devices: local, sync, group:K or ghost:G. */
  readonly bn: string;
  /**
   * The normalization at the model's BN positions (src/train/model-norm.ts): batch norm (the
   * default), batch-renorm (its statistics follow `bn`; ghost is refused), group-norm:G,
   * layer-norm, instance-norm or frn (these ignore `bn`: they never look across examples).
   */
  readonly norm?: ModelNorm;
  /**
   * Batch Renormalization's warm-up of r_max and d_max, by step (norm batch-renorm); default
   * Ioffe 2017's (plain BN for 5000 steps, r_max 3 at 40k, d_max 5 at 25k).
   */
  readonly renormSchedule?: RenormSchedule;
  /** SGD's learning rate, momentum and weight decay. */
  readonly optimizer: OptimizerSettings;
  /** Largest global batch a step will get (at least 2 examples per device). */
  readonly maxBatch: number;
  /** Seed of the initial weights (every replica starts from the same ones). */
  readonly seed: number;
  /** How BN partial statistics are computed and merged; default 'sums'. */
  readonly stats?: StatsMethod;
  /** All-reduce of the BN statistics; default allgather. */
  readonly algorithm?: AlgorithmName;
  /** All-reduce of the gradients (a long vector: ring suits it); default ring. */
  readonly gradAlgorithm?: AlgorithmName;
  /** BN running-statistics momentum (PyTorch convention); default 0.1. */
  readonly bnMomentum?: number;
  /** BN eps; default 1e-5. */
  readonly eps?: number;
  /** How long a device may wait for a peer, in ms; default 60000. */
  readonly timeoutMs?: number;
  /**
   * The kernels every device runs: `wasm` (WebAssembly SIMD, required) or `js` (the JavaScript
   * reference). Default: the environment variable SYNCBN_KERNELS, else `wasm`.
   */
  readonly kernels?: KernelBackend;
}

/** What one training step gives: the batch's loss and accuracy, and what the devices sent. */
export interface StepResult {
  /** Sum of the per-example losses over the global batch. */
  readonly lossSum: number;
  /** Examples predicted right (before the update). */
  readonly correct: number;
  /** Examples in the step. */
  readonly count: number;
  /** Messages all devices sent (BN statistics and gradients). */
  readonly messages: number;
  /** Bytes all devices sent. */
  readonly bytes: number;
  /** The kernels the devices ran the step on, as they report it. */
  readonly kernels: KernelBackend;
}

/** What an evaluation gives. */
export interface EvalResult {
  /** Mean loss over the set. */
  readonly loss: number;
  /** Fraction of the set predicted right. */
  readonly accuracy: number;
  /** Examples evaluated. */
  readonly count: number;
}

/** Options of {@link Trainer.evaluate}. */
export interface EvaluateOptions {
  /** Examples per forward ('running') or per BN batch ('batch'), >= 1. */
  readonly chunk: number;
  /** Whose running statistics 'running' uses (default rank 0, as DDP). */
  readonly statsRank?: number;
  /** BN statistics to use instead (layer by layer, mean then var; e.g. averaged or precise). */
  readonly stats?: Float64Array;
}

/** A set of examples in shared memory that devices evaluate without copies. */
export interface SharedSet {
  /** Float32 images, one example after another. */
  readonly images: SharedArrayBuffer;
  /** Int32 labels. */
  readonly labels: SharedArrayBuffer;
  /** Examples in the set. */
  readonly count: number;
}

/**
 * Copies `count` examples (images and labels) into shared memory, for Trainer.evaluate.
 *
 * @param images - the examples' values, one example after another.
 * @param labels - their classes.
 * @param count - examples to copy.
 * @returns the set in shared memory.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 */
export function sharedSet(images: Float32Array, labels: ArrayLike<number>, count: number): SharedSet {
  checkFloat32Array('images', images);
  checkNumbers('labels', labels);
  checkWhole('count', count, 0, labels.length);
  const imageBuffer = new SharedArrayBuffer(Math.max(images.byteLength, 4));
  new Float32Array(imageBuffer).set(images);
  const labelBuffer = new SharedArrayBuffer(Math.max(count * 4, 4));
  new Int32Array(labelBuffer).set(Array.from({ length: count }, (_, i) => labels[i]));
  return { images: imageBuffer, labels: labelBuffer, count };
}

/** The examples of one step, copied into the trainer's batch buffers when the step runs. */
export interface StepExamples {
  /** At least `batch` examples, one after another (each of the model's input shape). */
  readonly images: Float32Array;
  /** At least `batch` class indices. */
  readonly labels: ArrayLike<number>;
}

/** Checks each option's type and range; what depends on several (the batch per device) is checked by the constructor. */
function checkTrainerOptions(options: TrainerOptions): void {
  checkObject('options', options);
  checkModelSpec('model', options.model);
  checkWhole('devices', options.devices, 1, MAX_DEVICES);
  checkString('bn', options.bn);
  const optimizer = checkObject<OptimizerSettings>('optimizer', options.optimizer);
  checkNumber('optimizer.lr', optimizer.lr, { above: 0 });
  checkNumber('optimizer.momentum', optimizer.momentum, { min: 0 });
  checkNumber('optimizer.weightDecay', optimizer.weightDecay, { min: 0 });
  checkWhole('maxBatch', options.maxBatch, 1);
  checkInteger('seed', options.seed);
  if (options.stats !== undefined) checkChoice('stats', options.stats, STATS_METHODS);
  if (options.algorithm !== undefined) checkChoice('algorithm', options.algorithm, ALGORITHM_NAMES);
  if (options.gradAlgorithm !== undefined) checkChoice('gradAlgorithm', options.gradAlgorithm, ALGORITHM_NAMES);
  if (options.bnMomentum !== undefined) checkNumber('bnMomentum', options.bnMomentum, { min: 0, max: 1 });
  if (options.eps !== undefined) checkNumber('eps', options.eps, { above: 0 });
  if (options.norm !== undefined) checkModelNorm('norm', options.norm);
  if (options.renormSchedule !== undefined) checkRenormSchedule('renormSchedule', options.renormSchedule);
}

/** A SharedSet argument (from sharedSet()). */
function checkSharedSet(name: string, set: unknown): SharedSet {
  const s = checkObject<SharedSet>(name, set);
  if (!(s.images instanceof SharedArrayBuffer) || !(s.labels instanceof SharedArrayBuffer))
    throw new InputError(`${name} must come from sharedSet() (images and labels in shared memory)`);
  checkWhole(`${name}.count`, s.count, 0, s.labels.byteLength / 4);
  return s;
}

/**
 * Data-parallel training of W replicas on T device threads.
 *
 * Calls never overlap: `step`, `evaluate`, `preciseStatistics` and `close` are queued and run one
 * at a time in the order they were made. A step given its `examples` copies them when it runs, so
 * `Promise.all([t.step(b, first), t.step(b, second)])` trains on `first`, then on `second`; a step
 * without them reads `batchImages` and `batchLabels` when it runs, so do not rewrite those until
 * its promise settles.
 *
 * @example
 * ```ts
 * import { Trainer, loadSynthetic, sharedSet } from 'syncbn-sim/train';
 *
 * const { train, test } = loadSynthetic({ train: 256, test: 64 });
 * const trainer = new Trainer({
 *   model: { name: 'mlp', inputShape: [1, 28, 28], classes: 10 },
 *   devices: 4,
 *   bn: 'sync',
 *   optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 0 },
 *   maxBatch: 32,
 *   seed: 0,
 * });
 * try {
 *   const size = 28 * 28;
 *   const images = train.images.subarray(0, 32 * size);
 *   const step = await trainer.step(32, { images, labels: train.labels.subarray(0, 32) });
 *   console.log(step.lossSum / step.count, step.messages);
 *   const { accuracy } = await trainer.evaluate(sharedSet(test.images, test.labels, test.count), 'running', { chunk: 64 });
 * } finally {
 *   await trainer.close();
 * }
 * ```
 */
export class Trainer {
  /** W: the devices. */
  readonly devices: number;
  /** The BN mode across devices. */
  readonly mode: BnMode;
  /** The normalization at the model's BN positions (the `norm` option, default batch norm). */
  readonly norm: ModelNorm;
  /** The kernels the devices run (the `kernels` option, resolved). */
  readonly kernels: KernelBackend;
  /** Parameters of one replica. */
  readonly paramCount: number;
  /** Where each BN layer's running statistics sit in a replica's block. */
  readonly bnLayout: BnStateLayout;
  private readonly pool: DevicePool;
  private readonly buffers: Omit<TrainBuffers, 'images' | 'labels'>;
  /** Where the coordinator writes each global batch. */
  readonly batchImages: Float32Array;
  /** Where the coordinator writes each global batch's labels. */
  readonly batchLabels: Int32Array;
  private readonly batchBuffers: { images: SharedArrayBuffer; labels: SharedArrayBuffer };
  private steps = 0;
  private readonly queue = new CallQueue();

  /**
   * Builds the model, initialises every replica with the same weights and starts the device threads.
   *
   * @param options - the model, W, the BN mode, the optimizer, the largest batch, the seed, and
   *   optionally the threads, statistics method, algorithms, BN momentum and eps, timeout and kernels.
   * @throws {@link syncbn-sim!InputError} when an option is unusable.
   * @throws {@link syncbn-sim!WasmKernelError} when the WebAssembly kernels are selected and cannot be loaded.
   */
  constructor(private readonly options: TrainerOptions) {
    checkTrainerOptions(options);
    const { devices, model } = options;
    requireInput(
      Number.isSafeInteger(devices) && devices >= 1,
      () => `devices must be a whole number >= 1, got ${devices}`,
    );
    requireInput(
      options.maxBatch >= 2 * devices,
      () => `the global batch (${options.maxBatch}) must give each of the ${devices} devices at least 2 examples`,
    );
    requireInput(
      options.optimizer.lr > 0 && Number.isFinite(options.optimizer.lr),
      () => `learning rate must be > 0, got ${options.optimizer.lr}`,
    );
    this.devices = devices;
    this.mode = parseMode(options.bn, devices);
    this.norm = options.norm ?? { kind: 'batch' };
    requireInput(
      !(this.norm.kind === 'batch-renorm' && this.mode.kind === 'ghost'),
      () =>
        `batch-renorm runs in local, sync or group:K mode, not ${options.bn}: each ghost chunk would need its own r and d`,
    );
    this.kernels =
      options.kernels === undefined ? kernelsFromEnvironment() : parseKernelBackend(options.kernels, 'kernels');
    // Load the module here first: a missing or broken build fails now, with its own message, not in every device.
    if (this.kernels === 'wasm') wasmRuntime();
    // The coordinator's own copy of the model: only to initialise the parameters once.
    const holder: RenormContextHolder = {};
    const { model: net, bnChannels } = buildModel(model, holder, this.norm);
    this.paramCount = net.paramCount;
    this.bnLayout = bnStateLayout(bnChannels);
    const P = this.paramCount;
    const params = new SharedArrayBuffer(devices * P * 4);
    const initial = new Float32Array(P);
    net.bindTo(initial, new Float32Array(P));
    net.init(new SeededRandom(options.seed));
    for (let r = 0; r < devices; r++) new Float32Array(params, r * P * 4, P).set(initial);
    const S = this.bnLayout.stride;
    const bnState = new SharedArrayBuffer(Math.max(devices * S * 8, 8));
    const states = new Float64Array(bnState);
    for (let r = 0; r < devices; r++) {
      for (let i = 0; i < bnChannels.length; i++) {
        const at = r * S + this.bnLayout.offsets[i];
        states.fill(1, at + bnChannels[i], at + 2 * bnChannels[i]); // running var starts at 1
      }
    }
    const threads =
      options.threads === undefined ? defaultThreads(devices) : checkWhole('threads', options.threads, 1, devices);
    this.pool = new DevicePool(
      devices,
      threads,
      options.timeoutMs === undefined ? 60_000 : checkNumber('timeoutMs', options.timeoutMs, { above: 0 }),
    );
    this.buffers = {
      params,
      momentum: new SharedArrayBuffer(devices * P * 4),
      bnState,
      collected: new SharedArrayBuffer(Math.max(devices * S * 8, 8)),
      bnOutbox: allocateOutbox(
        bnOutboxGeometry(
          algorithmByName(options.algorithm ?? DEFAULT_ALGORITHM),
          devices,
          this.mode.kind === 'group' ? this.mode.size : devices,
          Math.max(1, ...bnChannels),
        ),
      ),
      gradOutbox: allocateOutbox(
        vectorOutboxGeometry(algorithmByName(options.gradAlgorithm ?? 'ring'), devices, devices, P),
      ),
    };
    const size = model.inputShape.reduce((a, b) => a * b, 1);
    this.batchBuffers = {
      images: new SharedArrayBuffer(options.maxBatch * size * 4),
      labels: new SharedArrayBuffer(options.maxBatch * 4),
    };
    this.batchImages = new Float32Array(this.batchBuffers.images);
    this.batchLabels = new Int32Array(this.batchBuffers.labels);
  }

  /**
   * One DDP step on `batch` examples: those given in `examples`, or else those written into
   * batchImages / batchLabels. Queued behind every earlier call.
   *
   * @param batch - examples in the global batch, 2 per device to maxBatch; split over the devices
   *   as numpy.array_split.
   * @param examples - the examples to copy in when the step runs; without them the step reads
   *   batchImages and batchLabels.
   * @returns the loss sum, correct predictions and traffic.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable; the trainer is left as it was.
   * @throws {@link syncbn-sim!ClusterClosedError} after close() or a device failure.
   * @throws {@link syncbn-sim!DeviceFailureError} naming the device at fault; the trainer is then closed.
   */
  async step(batch: number, examples?: StepExamples): Promise<StepResult> {
    checkWhole('batch', batch);
    if (examples !== undefined) {
      checkObject('examples', examples);
      checkFloat32Array('examples.images', examples.images);
      checkNumbers('examples.labels', examples.labels);
    }
    requireInput(
      batch >= 2 * this.devices && batch <= this.options.maxBatch,
      () => `a step needs from ${2 * this.devices} (2 per device) to ${this.options.maxBatch} examples, got ${batch}`,
    );
    return this.queue.run(async () => {
      if (examples) this.copyExamples(batch, examples);
      return this.stepNow(batch);
    });
  }

  private copyExamples(batch: number, examples: StepExamples): void {
    const size = this.options.model.inputShape.reduce((a, b) => a * b, 1);
    requireInput(
      examples.images.length >= batch * size && examples.labels.length >= batch,
      () => `examples must hold ${batch} images of ${size} values and ${batch} labels`,
    );
    this.batchImages.set(examples.images.subarray(0, batch * size));
    for (let i = 0; i < batch; i++) this.batchLabels[i] = examples.labels[i];
  }

  private async stepNow(batch: number): Promise<StepResult> {
    const o = this.options;
    const firstStep = this.steps === 0;
    const replies = await this.pool.runOnAll<TrainSuccess>(
      (hosting): TrainStepTask => ({
        op: 'train-step',
        kernels: this.kernels,
        hosting,
        links: this.pool.links,
        model: o.model,
        mode: this.mode,
        norm: this.norm,
        ...(this.norm.kind === 'batch-renorm'
          ? { renormLimits: renormLimits(this.steps, o.renormSchedule ?? IOFFE_SCHEDULE) }
          : {}),
        stats: o.stats ?? 'sums',
        bnMomentum: o.bnMomentum ?? DEFAULT_BN_MOMENTUM,
        eps: o.eps ?? DEFAULT_BN_EPS,
        algorithm: o.algorithm ?? DEFAULT_ALGORITHM,
        gradAlgorithm: o.gradAlgorithm ?? 'ring',
        optimizer: o.optimizer,
        firstStep,
        batch,
        timeoutMs: this.pool.timeoutMs,
        buffers: { ...this.buffers, ...this.batchBuffers },
      }),
    );
    this.steps++;
    return { ...sumReplies(replies), kernels: devicesKernels(replies, this.kernels) };
  }

  /**
   * Accuracy on a set. 'running': BN with the running statistics of `statsRank` (replicas are
   * identical but local BN gives each device its own statistics; DDP evaluates with rank 0's),
   * or with `stats` given explicitly (averaged or precise). 'batch': BN with the statistics of each
   * chunk of `chunk` examples, as training normalizes a per-device batch.
   *
   * @param set - the examples, from sharedSet().
   * @param how - 'running' or 'batch'.
   * @param options - the chunk size, and whose statistics to use.
   * @returns the mean loss and the accuracy.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable; the trainer is left as it was.
   * @throws {@link syncbn-sim!ClusterClosedError} after close() or a device failure.
   * @throws {@link syncbn-sim!DeviceFailureError} naming the device at fault; the trainer is then closed.
   */
  async evaluate(set: SharedSet, how: 'running' | 'batch', options: EvaluateOptions): Promise<EvalResult> {
    checkSharedSet('set', set);
    checkChoice('how', how, ['running', 'batch']);
    checkOptions('options', options);
    checkWhole('options.chunk', options.chunk, 1);
    if (options.statsRank !== undefined) checkWhole('options.statsRank', options.statsRank, 0, this.devices - 1);
    if (options.stats !== undefined) checkFloat64Array('options.stats', options.stats, this.bnLayout.stride);
    return this.queue.run(() => this.evaluateNow(set, how, options));
  }

  private async evaluateNow(set: SharedSet, how: 'running' | 'batch', options: EvaluateOptions): Promise<EvalResult> {
    let statsRank = options.statsRank ?? 0;
    if (options.stats) {
      new Float64Array(this.buffers.collected, 0, this.bnLayout.stride).set(options.stats);
      statsRank = -1;
    }
    const replies = await this.runEval(set, how, options.chunk, statsRank);
    const total = sumReplies(replies);
    return {
      loss: total.lossSum / Math.max(total.count, 1),
      accuracy: total.correct / Math.max(total.count, 1),
      count: total.count,
    };
  }

  /**
   * Precise BN: population statistics recomputed with the weights frozen, from training-mode
   * forwards over whole batches of `batch` examples of `set` (each batch on one device): the
   * average of the batch means and of the (unbiased) batch variances, layer by layer.
   *
   * @param set - the examples, from sharedSet().
   * @param batch - examples per batch, >= 2.
   * @returns the statistics, layer by layer (mean then var), to pass to evaluate as `stats`.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable; the trainer is left as it was.
   * @throws {@link syncbn-sim!ClusterClosedError} after close() or a device failure.
   * @throws {@link syncbn-sim!DeviceFailureError} naming the device at fault; the trainer is then closed.
   */
  async preciseStatistics(set: SharedSet, batch: number): Promise<Float64Array> {
    checkSharedSet('set', set);
    checkWhole('batch', batch, 2);
    return this.queue.run(() => this.preciseStatisticsNow(set, batch));
  }

  private async preciseStatisticsNow(set: SharedSet, batch: number): Promise<Float64Array> {
    const S = this.bnLayout.stride;
    new Float64Array(this.buffers.collected).fill(0);
    const replies = await this.runEval(set, 'collect', batch, 0);
    const batches = perDevice(replies).reduce((a, v) => a + v[3], 0);
    const collected = new Float64Array(this.buffers.collected);
    const result = new Float64Array(S);
    for (let r = 0; r < this.devices; r++) for (let i = 0; i < S; i++) result[i] += collected[r * S + i];
    return result.map((v) => v / Math.max(batches, 1));
  }

  private async runEval(
    set: SharedSet,
    how: EvalTask['how'],
    chunk: number,
    statsRank: number,
  ): Promise<TrainSuccess[]> {
    const o = this.options;
    return this.pool.runOnAll<TrainSuccess>(
      (hosting): EvalTask => ({
        op: 'train-eval',
        kernels: this.kernels,
        how,
        hosting,
        links: this.pool.links,
        timeoutMs: this.pool.timeoutMs,
        model: o.model,
        norm: this.norm,
        stats: o.stats ?? 'sums',
        eps: o.eps ?? DEFAULT_BN_EPS,
        paramsRank: 0,
        statsRank,
        count: set.count,
        chunk,
        buffers: { ...this.buffers, images: set.images, labels: set.labels },
      }),
    );
  }

  /**
   * A copy of replica `rank`'s parameters. Refused while calls are pending (they may be
   * mid-update).
   *
   * @param rank - the replica.
   * @returns the copy.
   * @throws {@link syncbn-sim!InputError} while calls are pending, or for a bad rank.
   */
  params(rank: number): Float32Array {
    this.refuseIfBusy('params');
    checkWhole('rank', rank, 0, this.devices - 1);
    const P = this.paramCount;
    return new Float32Array(this.buffers.params, rank * P * 4, P).slice();
  }

  /**
   * A copy of replica `rank`'s BN running statistics (layer by layer, mean then var). Refused while
   * calls are pending.
   *
   * @param rank - the replica.
   * @returns the copy.
   * @throws {@link syncbn-sim!InputError} while calls are pending, or for a bad rank.
   */
  bnStatistics(rank: number): Float64Array {
    this.refuseIfBusy('bnStatistics');
    checkWhole('rank', rank, 0, this.devices - 1);
    const S = this.bnLayout.stride;
    return new Float64Array(this.buffers.bnState, rank * S * 8, S).slice();
  }

  /**
   * The mean over replicas of their BN running statistics.
   *
   * @returns the means, layer by layer.
   * @throws {@link syncbn-sim!InputError} while calls are pending.
   */
  averagedBnStatistics(): Float64Array {
    const S = this.bnLayout.stride;
    const out = new Float64Array(S);
    for (let r = 0; r < this.devices; r++) {
      const block = this.bnStatistics(r);
      for (let i = 0; i < S; i++) out[i] += block[i] / this.devices;
    }
    return out;
  }

  private refuseIfBusy(what: string): void {
    const n = this.queue.pending;
    requireInput(
      n === 0,
      () =>
        `${what}: ${n} call${n === 1 ? ' is' : 's are'} still running or queued on this trainer; await ${n === 1 ? 'it' : 'them'} first`,
    );
  }

  /** Stops the device threads once the calls made before it have settled. */
  async close(): Promise<void> {
    await this.queue.run(() => this.pool.close());
  }
}

/** Every device's figures, in rank order (whatever the threads). */
function perDevice(replies: readonly TrainSuccess[]): number[][] {
  return replies.flatMap((r) => r.values);
}

/** The kernels every thread reports having run; a thread that ran others is a bug, reported as such. */
function devicesKernels(replies: readonly TrainSuccess[], sent: KernelBackend): KernelBackend {
  const other = replies.find((r) => r.kernels !== sent);
  if (other)
    throw new InternalError(
      `device thread ${other.thread} ran the ${other.kernels} kernels, not the ${sent} kernels it was sent`,
    );
  return sent;
}

/** Sums the devices' figures in rank order, so that totals do not depend on the thread count. */
function sumReplies(replies: readonly TrainSuccess[]): Omit<StepResult, 'kernels'> {
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for (const v of perDevice(replies)) {
    lossSum += v[0];
    correct += v[1];
    count += v[2];
  }
  const messages = replies.reduce((a, r) => a + r.messages.reduce((x, y) => x + y, 0), 0);
  const bytes = replies.reduce((a, r) => a + r.bytes.reduce((x, y) => x + y, 0), 0);
  return { lossSum, correct, count, messages, bytes };
}
