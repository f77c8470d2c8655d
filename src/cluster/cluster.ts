/**
 * The coordinator of batch-norm steps: starts W simulated devices (a DevicePool), keeps the
 * batch, the gradients and every device's state in shared memory, and drives forward and backward
 * steps. It never reduces anything itself: the devices all-reduce among themselves.
 *
 * Calls are queued (see CallQueue): one step at a time uses the shared buffers. A call refused
 * as bad input leaves the cluster exactly as it found it (state, parameters, channel count).
 */
import {
  argumentError,
  checkChoice,
  checkNumber,
  checkNumbers,
  checkObject,
  checkOptions,
  checkShape,
  checkTensor,
  checkWhole,
} from '../args.js';
import { checkBatchNormInputs, resolveSettings } from '../bn/batch-norm.js';
import type { StatsMethod } from '../bn/batch-moments.js';
import { type BnMode, modeName, parseMode } from '../bn/modes.js';
import type { Accumulator } from '../bn/moments.js';
import { type AlgorithmName, ALGORITHM_NAMES, DEFAULT_ALGORITHM } from '../collectives/algorithms/index.js';
import { outboxViews } from '../collectives/outbox.js';
import { InputError, requireInput } from '../errors.js';
import { type DType, type Tensor, allocLike, channelLayout, dtypeOf, sizeOf } from '../tensor/tensor.js';
import { CallQueue } from './call-queue.js';
import type {
  BackwardOptions,
  BackwardResult,
  ClusterOptions,
  ForwardOptions,
  ForwardResult,
  RunningStatsOfRank,
  Traffic,
} from './cluster-types.js';
import { DevicePool } from './device-pool.js';
import { DeviceStates } from './device-states.js';
import { ClusterClosedError } from './errors.js';
import { OutboxCache } from './outbox-cache.js';
import { defaultThreads } from './placement.js';
import {
  type DeviceOp,
  type DeviceTask,
  FAULT_KINDS,
  type Fault,
  type SharedArrayRef,
  type SharedBuffers,
  type StepSettings,
  type SuccessReply,
} from './protocol.js';
import { Staging, allocateShared, bytesPerElement, floatView, outputRef, sharedRef } from './shared-memory.js';
import { checkTrainable } from './trainable.js';

export type {
  BackwardOptions,
  BackwardResult,
  ClusterOptions,
  DeviceStats,
  ForwardOptions,
  ForwardResult,
  RunningStatsOfRank,
  Traffic,
} from './cluster-types.js';

/** Most devices a cluster may have: as many as the largest published sync-BN runs use. */
export const MAX_DEVICES = 4096;
/** The arrays of the last forward, which its backward needs. */
interface StepArrays {
  readonly settings: StepSettings;
  readonly shape: readonly number[];
  readonly x: SharedArrayRef;
}

/**
 * W simulated devices, driven step by step.
 *
 * Calls never overlap: `forward`, `backward`, `benchmarkAllReduce`, `ready` and `close` are
 * queued and run one at a time in the order they were made, so
 * `Promise.all([c.forward(a), c.forward(b)])` gives BN of `a`, then BN of `b`, with the running
 * statistics updated in that order, and a `backward` pairs with the last `forward` queued before
 * it. A call reads its arrays when it runs, not when it is made: do not change them until its
 * promise settles. `runningStats` and `setRunningStats` are synchronous and refuse to run while
 * calls are pending.
 *
 * Bad input raises `InputError` and leaves the cluster as it was; a device failure raises a
 * `DeviceFailureError` and closes the cluster.
 *
 * @example
 * ```ts
 * import { Cluster, batchNorm } from 'syncbn-sim';
 * import { syntheticBatch, syntheticGradient } from 'syncbn-sim/tensor';
 *
 * const x = syntheticBatch([16, 4, 3, 3], 42);
 * const cluster = Cluster.start({ devices: 8, algorithm: 'ring', stats: 'welford' });
 * try {
 *   const forward = await cluster.forward(x, { mode: 'sync' }); // equals batchNorm(x) on one device
 *   const backward = await cluster.backward(syntheticGradient(x.shape, 43));
 *   console.log(forward.devices[3].local.mean, forward.comm.messages, backward.gradWeight);
 * } finally {
 *   await cluster.close();
 * }
 * ```
 */
