/**
 * What a cluster takes and gives: its options and the results of its steps, in one module so
 * that a reader finds the whole public surface of `Cluster` in one place.
 */
import type { StatsMethod } from '../bn/batch-moments.js';
import type { BnMode } from '../bn/modes.js';
import type { Accumulator, Moments } from '../bn/moments.js';
import type { RunningConvention } from '../bn/running-stats.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import type { FloatArray, Tensor } from '../tensor/tensor.js';
import type { Fault } from './protocol.js';

/** Options of `Cluster.start`. */
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

/** Options of `Cluster.forward`. */
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

/** Options of `Cluster.backward`. */
export interface BackwardOptions {
  /** Where to write dL/dx: a shared-memory array (Cluster.sharedTensor); default a fresh one. */
  readonly gradInput?: Tensor;
}

/** What a step's collectives sent. */
export interface Traffic {
  readonly algorithm: AlgorithmName;
  /** Messages and bytes all devices sent in this step. */
  readonly messages: number;
  readonly bytes: number;
  readonly perRank: readonly { readonly messages: number; readonly bytes: number }[];
}

/** One device's statistics in a forward. */
export interface DeviceStats {
  readonly rank: number;
  /** Rows [start, end) of the batch this device holds. */
  readonly rows: readonly [number, number];
  /** The shard's own statistics (count, mean, biased var). */
  readonly local: Moments;
  /** The statistics the device normalized with (for ghost: its last chunk's). */
  readonly used: Moments;
}

/** What `Cluster.forward` returns. */
export interface ForwardResult {
  readonly output: Tensor;
  readonly mode: string;
  readonly devices: readonly DeviceStats[];
  readonly comm: Traffic;
}

/** What `Cluster.backward` returns. */
export interface BackwardResult {
  readonly gradInput: Tensor;
  /** Gradients of the one loss over the whole batch: the sum of every device's. */
  readonly gradWeight: FloatArray;
  readonly gradBias: FloatArray;
  readonly devices: readonly { readonly rank: number; readonly gradWeight: Float64Array; readonly gradBias: Float64Array }[];
  readonly comm: Traffic;
}

/** One device's running statistics. */
export interface RunningStatsOfRank {
  readonly rank: number;
  readonly mean: Float64Array;
  readonly var: Float64Array;
}
