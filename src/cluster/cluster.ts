/**
 * The coordinator of batch-norm steps: starts W simulated devices (a DevicePool), keeps the
 * batch, the gradients and every device's state in shared memory, and drives forward and backward
 * steps. It never reduces anything itself: the devices all-reduce among themselves.
 */
import { checkBatchNormInputs, resolveSettings } from '../bn/batch-norm.js';
import type { StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator, Moments } from '../bn/moments.js';
import type { RunningConvention } from '../bn/running-stats.js';
import { type AlgorithmName, ALGORITHM_NAMES, DEFAULT_ALGORITHM, algorithmByName } from '../collectives/algorithms/index.js';
import { bnOutboxGeometry, vectorOutboxGeometry } from '../collectives/all-reduce.js';
import { type OutboxBuffer, allocateOutbox, outboxViews } from '../collectives/outbox.js';
import { InputError, requireInput } from '../errors.js';
import { type DType, type FloatArray, type Tensor, allocLike, dtypeOf, sizeOf } from '../tensor/tensor.js';
import { DevicePool } from './device-pool.js';
import { ClusterClosedError } from './errors.js';
import { type BnMode, modeName, parseMode } from './modes.js';
import { defaultThreads } from './placement.js';
import type { DeviceOp, DeviceTask, Fault, SharedArrayRef, SharedBuffers, StepSettings, SuccessReply } from './protocol.js';
import { RankState, rankStateLayout } from './rank-state.js';
import { ghostChunks, shardRows } from './sharding.js';

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
  /** How long any device may wait for a peer, in ms; default 30000. */
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
  /** Where to write the output: a shared-memory array (Cluster.sharedTensor); default a fresh one. */
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

export class Cluster {
  readonly devices: number;
  readonly threads: number;
  readonly algorithm: AlgorithmName;
  readonly stats: StatsMethod;
  readonly accumulator: Accumulator;
  readonly timeoutMs: number;
  private readonly fault?: Fault;
  private readonly pool: DevicePool;
  private channels?: number;
  private state?: SharedArrayBuffer;
  private params?: SharedArrayBuffer;
  /** Where inputs held in ordinary memory are copied for the devices to read. */
  private staging: { x?: SharedArrayBuffer; dy?: SharedArrayBuffer } = {};
  private step?: StepArrays;
  /** One outbox per algorithm and communicator size, so that each has its own epochs. */
  private readonly outboxes = new Map<string, OutboxBuffer>();

  private constructor(options: ClusterOptions) {
    const { devices } = options;
    requireInput(Number.isSafeInteger(devices) && devices >= 1 && devices <= MAX_DEVICES, () => `devices must be a whole number from 1 to ${MAX_DEVICES}, got ${devices}`);
    this.devices = devices;
    this.algorithm = options.algorithm ?? DEFAULT_ALGORITHM;
    requireInput(ALGORITHM_NAMES.includes(this.algorithm), () => `unknown algorithm '${this.algorithm}' (${ALGORITHM_NAMES.join(', ')})`);
    const settings = resolveSettings({ stats: options.stats, accumulator: options.accumulator });
    this.stats = settings.stats;
    this.accumulator = settings.accumulator;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    requireInput(Number.isFinite(this.timeoutMs) && this.timeoutMs > 0, () => `timeout must be a positive number of ms, got ${this.timeoutMs}`);
    if (options.fault) {
      const { rank, kind } = options.fault;
      requireInput(['crash', 'hang', 'skip'].includes(kind), () => `unknown fault '${kind}' (crash, hang or skip)`);
      requireInput(Number.isSafeInteger(rank) && rank >= 0 && rank < devices, () => `fault rank ${rank} is not a rank of ${devices} devices (0 to ${devices - 1})`);
    }
    this.fault = options.fault;
    this.threads = options.threads ?? defaultThreads(devices);
    requireInput(Number.isSafeInteger(this.threads) && this.threads >= 1 && this.threads <= devices, () => `threads must be a whole number from 1 to the ${devices} devices, got ${options.threads}`);
    this.pool = new DevicePool(devices, this.threads, this.timeoutMs);
  }