export class Cluster {
  /** W: the simulated devices. */
  readonly devices: number;
  /** Worker threads hosting the devices. */
  readonly threads: number;
  /** The all-reduce algorithm of every step (unless a forward overrides it). */
  readonly algorithm: AlgorithmName;
  /** How the devices compute and merge their partial statistics. */
  readonly stats: StatsMethod;
  /** Precision of the sums of 'sums' and 'shifted-sums'. */
  readonly accumulator: Accumulator;
  /** How long any device may wait for a peer, in ms. */
  readonly timeoutMs: number;
  private readonly fault?: Fault;
  private readonly pool: DevicePool;
  private readonly queue = new CallQueue();
  /** Set by close(): calls made afterwards are refused at once. */
  private closing = false;
  private readonly states: DeviceStates;
  /** Where inputs held in ordinary memory are copied for the devices to read. */
  private readonly staging = new Staging();
  private readonly outboxes: OutboxCache;
  private step?: StepArrays;

  private constructor(options: ClusterOptions) {
    checkObject('options', options);
    const devices = checkWhole('devices', options.devices, 1, MAX_DEVICES);
    this.devices = devices;
    this.algorithm =
      options.algorithm === undefined
        ? DEFAULT_ALGORITHM
        : checkChoice('algorithm', options.algorithm, ALGORITHM_NAMES);
    const settings = resolveSettings({ stats: options.stats, accumulator: options.accumulator });
    this.stats = settings.stats;
    this.accumulator = settings.accumulator;
    this.timeoutMs =
      options.timeoutMs === undefined ? 30_000 : checkNumber('timeoutMs', options.timeoutMs, { above: 0 });
    if (options.fault !== undefined) {
      const fault = checkObject<Fault>('fault', options.fault);
      checkChoice('fault.kind', fault.kind, FAULT_KINDS);
      checkWhole('fault.rank', fault.rank);
      requireInput(
        fault.rank < devices,
        () => `fault rank ${fault.rank} is not a rank of ${devices} devices (0 to ${devices - 1})`,
      );
      this.fault = { kind: fault.kind, rank: fault.rank };
    }
    this.threads =
      options.threads === undefined ? defaultThreads(devices) : checkWhole('threads', options.threads, 1, devices);
    this.states = new DeviceStates(devices);
    this.outboxes = new OutboxCache(devices);
    this.pool = new DevicePool(devices, this.threads, this.timeoutMs);
  }

  /**
   * A zero-filled tensor in shared memory. Inputs held in one are read by the devices where they
   * are (no copy); outputs written into one avoid a fresh allocation per step.
   *
   * @param shape - [N,C] or [N,C,H,W] (any shape is allocated).
   * @param dtype - 'float32' (default) or 'float64'.
   * @returns the tensor, its data a view of a SharedArrayBuffer.
   * @throws {@link InputError} when an argument is unusable.
   */
  static sharedTensor(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    const dims = checkShape('shape', shape);
    checkChoice('dtype', dtype, ['float32', 'float64']);
    const n = sizeOf(dims);
    const buffer = allocateShared(Math.max(n, 1) * bytesPerElement(dtype), `a tensor of shape [${dims.join(',')}]`);
    return { data: floatView({ buffer, offset: 0 }, dtype, n), shape: dims };
  }

  /**
   * Starts W device threads. They do not keep the process alive (Node may exit with the cluster
   * still open), but they hold memory and CPU until `close()`, which is the only way to stop them
   * in a long-lived process; call it when done.
   *
   * @param options - W, and optionally the threads (default min(W, cores)), the algorithm (default
   *   allgather), the statistics method (default sums), the accumulator (default float64), the
   *   timeout (default 30000 ms) and a fault to inject.
   * @returns the cluster; its threads start in the background (see `ready`).
   * @throws {@link InputError} when an argument is unusable (the message names it).
   * @example
   * ```ts
   * const cluster = Cluster.start({ devices: 8, algorithm: 'ring', stats: 'welford' });
   * try {
   *   await cluster.forward(x, { mode: 'group:2' });
   * } finally {
   *   await cluster.close();
   * }
   * ```
   */
  static start(options: ClusterOptions): Cluster {
    return new Cluster(options);
  }

