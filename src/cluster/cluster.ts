/**
 * The coordinator of batch-norm steps: starts W simulated devices (a DevicePool), keeps the
 * batch, the gradients and every device's state in shared memory, and drives forward and backward
 * steps. It never reduces anything itself: the devices all-reduce among themselves.
 *
 * Calls are queued (see CallQueue): one step at a time uses the shared buffers. A call refused
 * as bad input leaves the cluster exactly as it found it (state, parameters, channel count).
 */
import { argumentError, checkChoice, checkNumber, checkNumbers, checkObject, checkOptions, checkShape, checkTensor, checkWhole } from '../args.js';
import { checkBatchNormInputs, resolveSettings } from '../bn/batch-norm.js';
import type { StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator, Moments } from '../bn/moments.js';
import type { RunningConvention } from '../bn/running-stats.js';
import { type AlgorithmName, ALGORITHM_NAMES, DEFAULT_ALGORITHM, algorithmByName } from '../collectives/algorithms/index.js';
import { bnOutboxGeometry, vectorOutboxGeometry } from '../collectives/all-reduce.js';
import { type OutboxBuffer, allocateOutbox, outboxViews } from '../collectives/outbox.js';
import { InputError, requireInput } from '../errors.js';
import { type DType, type FloatArray, type Tensor, allocLike, channelLayout, dtypeOf, sizeOf } from '../tensor/tensor.js';
import { CallQueue } from './call-queue.js';
import { DevicePool } from './device-pool.js';
import { ClusterClosedError } from './errors.js';
import { type BnMode, modeName, parseMode } from '../bn/modes.js';
import { defaultThreads } from './placement.js';
import { type DeviceOp, type DeviceTask, FAULT_KINDS, type Fault, type SharedArrayRef, type SharedBuffers, type StepSettings, type SuccessReply } from './protocol.js';
import { RankState, rankStateLayout } from './rank-state.js';
import { ghostChunks, shardRows } from '../tensor/sharding.js';

/** Most devices a cluster may have: as many as the largest published sync-BN runs use. */
export const MAX_DEVICES = 4096;
const NO_STATE = new SharedArrayBuffer(8);
export interface ClusterOptions {
  /** Number of simulated devices W (1 to MAX_DEVICES). */
  readonly devices: number;
  /**
   * Worker threads T hosting them (1 to W), each a run of consecutive ranks; default
   * min(W, cores). Results are bitwise the same for every T.
   */
  readonly threads?: number;
  /** All-reduce algorithm; default DEFAULT_ALGORITHM ('allgather'). */
  readonly algorithm?: AlgorithmName;
  /** Statistics method; default 'sums'. */
  readonly stats?: StatsMethod;
  /** Precision of sums; default 'float64'. */
  readonly accumulator?: Accumulator;
  /**
   * How long any device may wait for a peer, in ms; default 30000. Any positive finite number
   * works (long waits are timed in slices below the timer limit).
   */
  readonly timeoutMs?: number;
  /** A fault to inject into one device (for tests and failure experiments). */
  readonly fault?: Fault;
}

export interface ForwardOptions {
  /** 'local', 'sync', 'group:K', 'ghost:G' or a parsed mode; default 'sync'. */
  readonly mode?: string | BnMode;
  /** Default true; eval mode normalizes with each device's running statistics and sends nothing. */
  readonly training?: boolean;
  readonly weight?: ArrayLike<number>;
  readonly bias?: ArrayLike<number>;
  readonly momentum?: number;
  readonly eps?: number;
  readonly convention?: RunningConvention;
  /** Overrides the cluster's algorithm for this step. */
  readonly algorithm?: AlgorithmName;
  /**
   * Where to write the output: a shared-memory array (Cluster.sharedTensor); default a fresh one.
   * Queued calls given the same array write it in turn: the last one's output is what stays.
   */
  readonly output?: Tensor;
}

export interface BackwardOptions {
  /** Where to write dL/dx: a shared-memory array (Cluster.sharedTensor); default a fresh one. */
  readonly gradInput?: Tensor;
}

