/**
 * Messages between the coordinator and the device threads. A task goes to one thread and covers
 * every device it hosts; it carries handles to the shared buffers (shared, never copied) and the
 * settings of one step. The reply carries counts per device, or what went wrong and where every
 * device stood, so that the coordinator can name the device at fault.
 */
import type { StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator } from '../bn/moments.js';
import type { RunningConvention } from '../bn/running-stats.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import type { OutboxBuffer } from '../collectives/outbox.js';
import type { DType } from '../tensor/tensor.js';
import type { ControlBlock, Phase } from './control.js';
import type { BnMode } from '../bn/modes.js';

/** A float array in shared memory: its buffer and the index of its first element. */
export interface SharedArrayRef {
  /** The buffer holding the array. */
  readonly buffer: SharedArrayBuffer;
  /** Index (in elements, not bytes) of the array's first element. */
  readonly offset: number;
}

/** Where a thread's devices meet: the control block and the doorbells of every thread. */
export interface ThreadLinks {
  /** Abort flag, phases, running ranks and heartbeats (see control.ts). */
  readonly control: ControlBlock;
  /** One Int32 per thread that senders bump to wake it (see collectives/doorbells.ts). */
  readonly doorbells: SharedArrayBuffer;
  /** Bell reads before a thread sleeps: worth it only when every thread has a core. */
  readonly spins: number;
}

/** The shared buffers of a BN step. */
export interface SharedBuffers {
  /** Per-rank state blocks (see rank-state.ts). */
  readonly state: SharedArrayBuffer;
  /** weight [C] then bias [C], float64. */
  readonly params: SharedArrayBuffer;
  /** The batch (forward and backward). */
  readonly x?: SharedArrayRef;
  /** Where the forward writes the output. */
  readonly y?: SharedArrayRef;
  /** dL/dy (backward). */
  readonly dy?: SharedArrayRef;
  /** Where the backward writes dL/dx. */
  readonly dx?: SharedArrayRef;
  /** The outbox the step's collectives use. */
  readonly outbox: OutboxBuffer;
}

/** The settings of one BN step, the same for every device. */
export interface StepSettings {
  /** N: rows of the whole batch. */
  readonly rows: number;
  /** C. */
  readonly channels: number;
  /** H*W (1 for [N,C]). */
  readonly inner: number;
  /** The batch's dtype. */
  readonly dtype: DType;
  /** The BN mode. */
  readonly mode: BnMode;
  /** The all-reduce algorithm. */
  readonly algorithm: AlgorithmName;
  /** How partial statistics are computed and merged. */
  readonly stats: StatsMethod;
  /** Precision of the sums. */
  readonly accumulator: Accumulator;
  /** Train or eval mode. */
  readonly training: boolean;
  /** Running-statistics momentum. */
  readonly momentum: number;
  /** Added to the variance. */
  readonly eps: number;
  /** Running-statistics convention. */
  readonly convention: RunningConvention;
  /** Whether `params` holds a weight (else gamma is 1). */
  readonly hasWeight: boolean;
  /** Whether `params` holds a bias (else beta is 0). */
  readonly hasBias: boolean;
  /** How long a device may wait for a peer, in ms. */
  readonly timeoutMs: number;
}

/**
 * A fault a test or experiment injects into one device: 'crash' (it throws), 'hang' (its thread
 * stops answering) or 'skip' (it never joins the collective its peers wait in).
 */
export type FaultKind = 'crash' | 'hang' | 'skip';
/** Every fault kind. */
export const FAULT_KINDS: readonly FaultKind[] = ['crash', 'hang', 'skip'];
/** A fault to inject (`ClusterOptions.fault`). */
export interface Fault {
  /** What the device does. */
  readonly kind: FaultKind;
  /** Which device, 0 to W-1. */
  readonly rank: number;
}

/** What a BN task asks the devices to do. */
export type DeviceOp = 'forward' | 'backward' | 'allreduce-bench';

/** A no-op a thread answers at once: proves it is up. */
export interface PingTask {
  /** Always 'ping'. */
  readonly op: 'ping';
}

/** Which devices a thread hosts: global ranks [first, end) of `devices`, on thread `thread` of `threads`. */
export interface Hosting {
  /** The thread. */
  readonly thread: number;
  /** T. */
  readonly threads: number;
  /** W. */
  readonly devices: number;
  /** Its first rank. */
  readonly first: number;
  /** One past its last rank. */
  readonly end: number;
}

/** A BN step for every device one thread hosts. */
export interface DeviceTask {
  /** What to do. */
  readonly op: DeviceOp;
  /** The devices of the thread. */
  readonly hosting: Hosting;
  /** The control block and doorbells. */
  readonly links: ThreadLinks;
  /** The step's settings. */
  readonly settings: StepSettings;
  /** The step's shared buffers. */
  readonly buffers: SharedBuffers;
  /** A fault to inject, if any. */
  readonly fault?: Fault;
  /** For 'allreduce-bench': repetitions. */
  readonly reps?: number;
  /** For 'allreduce-bench': values per all-reduce. */
  readonly length?: number;
}

/** How a thread's step failed: the kind, the device at the root of it, and its phase. */
export type FailureKind = 'crash' | 'timeout' | 'aborted';

/** What a thread says when its step failed, with where every device it hosts stood. */
export interface FailureReply {
  /** Always false. */
  readonly ok: false;
  /** The thread. */
  readonly thread: number;
  /** How it failed. */
  readonly kind: FailureKind;
  /** The device that crashed, or the one whose wait timed out or was aborted. */
  readonly rank: number;
  /** That device's phase. */
  readonly phase: Phase;
  /** What was thrown, as text (errors lose their class across threads). */
  readonly message: string;
  /** Devices whose program had ended. */
  readonly finished: readonly number[];
  /** Devices paused on a message, and from whom. */
  readonly waiting: readonly {
    /** The device that waits. */
    readonly rank: number;
    /** The rank it waits for. */
    readonly peer: number;
  }[];
}

/** Traffic and, for benchmarks, finish times of the devices of one thread, in rank order. */
export interface SuccessReply {
  /** Always true. */
  readonly ok: true;
  /** The thread. */
  readonly thread: number;
  /** Messages each hosted device sent. */
  readonly messages: readonly number[];
  /** Bytes each hosted device sent. */
  readonly bytes: readonly number[];
  /** Bad input a device found (NaN or infinity in its shard): it still completed its step. */
  readonly badInput?: string;
  /** For benchmarks: when each repetition ended on this thread (ms since the epoch). */
  readonly finishedAt?: readonly number[];
}

/** A thread's reply to a BN task. */
export type DeviceReply = SuccessReply | FailureReply;