  /**
   * Waits until every device thread is up and answering (a no-op task each), so that timing
   * excludes start-up.
   *
   * @throws {@link ClusterClosedError} when the cluster was closed before the call.
   * @throws {@link DeviceFailureError} (a {@link DeviceCrashError}, {@link DeviceHangError},
   *   {@link DeviceMissingError} or {@link CollectiveTimeoutError}) when a thread cannot start; the
   *   cluster is then closed.
   */
  async ready(): Promise<void> {
    this.refuseIfClosing();
    return this.queue.run(async () => {
      await this.pool.ready();
    });
  }

  /**
   * Forward pass of batch norm over the devices: each normalizes its shard of the batch (split as
   * numpy.array_split does) with the statistics of its mode; with training (the default), updates
   * their running statistics. Queued behind every earlier call (see the class comment).
   *
   * @param input - the batch, [N,C] or [N,C,H,W], float32 or float64 (in shared memory from
   *   `sharedTensor` to save a copy).
   * @param options - the mode (default 'sync'), train or eval (default train), gamma, beta,
   *   momentum, eps, the convention, the algorithm, and where to write the output.
   * @returns the output, every device's own and used statistics, and the traffic.
   * @throws {@link InputError} when an argument is unusable (the message names it); the cluster is
   *   left as it was.
   * @throws {@link ClusterClosedError} when the cluster was closed before the call.
   * @throws {@link DeviceFailureError} (a {@link DeviceCrashError}, {@link DeviceHangError},
   *   {@link DeviceMissingError} or {@link CollectiveTimeoutError}) naming the rank and phase when a
   *   device fails; the cluster is then closed.
   * @example
   * ```ts
   * const forward = await cluster.forward(x, { mode: 'sync' });
   * forward.devices[3].local.mean; // device 3's own shard mean
   * forward.devices[3].used.mean; // the whole batch's: what it normalized with
   * forward.comm.messages; // what the all-reduce sent
   * ```
   */
  async forward(input: Tensor, options: ForwardOptions = {}): Promise<ForwardResult> {
    this.refuseIfClosing();
    return this.queue.run(() => this.forwardNow(input, options));
  }

  /**
   * Backward pass for the forward queued last before it: dL/dx, and dL/dgamma, dL/dbeta summed
   * over the devices.
   *
   * @param gradOutput - dL/dy, in the shape of the last forward's input.
   * @param options - where to write dL/dx (default a fresh array).
   * @returns dL/dx, dL/dgamma and dL/dbeta of the one loss over the whole batch (each device's
   *   share too), and the traffic.
   * @throws {@link InputError} when there is no forward to pair with or the gradient does not fit
   *   it.
   * @throws {@link ClusterClosedError} when the cluster was closed before the call.
   * @throws {@link DeviceFailureError} (a {@link DeviceCrashError}, {@link DeviceHangError},
   *   {@link DeviceMissingError} or {@link CollectiveTimeoutError}) naming the rank and phase when a
   *   device fails; the cluster is then closed.
   * @example
   * ```ts
   * await cluster.forward(x, { mode: 'sync' });
   * const { gradInput, gradWeight, gradBias } = await cluster.backward(dy); // equal to batchNorm(x, { gradOutput: dy })'s
   * ```
   */
  async backward(gradOutput: Tensor, options: BackwardOptions = {}): Promise<BackwardResult> {
    this.refuseIfClosing();
    return this.queue.run(() => this.backwardNow(gradOutput, options));
  }