export interface Traffic {
  readonly algorithm: AlgorithmName;
  /** Messages and bytes all devices sent in this step. */
  readonly messages: number;
  readonly bytes: number;
  readonly perRank: readonly { readonly messages: number; readonly bytes: number }[];
}

export interface DeviceStats {
  readonly rank: number;
  /** Rows [start, end) of the batch this device holds. */
  readonly rows: readonly [number, number];
  /** The shard's own statistics (count, mean, biased var). */
  readonly local: Moments;
  /** The statistics the device normalized with (for ghost: its last chunk's). */
  readonly used: Moments;
}

export interface ForwardResult {
  readonly output: Tensor;
  readonly mode: string;
  readonly devices: readonly DeviceStats[];
  readonly comm: Traffic;
}

export interface BackwardResult {
  readonly gradInput: Tensor;
  /** Gradients of the one loss over the whole batch: the sum of every device's. */
  readonly gradWeight: FloatArray;
  readonly gradBias: FloatArray;
  readonly devices: readonly { readonly rank: number; readonly gradWeight: Float64Array; readonly gradBias: Float64Array }[];
  readonly comm: Traffic;
}

export interface RunningStatsOfRank {
  readonly rank: number;
  readonly mean: Float64Array;
  readonly var: Float64Array;
}

/** The arrays of the last forward, which its backward needs. */
interface StepArrays {
  readonly settings: StepSettings;
  readonly shape: readonly number[];
  readonly x: SharedArrayRef;
}

/** A view of data in shared memory, or undefined when it lives in ordinary memory. */
function sharedRef(data: FloatArray): SharedArrayRef | undefined {
  return data.buffer instanceof SharedArrayBuffer ? { buffer: data.buffer, offset: data.byteOffset / data.BYTES_PER_ELEMENT } : undefined;
}