  /**
   * A zero-filled tensor in shared memory. Inputs held in one are read by the devices where they
   * are (no copy); outputs written into one avoid a fresh allocation per step.
   */
  static sharedTensor(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    const n = sizeOf(shape);
    const buffer = new SharedArrayBuffer(Math.max(n, 1) * bytesPerElement(dtype));
    return { data: floatView({ buffer, offset: 0 }, dtype, n), shape: [...shape] };
  }

  /** Starts W device threads. Close the cluster when done, or its threads keep the process alive. */
  static start(options: ClusterOptions): Cluster {
    return new Cluster(options);
  }

  /** Waits until every device thread is up and answering (a no-op task each), so that timing excludes start-up. */
  async ready(): Promise<void> {
    await this.pool.ready();
  }

  /** Forward pass of batch norm over the devices; with training, updates their running statistics. */
  async forward(input: Tensor, options: ForwardOptions = {}): Promise<ForwardResult> {
    this.livePool();
    const mode = typeof options.mode === 'object' ? options.mode : parseMode(options.mode ?? 'sync', this.devices);
    const resolved = resolveSettings({ ...options, stats: this.stats, accumulator: this.accumulator });
    // Non-finite values are looked for by the devices, each in its own shard, in parallel.
    const layout = checkBatchNormInputs(input, { weight: options.weight, bias: options.bias }, false, { checkValues: false });
    const algorithm = options.algorithm ?? this.algorithm;
    requireInput(ALGORITHM_NAMES.includes(algorithm), () => `unknown algorithm '${algorithm}' (${ALGORITHM_NAMES.join(', ')})`);
    if (resolved.training) this.checkTrainable(layout.rows, layout.inner, mode);
    this.prepare(layout.channels);
    const C = layout.channels;
    const dtype = dtypeOf(input.data);
    const n = sizeOf(input.shape);
    const x = sharedRef(input.data) ?? this.stage('x', input.data);
    const y = this.outputRef(options.output, input, x, 'output');
    const params = new Float64Array(this.params!);
    if (options.weight) params.set(Array.from(options.weight), 0);
    if (options.bias) params.set(Array.from(options.bias), C);
    const settings: StepSettings = {
      rows: layout.rows,
      channels: C,
      inner: layout.inner,
      dtype,
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
    const replies = await this.dispatch('forward', settings, { x, y });
    this.step = { settings, shape: [...input.shape], x };
    return {
      output: { data: floatView(y, dtype, n), shape: [...input.shape] },
      mode: modeName(mode),
      devices: this.deviceStats(settings),
      comm: traffic(algorithm, replies),
    };
  }

  /** Backward pass for the last forward: dL/dx, and dL/dgamma, dL/dbeta summed over the devices. */
  async backward(gradOutput: Tensor, options: BackwardOptions = {}): Promise<BackwardResult> {
    this.livePool();
    if (!this.step) throw new InputError('backward needs a forward pass first');
    const { settings, shape, x } = this.step;
    const n = sizeOf(shape);
    const same = gradOutput.shape.length === shape.length && gradOutput.shape.every((d, i) => d === shape[i]);
    requireInput(same && gradOutput.data.length === n, () => `grad output must have the input's shape [${shape.join(',')}], got [${gradOutput.shape.join(',')}]`);
    requireInput(dtypeOf(gradOutput.data) === settings.dtype, () => `grad output must be ${settings.dtype} like the input`);
    const dy = sharedRef(gradOutput.data) ?? this.stage('dy', gradOutput.data);
    const dx = this.outputRef(options.gradInput, { data: gradOutput.data, shape }, x, 'grad input', dy);
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
  }

  /**
   * Times `reps` back-to-back all-reduces of `length` values among all devices: the microseconds
   * between the ends of successive repetitions on the slowest thread (the first is from the start).
   */
  async benchmarkAllReduce(length: number, reps: number, algorithm: AlgorithmName = this.algorithm): Promise<number[]> {
    this.livePool();
    requireInput(Number.isSafeInteger(length) && length >= 1, () => `all-reduce length must be a whole number >= 1, got ${length}`);
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
  }

  /** Every device's running statistics. */
  runningStats(): RunningStatsOfRank[] {
    if (!this.state || this.channels === undefined) return [];
    const layout = rankStateLayout(this.channels);
    const stateArray = new Float64Array(this.state);
    return Array.from({ length: this.devices }, (_, rank) => {
      const s = new RankState(stateArray, layout, rank);
      return { rank, mean: Float64Array.from(s.vector('runningMean')), var: Float64Array.from(s.vector('runningVar')) };
    });
  }

  /** Sets every device's running statistics (before the first forward they are 0 and 1). */
  setRunningStats(mean: ArrayLike<number>, variance: ArrayLike<number>): void {
    requireInput(mean.length === variance.length && mean.length > 0, 'running mean and var must have the same, non-zero length');
    this.prepare(mean.length);
    const layout = rankStateLayout(mean.length);
    const stateArray = new Float64Array(this.state!);
    for (let rank = 0; rank < this.devices; rank++) {
      const s = new RankState(stateArray, layout, rank);
      s.vector('runningMean').set(Array.from(mean));
      s.vector('runningVar').set(Array.from(variance));
    }
  }

  /** Stops every device thread. Safe to call more than once. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  get closed(): boolean {
    return this.pool.closed;
  }

  /** Refuses calls on a closed cluster before anything is allocated or copied. */
  private livePool(): void {
    if (this.pool.closed) throw new ClusterClosedError('cluster is closed: it was closed, or a device failed');
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

  /** Copies an array held in ordinary memory into the staging buffer the devices read. */
  private stage(which: 'x' | 'dy', data: FloatArray): SharedArrayRef {
    const bytes = Math.max(data.byteLength, 8);
    let buffer = this.staging[which];
    if (!buffer || buffer.byteLength < bytes) {
      buffer = new SharedArrayBuffer(bytes);
      this.staging[which] = buffer;
    }
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
    if (!out) return { buffer: new SharedArrayBuffer(Math.max(n, 1) * bytesPerElement(dtype)), offset: 0 };
    const ref = sharedRef(out.data);
    requireInput(ref !== undefined, () => `${what} array must live in shared memory (see Cluster.sharedTensor)`);
    requireInput(dtypeOf(out.data) === dtype && out.data.length === n, () => `${what} array must be ${dtype} with ${n} elements`);
    const overlaps = (other: SharedArrayRef) => ref.buffer === other.buffer && ref.offset < other.offset + n && other.offset < ref.offset + n;
    requireInput(!overlaps(input), () => `${what} array must not overlap the input`);
    // Writing over the gradient being read is safe element by element, never shifted.
    requireInput(!alsoRead || !overlaps(alsoRead) || alsoRead.offset === ref.offset, () => `${what} array must not partly overlap the grad output`);
    return ref;
  }

  /** The outbox of an algorithm and communicator size; `length` sizes a benchmark's own. */
  private outboxFor(algorithm: AlgorithmName, mode: BnMode, length?: number): OutboxBuffer {
    const size = mode.kind === 'group' ? mode.size : this.devices;
    const key = length === undefined ? `${algorithm}/${size}` : `bench/${algorithm}/${size}/${length}`;
    let outbox = this.outboxes.get(key);
    if (!outbox) {
      const impl = algorithmByName(algorithm);
      const geometry = length === undefined ? bnOutboxGeometry(impl, this.devices, size, this.channels ?? 1) : vectorOutboxGeometry(impl, this.devices, size, length);
      outbox = allocateOutbox(geometry);
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
    const runningBefore = this.runningStats();
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
    if (badInput) {
      this.restoreRunning(runningBefore);
      throw new InputError(badInput.badInput!);
    }
    return replies;
  }

  /** Undoes a step's running-statistics updates (after bad input was found mid-step). */
  private restoreRunning(before: readonly RunningStatsOfRank[]): void {
    const layout = rankStateLayout(this.channels!);
    const stateArray = new Float64Array(this.state!);
    for (const r of before) {
      const s = new RankState(stateArray, layout, r.rank);
      s.vector('runningMean').set(r.mean);
      s.vector('runningVar').set(r.var);
    }
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