  /**
   * Times `reps` back-to-back all-reduces of `length` values among all devices: the microseconds
   * between the ends of successive repetitions on the slowest thread (the first from the start).
   *
   * @param length - values per all-reduce, >= 1.
   * @param reps - repetitions, >= 1.
   * @param algorithm - the algorithm to time (default the cluster's).
   * @returns the microseconds of each repetition.
   * @throws {@link InputError} when an argument is unusable (the message names it); the cluster is
   *   left as it was.
   * @throws {@link ClusterClosedError} when the cluster was closed before the call.
   * @throws {@link DeviceFailureError} (a {@link DeviceCrashError}, {@link DeviceHangError},
   *   {@link DeviceMissingError} or {@link CollectiveTimeoutError}) naming the rank and phase when a
   *   device fails; the cluster is then closed.
   */
  async benchmarkAllReduce(length: number, reps: number, algorithm: AlgorithmName = this.algorithm): Promise<number[]> {
    this.refuseIfClosing();
    checkWhole('length', length, 1);
    checkWhole('reps', reps, 1);
    checkChoice('algorithm', algorithm, ALGORITHM_NAMES);
    return this.queue.run(async () => {
      this.livePool();
      const settings: StepSettings = {
        ...(this.step?.settings ?? baseSettings(1, this.timeoutMs)),
        mode: { kind: 'sync' },
        algorithm,
      };
      // An outbox of its own, sized for `length`: the benchmark never touches the BN state.
      const start = performance.timeOrigin + performance.now();
      const replies = await this.dispatch('allreduce-bench', settings, {}, { reps, length });
      const ends = Array.from({ length: reps }, (_, i) => Math.max(...replies.map((r) => r.finishedAt?.[i] ?? 0)));
      return ends.map((end, i) => (end - (i === 0 ? start : ends[i - 1])) * 1000);
    });
  }

  /**
   * Every device's running statistics (empty before the first step). Refused while calls are
   * pending.
   *
   * @returns each device's running mean and variance, by rank.
   * @throws {@link InputError} while calls are pending.
   */
  runningStats(): RunningStatsOfRank[] {
    this.refuseIfBusy('runningStats');
    return this.states.running();
  }

  /**
   * Sets every device's running statistics (before the first forward they are 0 and 1); the
   * length fixes the channel count. Refused while calls are pending.
   *
   * @param mean - the running mean per channel.
   * @param variance - the running variance per channel, >= 0, as long as `mean`.
   * @throws {@link InputError} while calls are pending, or when the arrays are unusable or do not
   *   fit the channels the cluster already holds.
   * @throws {@link ClusterClosedError} when the cluster was closed before the call.
   */
  setRunningStats(mean: ArrayLike<number>, variance: ArrayLike<number>): void {
    this.refuseIfClosing();
    this.refuseIfBusy('setRunningStats');
    checkNumbers('mean', mean);
    checkNumbers('variance', variance, mean.length);
    requireInput(mean.length > 0, 'mean and variance must hold one value per channel, got empty arrays');
    for (let c = 0; c < variance.length; c++)
      requireInput(variance[c] >= 0, () => `variance must be >= 0, got ${variance[c]} at channel ${c}`);
    const channels = this.states.channels;
    if (channels !== undefined)
      requireInput(
        mean.length === channels,
        () => `this cluster holds state for ${channels} channels; mean and variance have ${mean.length}`,
      );
    this.states.prepare(mean.length);
    this.states.setRunning(mean, variance);
  }

  /**
   * Stops every device thread, once the calls made before it have settled; calls made after it are
   * refused with ClusterClosedError. Safe to call more than once (after a device failure the
   * cluster is already closed).
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.queue.run(() => this.pool.close());
  }

  /** True once close() was called or a device failed: no further call will run. */
  get closed(): boolean {
    return this.closing || this.pool.closed;
  }

  private refuseIfClosing(): void {
    if (this.closing) throw new ClusterClosedError('cluster is closed: close() was called');
  }

  /** Refuses calls on a closed cluster before anything is allocated or copied. */
  private livePool(): void {
    if (this.pool.closed) throw new ClusterClosedError('cluster is closed: it was closed, or a device failed');
  }

