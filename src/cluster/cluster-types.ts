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
  /** gamma, shape [C]; default all ones. */
  readonly weight?: ArrayLike<number>;
  /** beta, shape [C]; default all zeros. */
  readonly bias?: ArrayLike<number>;
  /** Running-statistics momentum in [0, 1]; default 0.1 (pytorch convention) or 0.99 (keras). */
  readonly momentum?: number;
  /** Added to the variance, > 0; default 1e-5. */
  readonly eps?: number;
  /** Running-statistics convention; default 'pytorch'. */
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
  /** The all-reduce algorithm the step used. */
  readonly algorithm: AlgorithmName;
  /** Messages all devices sent in this step (a post read by k peers counts k times). */
  readonly messages: number;
  /** Bytes all devices sent in this step. */
  readonly bytes: number;
  /** What each rank sent, by rank. */
  readonly perRank: readonly {
    /** Messages the rank sent. */
    readonly messages: number;
    /** Bytes the rank sent. */
    readonly bytes: number;
  }[];
}

/** One device's statistics in a forward. */
export interface DeviceStats {
  /** The device. */
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
  /** The normalized batch, in the input's shape and dtype (`options.output` when given). */
  readonly output: Tensor;
  /** The mode as text: 'local', 'sync', 'group:K' or 'ghost:G'. */
  readonly mode: string;
  /** Every device's own and used statistics, by rank. */
  readonly devices: readonly DeviceStats[];
  /** What the step's collectives sent. */
  readonly comm: Traffic;
}

/** What `Cluster.backward` returns. */
export interface BackwardResult {
  /** dL/dx, in the input's shape and dtype (`options.gradInput` when given). */
  readonly gradInput: Tensor;
  /** dL/dgamma of the one loss over the whole batch: the sum of every device's. */
  readonly gradWeight: FloatArray;
  /** dL/dbeta of the one loss over the whole batch: the sum of every device's. */
  readonly gradBias: FloatArray;
  /** Each device's share of dL/dgamma and dL/dbeta, by rank. */
  readonly devices: readonly {
    /** The device. */
    readonly rank: number;
    /** Its sum(dy * xhat) per channel. */
    readonly gradWeight: Float64Array;
    /** Its sum(dy) per channel. */
    readonly gradBias: Float64Array;
  }[];
  /** What the backward's collectives sent. */
  readonly comm: Traffic;
}

/** One device's running statistics. */
export interface RunningStatsOfRank {
  /** The device. */
  readonly rank: number;
  /** Its running mean per channel. */
  readonly mean: Float64Array;
  /** Its running variance per channel. */
  readonly var: Float64Array;
}