function bytesPerElement(dtype: DType): number {
  return dtype === 'float32' ? 4 : 8;
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
 */
export class Cluster {
  readonly devices: number;
  /** Worker threads hosting the devices. */
  readonly threads: number;
  readonly algorithm: AlgorithmName;
  readonly stats: StatsMethod;
  readonly accumulator: Accumulator;
  readonly timeoutMs: number;
  private readonly fault?: Fault;
  private readonly pool: DevicePool;
  private readonly queue = new CallQueue();
  /** Set by close(): calls made afterwards are refused at once. */
  private closing = false;
  private channels?: number;
  private state?: SharedArrayBuffer;
  private params?: SharedArrayBuffer;
  /** Where inputs held in ordinary memory are copied for the devices to read. */
  private readonly staging: { x: SharedArrayBuffer[]; dy: SharedArrayBuffer[] } = { x: [], dy: [] };
  private step?: StepArrays;
  /** One outbox per algorithm, communicator size and channel count, so that each has its own epochs. */
  private readonly outboxes = new Map<string, OutboxBuffer>();

  private constructor(options: ClusterOptions) {
    checkObject('options', options);
    const devices = checkWhole('devices', options.devices, 1, MAX_DEVICES);
    this.devices = devices;
    this.algorithm = options.algorithm === undefined ? DEFAULT_ALGORITHM : checkChoice('algorithm', options.algorithm, ALGORITHM_NAMES);
    const settings = resolveSettings({ stats: options.stats, accumulator: options.accumulator });
    this.stats = settings.stats;
    this.accumulator = settings.accumulator;
    this.timeoutMs = options.timeoutMs === undefined ? 30_000 : checkNumber('timeoutMs', options.timeoutMs, { above: 0 });
    if (options.fault !== undefined) {
      const fault = checkObject<Fault>('fault', options.fault);
      checkChoice('fault.kind', fault.kind, FAULT_KINDS);
      checkWhole('fault.rank', fault.rank);
      requireInput(fault.rank < devices, () => `fault rank ${fault.rank} is not a rank of ${devices} devices (0 to ${devices - 1})`);
      this.fault = { kind: fault.kind, rank: fault.rank };
    }
    this.threads = options.threads === undefined ? defaultThreads(devices) : checkWhole('threads', options.threads, 1, devices);
    this.pool = new DevicePool(devices, this.threads, this.timeoutMs);
  }

  /**
   * A zero-filled tensor in shared memory. Inputs held in one are read by the devices where they
   * are (no copy); outputs written into one avoid a fresh allocation per step.
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
   */
  static start(options: ClusterOptions): Cluster {
    return new Cluster(options);
  }

  /** Waits until every device thread is up and answering (a no-op task each), so that timing excludes start-up. */
  async ready(): Promise<void> {
    this.refuseIfClosing();
    return this.queue.run(async () => {
      await this.pool.ready();
    });
  }

  /**
   * Forward pass of batch norm over the devices; with training, updates their running
   * statistics. Queued behind every earlier call (see the class comment).
   */
  async forward(input: Tensor, options: ForwardOptions = {}): Promise<ForwardResult> {
    this.refuseIfClosing();
    return this.queue.run(() => this.forwardNow(input, options));
  }

  /**
   * Backward pass for the forward queued last before it: dL/dx, and dL/dgamma, dL/dbeta summed
   * over the devices.
   */
  async backward(gradOutput: Tensor, options: BackwardOptions = {}): Promise<BackwardResult> {
    this.refuseIfClosing();
    return this.queue.run(() => this.backwardNow(gradOutput, options));
  }

  /**
   * Times `reps` back-to-back all-reduces of `length` values among all devices: the microseconds
   * between the ends of successive repetitions on the slowest thread (the first from the start).
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

  /** Every device's running statistics (empty before the first step). Refused while calls are pending. */
  runningStats(): RunningStatsOfRank[] {
    this.refuseIfBusy('runningStats');
    return this.readRunning();
  }

  /**
   * Sets every device's running statistics (before the first forward they are 0 and 1); the
   * length fixes the channel count. Refused while calls are pending.
   */
  setRunningStats(mean: ArrayLike<number>, variance: ArrayLike<number>): void {
    this.refuseIfClosing();
    this.refuseIfBusy('setRunningStats');
    checkNumbers('mean', mean);
    checkNumbers('variance', variance, mean.length);
    requireInput(mean.length > 0, 'mean and variance must hold one value per channel, got empty arrays');
    for (let c = 0; c < variance.length; c++) requireInput(variance[c] >= 0, () => `variance must be >= 0, got ${variance[c]} at channel ${c}`);
    if (this.channels !== undefined) requireInput(mean.length === this.channels, () => `this cluster holds state for ${this.channels} channels; mean and variance have ${mean.length}`);
    this.prepare(mean.length);
    const layout = rankStateLayout(mean.length);
    const stateArray = new Float64Array(this.state!);
    for (let rank = 0; rank < this.devices; rank++) {
      const s = new RankState(stateArray, layout, rank);
      s.vector('runningMean').set(Array.from(mean));
      s.vector('runningVar').set(Array.from(variance));
    }
  }

  /**
   * Stops every device thread, once the calls made before it have settled; calls made after it
   * are refused. Safe to call more than once.
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
    requireInput(n === 0, () => `${what}: ${n} call${n === 1 ? ' is' : 's are'} still running or queued on this cluster; await ${n === 1 ? 'it' : 'them'} first`);
  }

  private async forwardNow(input: Tensor, options: ForwardOptions): Promise<ForwardResult> {
    this.livePool();
    const plan = this.planForward(input, options);
    const { layout, settings } = plan;
    const C = layout.channels;
    return this.undoOnBadInput(async () => {
      this.prepare(C);
      const x = sharedRef(input.data) ?? this.stage('x', input.data);
      const y = this.outputRef(options.output, input, x, 'output');
      const params = new Float64Array(this.params!);
      if (options.weight) params.set(Array.from(options.weight), 0);
      if (options.bias) params.set(Array.from(options.bias), C);
      const replies = await this.dispatch('forward', settings, { x, y });
      this.step = { settings, shape: [...input.shape], x };
      return {
        output: { data: floatView(y, settings.dtype, sizeOf(input.shape)), shape: [...input.shape] },
        mode: modeName(settings.mode),
        devices: this.deviceStats(settings),
        comm: traffic(settings.algorithm, replies),
      };
    });
  }

  /** Checks every argument of a forward against this cluster, with no side effect. */
  private planForward(input: Tensor, options: ForwardOptions): { layout: ReturnType<typeof channelLayout>; settings: StepSettings } {
    checkTensor('input', input);
    checkOptions('options', options);
    const layout = channelLayout(input.shape);
    const mode = parseModeOption(options.mode, this.devices);
    const resolved = resolveSettings({ ...options, stats: this.stats, accumulator: this.accumulator });
    // Non-finite values are looked for by the devices, each in its own shard, in parallel.
    checkBatchNormInputs(input, { weight: options.weight, bias: options.bias }, false, { checkValues: false });
    const algorithm = options.algorithm === undefined ? this.algorithm : checkChoice('algorithm', options.algorithm, ALGORITHM_NAMES);
    if (this.channels !== undefined) {
      requireInput(layout.channels === this.channels, () => `this cluster holds state for ${this.channels} channels; the batch has ${layout.channels} (start a new cluster)`);
    }
    if (resolved.training) this.checkTrainable(layout.rows, layout.inner, mode);
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
    requireInput(same, () => `gradOutput must have the input's shape [${shape.join(',')}], got [${gradOutput.shape.join(',')}]`);
    requireInput(dtypeOf(gradOutput.data) === settings.dtype, () => `gradOutput must be ${settings.dtype} like the input, got ${dtypeOf(gradOutput.data)}`);
    return this.undoOnBadInput(async () => {
      const dy = sharedRef(gradOutput.data) ?? this.stage('dy', gradOutput.data);
      const dx = this.outputRef(options.gradInput, { data: gradOutput.data, shape }, x, 'gradInput', dy);
      const replies = await this.dispatch('backward', settings, { x, dy, dx });
      const C = settings.channels;
      const layout = rankStateLayout(C);
      const stateArray = new Float64Array(this.state!);
      const devices = Array.from({ length: this.devices }, (_, rank) => {
        const s = new RankState(stateArray, layout, rank);
        return { rank, gradWeight: Float64Array.from(s.vector('sumDyXhat')), gradBias: Float64Array.from(s.vector('sumDy')) };
      });
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
    const channels = this.channels;
    const state = this.state && new Float64Array(this.state).slice();
    const params = this.params && new Float64Array(this.params).slice();
    try {
      return await step();
    } catch (error) {
      if (error instanceof InputError) {
        if (channels === undefined) {
          this.channels = this.state = this.params = undefined;
        } else {
          new Float64Array(this.state!).set(state!);
          new Float64Array(this.params!).set(params!);
        }
      }
      throw error;
    }
  }

  private readRunning(): RunningStatsOfRank[] {
    if (!this.state || this.channels === undefined) return [];
    const layout = rankStateLayout(this.channels);
    const stateArray = new Float64Array(this.state);
    return Array.from({ length: this.devices }, (_, rank) => {
      const s = new RankState(stateArray, layout, rank);
      return { rank, mean: Float64Array.from(s.vector('runningMean')), var: Float64Array.from(s.vector('runningVar')) };
    });
  }

  /** Refuses batches where some normalizing group would hold one value per channel (PyTorch does too). */
  private checkTrainable(rows: number, inner: number, mode: BnMode): void {
    const W = this.devices;
    const fail = (what: string, count: number) => {
      throw new InputError(`expected more than 1 value per channel when training: ${what} holds ${count} (mode ${modeName(mode)}, ${rows} rows over ${W} devices)`);
    };
    const shardCount = (rank: number) => {
      const [s, e] = shardRows(rows, W, rank);
      return (e - s) * inner;
    };
    if (mode.kind === 'sync') {
      if (rows * inner <= 1) fail('the batch', rows * inner);
      return;
    }
    for (let rank = 0; rank < W; rank++) {
      if (mode.kind === 'local' && shardCount(rank) === 1) fail(`device ${rank}`, 1);
      if (mode.kind === 'group' && rank % mode.size === 0) {
        let count = 0;
        for (let r = rank; r < rank + mode.size; r++) count += shardCount(r);
        if (count === 1) fail(`group of ranks ${rank}-${rank + mode.size - 1}`, 1);
      }
      if (mode.kind === 'ghost') {
        const [s, e] = shardRows(rows, W, rank);
        for (const [a, b] of ghostChunks(e - s, mode.size)) if ((b - a) * inner === 1) fail(`a ghost chunk of device ${rank}`, 1);
      }
    }
  }

  /** Allocates the per-device state for C channels on first use; C cannot change afterwards. */
  private prepare(channels: number): void {
    if (this.channels === undefined) {
      this.channels = channels;
      const layout = rankStateLayout(channels);
      this.state = new SharedArrayBuffer(layout.stride * this.devices * 8);
      this.params = new SharedArrayBuffer(2 * channels * 8);
      const stateArray = new Float64Array(this.state);
      for (let rank = 0; rank < this.devices; rank++) new RankState(stateArray, layout, rank).vector('runningVar').fill(1);
    }
    requireInput(channels === this.channels, () => `this cluster holds state for ${this.channels} channels; the batch has ${channels} (start a new cluster)`);
  }

  /**
   * Copies an array held in ordinary memory into a staging buffer the devices read. The input of
   * the last forward stays where it is (its backward reads it): inputs alternate between two
   * buffers, so a later forward, refused or not, never overwrites it.
   */
  private stage(which: 'x' | 'dy', data: FloatArray): SharedArrayRef {
    const bytes = Math.max(data.byteLength, 8);
    const slots = this.staging[which];
    const inUse = this.step?.x.buffer;
    let index = slots.findIndex((b) => b !== inUse);
    if (index < 0) index = slots.length; // at most two for x, one for dy
    if (!slots[index] || slots[index].byteLength < bytes) {
      slots[index] = allocateShared(bytes, `a staging copy of ${which === 'x' ? 'the input' : 'gradOutput'}`);
    }
    const buffer = slots[index];
    floatView({ buffer, offset: 0 }, dtypeOf(data), data.length).set(data);
    return { buffer, offset: 0 };
  }

  /**
   * Where the devices write a result: the caller's shared array when given (checked), else a
   * fresh shared buffer, so that results are handed out without a copy and stay valid.
   */
  private outputRef(out: Tensor | undefined, like: Tensor, input: SharedArrayRef, what: string, alsoRead?: SharedArrayRef): SharedArrayRef {
    const dtype = dtypeOf(like.data);
    const n = like.data.length;
    if (out === undefined) return { buffer: allocateShared(Math.max(n, 1) * bytesPerElement(dtype), `the ${what}`), offset: 0 };
    checkTensor(`options.${what}`, out);
    const ref = sharedRef(out.data);
    requireInput(ref !== undefined, () => `options.${what} must live in shared memory (see Cluster.sharedTensor)`);
    requireInput(dtypeOf(out.data) === dtype && out.data.length === n, () => `options.${what} must be ${dtype} with ${n} elements, got ${dtypeOf(out.data)} with ${out.data.length}`);
    const overlaps = (other: SharedArrayRef) => ref.buffer === other.buffer && ref.offset < other.offset + n && other.offset < ref.offset + n;
    requireInput(!overlaps(input), () => `options.${what} must not overlap the input`);
    // Writing over the gradient being read is safe element by element, never shifted.
    requireInput(!alsoRead || !overlaps(alsoRead) || alsoRead.offset === ref.offset, () => `options.${what} must not partly overlap gradOutput`);
    return ref;
  }

  /** The outbox of an algorithm, communicator size and channel count; `length` sizes a benchmark's own. */
  private outboxFor(algorithm: AlgorithmName, mode: BnMode, length?: number): OutboxBuffer {
    const size = mode.kind === 'group' ? mode.size : this.devices;
    const C = this.channels ?? 1;
    const key = length === undefined ? `${algorithm}/${size}/${C}` : `bench/${algorithm}/${size}/${length}`;
    let outbox = this.outboxes.get(key);
    if (!outbox) {
      const impl = algorithmByName(algorithm);
      outbox = allocateOutbox(length === undefined ? bnOutboxGeometry(impl, this.devices, size, C) : vectorOutboxGeometry(impl, this.devices, size, length));
      this.outboxes.set(key, outbox);
    }
    return outbox;
  }

  /** Runs one task on every device at once and returns their replies, or throws the device failure. */
  private async dispatch(
    op: DeviceOp,
    settings: StepSettings,
    arrays: Partial<Pick<SharedBuffers, 'x' | 'y' | 'dy' | 'dx'>>,
    extra: { reps?: number; length?: number } = {},
  ): Promise<SuccessReply[]> {
    const outbox = this.outboxFor(settings.algorithm, settings.mode, op === 'allreduce-bench' ? extra.length : undefined);
    const buffers: SharedBuffers = {
      // Before the first forward there is no state yet; only the all-reduce benchmark runs then.
      state: this.state ?? NO_STATE,
      params: this.params ?? NO_STATE,
      ...arrays,
      outbox,
    };
    const links = this.pool.links;
    const replies = await this.pool.runOnAll<SuccessReply>(
      (hosting): DeviceTask => ({ op, hosting, links, settings, buffers, fault: this.fault, ...extra }),
      () => outboxViews(outbox).epochs,
    );
    const badInput = replies.find((r) => r.badInput !== undefined);
    if (badInput) throw new InputError(badInput.badInput!);
    return replies;
  }

  private deviceStats(settings: StepSettings): DeviceStats[] {
    const layout = rankStateLayout(settings.channels);
    const stateArray = new Float64Array(this.state!);
    return Array.from({ length: this.devices }, (_, rank) => {
      const s = new RankState(stateArray, layout, rank);
      const moments = (prefix: 'local' | 'used'): Moments => ({
        count: s.scalar(`${prefix}Count`),
        mean: Float64Array.from(s.vector(`${prefix}Mean`)),
        var: Float64Array.from(s.vector(`${prefix}Var`)),
      });
      return { rank, rows: shardRows(settings.rows, this.devices, rank), local: moments('local'), used: moments('used') };
    });
  }
}

/** A mode given as text or as a parsed BnMode, checked against W devices. */
function parseModeOption(mode: unknown, devices: number): BnMode {
  if (mode === undefined) return { kind: 'sync' };
  if (typeof mode === 'string') return parseMode(mode, devices);
  if (mode === null || typeof mode !== 'object') throw argumentError('options.mode', "'local', 'sync', 'group:K', 'ghost:G' or a parsed mode", mode);
  const parsed = checkObject<BnMode>('options.mode', mode);
  checkChoice('options.mode.kind', parsed.kind, ['local', 'sync', 'group', 'ghost']);
  if (parsed.kind === 'group' || parsed.kind === 'ghost') checkWhole('options.mode.size', parsed.size, 1);
  return parseMode(modeName(parsed), devices);
}

/** A SharedArrayBuffer, or an InputError naming what it was for when memory cannot hold it. */
function allocateShared(bytes: number, what: string): SharedArrayBuffer {
  try {
    return new SharedArrayBuffer(bytes);
  } catch {
    throw new InputError(`cannot allocate ${bytes} bytes of shared memory for ${what}`);
  }
}

function floatView(ref: SharedArrayRef, dtype: DType, length: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(ref.buffer, ref.offset * 4, length) : new Float64Array(ref.buffer, ref.offset * 8, length);
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