  private refuseIfBusy(what: string): void {
    const n = this.queue.pending;
    requireInput(
      n === 0,
      () =>
        `${what}: ${n} call${n === 1 ? ' is' : 's are'} still running or queued on this cluster; await ${n === 1 ? 'it' : 'them'} first`,
    );
  }

  private async forwardNow(input: Tensor, options: ForwardOptions): Promise<ForwardResult> {
    this.livePool();
    const plan = this.planForward(input, options);
    const { layout, settings } = plan;
    const C = layout.channels;
    return this.undoOnBadInput(async () => {
      this.states.prepare(C);
      const x = sharedRef(input.data) ?? this.staging.stage('x', input.data, this.step?.x.buffer);
      const y = outputRef(options.output, input, x, 'output');
      this.states.setParams(options.weight, options.bias);
      const replies = await this.dispatch('forward', settings, { x, y });
      this.step = { settings, shape: [...input.shape], x };
      return {
        output: { data: floatView(y, settings.dtype, sizeOf(input.shape)), shape: [...input.shape] },
        mode: modeName(settings.mode),
        devices: this.states.deviceStats(settings.rows),
        comm: traffic(settings.algorithm, replies),
      };
    });
  }

  /** Checks every argument of a forward against this cluster, with no side effect. */
  private planForward(
    input: Tensor,
    options: ForwardOptions,
  ): { layout: ReturnType<typeof channelLayout>; settings: StepSettings } {
    checkTensor('input', input);
    checkOptions('options', options);
    const layout = channelLayout(input.shape);
    const mode = parseModeOption(options.mode, this.devices);
    const resolved = resolveSettings({ ...options, stats: this.stats, accumulator: this.accumulator });
    // Non-finite values are looked for by the devices, each in its own shard, in parallel.
    checkBatchNormInputs(input, { weight: options.weight, bias: options.bias }, false, { checkValues: false });
    const algorithm =
      options.algorithm === undefined ? this.algorithm : checkChoice('algorithm', options.algorithm, ALGORITHM_NAMES);
    const channels = this.states.channels;
    if (channels !== undefined) {
      requireInput(
        layout.channels === channels,
        () =>
          `this cluster holds state for ${channels} channels; the batch has ${layout.channels} (start a new cluster)`,
      );
    }
    if (resolved.training) checkTrainable(layout.rows, layout.inner, mode, this.devices);
    const settings: StepSettings = {
      rows: layout.rows,
      channels: layout.channels,
      inner: layout.inner,
      dtype: dtypeOf(input.data),
      mode,
      algorithm,
      stats: this.stats,
      accumulator: this.accumulator,
      training: resolved.training,
      momentum: resolved.momentum,
      eps: resolved.eps,
      convention: resolved.convention,
      hasWeight: options.weight !== undefined,
      hasBias: options.bias !== undefined,
      timeoutMs: this.timeoutMs,
    };
    return { layout, settings };
  }

  private async backwardNow(gradOutput: Tensor, options: BackwardOptions): Promise<BackwardResult> {
    this.livePool();
    checkTensor('gradOutput', gradOutput);
    checkOptions('options', options);
    if (!this.step) throw new InputError('backward needs a forward pass first');
    const { settings, shape, x } = this.step;
    const n = sizeOf(shape);
    const same = gradOutput.shape.length === shape.length && gradOutput.shape.every((d, i) => d === shape[i]);
    requireInput(
      same,
      () => `gradOutput must have the input's shape [${shape.join(',')}], got [${gradOutput.shape.join(',')}]`,
    );
    requireInput(
      dtypeOf(gradOutput.data) === settings.dtype,
      () => `gradOutput must be ${settings.dtype} like the input, got ${dtypeOf(gradOutput.data)}`,
    );
    return this.undoOnBadInput(async () => {
      const dy = sharedRef(gradOutput.data) ?? this.staging.stage('dy', gradOutput.data);
      const dx = outputRef(options.gradInput, { data: gradOutput.data, shape }, x, 'gradInput', dy);
      const replies = await this.dispatch('backward', settings, { x, dy, dx });
      const C = settings.channels;
      const devices = this.states.gradientSums();
      const gradWeight = allocLike(gradOutput.data, C);
      const gradBias = allocLike(gradOutput.data, C);
      for (let c = 0; c < C; c++) {
        let w = 0;
        let b = 0;
        for (const d of devices) {
          w += d.gradWeight[c];
          b += d.gradBias[c];
        }
        gradWeight[c] = w;
        gradBias[c] = b;
      }
      return {
        gradInput: { data: floatView(dx, settings.dtype, n), shape: [...shape] },
        gradWeight,
        gradBias,
        devices,
        comm: traffic(settings.algorithm, replies),
      };
    });
  }

  /**
   * Runs a step and, when it is refused as bad input (by a check or by the devices, which find
   * NaN and infinity), puts back everything it changed: the devices' state blocks, the weight and
   * bias, and the channel count a first call would have fixed.
   */
  private async undoOnBadInput<T>(step: () => Promise<T>): Promise<T> {
    const before = this.states.snapshot();
    try {
      return await step();
    } catch (error) {
      if (error instanceof InputError) this.states.restore(before);
      throw error;
    }
  }

  /** Runs one task on every device at once and returns their replies, or throws the device failure. */
  private async dispatch(
    op: DeviceOp,
    settings: StepSettings,
    arrays: Partial<Pick<SharedBuffers, 'x' | 'y' | 'dy' | 'dx'>>,
    extra: { reps?: number; length?: number } = {},
  ): Promise<SuccessReply[]> {
    const outbox = this.outboxes.outboxFor(
      settings.algorithm,
      settings.mode,
      this.states.channels ?? 1,
      op === 'allreduce-bench' ? extra.length : undefined,
    );
    // Before the first forward there is no state yet; only the all-reduce benchmark runs then.
    const buffers: SharedBuffers = { state: this.states.state, params: this.states.params, ...arrays, outbox };
    const links = this.pool.links;
    const replies = await this.pool.runOnAll<SuccessReply>(
      (hosting): DeviceTask => ({ op, hosting, links, settings, buffers, fault: this.fault, ...extra }),
      () => outboxViews(outbox).epochs,
    );
    const badInput = replies.find((r) => r.badInput !== undefined);
    if (badInput) throw new InputError(badInput.badInput!);
    return replies;
  }
}

/** A mode given as text or as a parsed BnMode, checked against W devices. */
function parseModeOption(mode: unknown, devices: number): BnMode {
  if (mode === undefined) return { kind: 'sync' };
  if (typeof mode === 'string') return parseMode(mode, devices);
  if (mode === null || typeof mode !== 'object')
    throw argumentError('options.mode', "'local', 'sync', 'group:K', 'ghost:G' or a parsed mode", mode);
  const parsed = checkObject<BnMode>('options.mode', mode);
  checkChoice('options.mode.kind', parsed.kind, ['local', 'sync', 'group', 'ghost']);
  if (parsed.kind === 'group' || parsed.kind === 'ghost') checkWhole('options.mode.size', parsed.size, 1);
  return parseMode(modeName(parsed), devices);
}

function traffic(algorithm: AlgorithmName, replies: readonly SuccessReply[]): Traffic {
  const perRank = replies.flatMap((r) => r.messages.map((messages, i) => ({ messages, bytes: r.bytes[i] })));
  return {
    algorithm,
    messages: perRank.reduce((a, r) => a + r.messages, 0),
    bytes: perRank.reduce((a, r) => a + r.bytes, 0),
    perRank,
  };
}

function baseSettings(channels: number, timeoutMs: number): StepSettings {
  return {
    rows: 0,
    channels,
    inner: 1,
    dtype: 'float32',
    mode: { kind: 'sync' },
    algorithm: 'ring',
    stats: 'sums',
    accumulator: 'float64',
    training: true,
    momentum: 0.1,
    eps: 1e-5,
    convention: 'pytorch',
    hasWeight: false,
    hasBias: false,
    timeoutMs,
  };
}
