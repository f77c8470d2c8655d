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
  readonly buffer: SharedArrayBuffer;
  readonly offset: number;
}

/** Where a thread's devices meet: the control block and the doorbells of every thread. */
export interface ThreadLinks {
  readonly control: ControlBlock;
  readonly doorbells: SharedArrayBuffer;
  /** Bell reads before a thread sleeps: worth it only when every thread has a core. */
  readonly spins: number;
}

export interface SharedBuffers {
  /** Per-rank state blocks (see rank-state.ts). */
  readonly state: SharedArrayBuffer;
  /** weight [C] then bias [C], float64. */
  readonly params: SharedArrayBuffer;
  /** The batch and the gradients (present as the operation needs them). */
  readonly x?: SharedArrayRef;
  readonly y?: SharedArrayRef;
  readonly dy?: SharedArrayRef;
  readonly dx?: SharedArrayRef;
  readonly outbox: OutboxBuffer;
}

export interface StepSettings {
  readonly rows: number;
  readonly channels: number;
  readonly inner: number;
  readonly dtype: DType;
  readonly mode: BnMode;
  readonly algorithm: AlgorithmName;
  readonly stats: StatsMethod;
  readonly accumulator: Accumulator;
  readonly training: boolean;
  readonly momentum: number;
  readonly eps: number;
  readonly convention: RunningConvention;
  readonly hasWeight: boolean;
  readonly hasBias: boolean;
  readonly timeoutMs: number;
}

/** A fault a test or experiment injects into one device. */
export type FaultKind = 'crash' | 'hang' | 'skip';
export const FAULT_KINDS: readonly FaultKind[] = ['crash', 'hang', 'skip'];
export interface Fault {
  readonly kind: FaultKind;
  readonly rank: number;
}

export type DeviceOp = 'forward' | 'backward' | 'allreduce-bench';

/** A no-op a thread answers at once: proves it is up. */
export interface PingTask {
  readonly op: 'ping';
}

/** Which devices a thread hosts: global ranks [first, end) of `devices`, on thread `thread` of `threads`. */
export interface Hosting {
  readonly thread: number;
  readonly threads: number;
  readonly devices: number;
  readonly first: number;
  readonly end: number;
}

export interface DeviceTask {
  readonly op: DeviceOp;
  readonly hosting: Hosting;
  readonly links: ThreadLinks;
  readonly settings: StepSettings;
  readonly buffers: SharedBuffers;
  readonly fault?: Fault;
  /** For 'allreduce-bench': repetitions and vector length. */
  readonly reps?: number;
  readonly length?: number;
}

/** How a thread's step failed: the kind, the device at the root of it, and its phase. */
export type FailureKind = 'crash' | 'timeout' | 'aborted';

/** What a thread says when its step failed, with where every device it hosts stood. */
export interface FailureReply {
  readonly ok: false;
  readonly thread: number;
  readonly kind: FailureKind;
  /** The device that crashed, or the one whose wait timed out or was aborted. */
  readonly rank: number;
  readonly phase: Phase;
  readonly message: string;
  /** Devices whose program had ended. */
  readonly finished: readonly number[];
  /** Devices paused on a message, and from whom. */
  readonly waiting: readonly { readonly rank: number; readonly peer: number }[];
}

/** Traffic and, for benchmarks, finish times of the devices of one thread, in rank order. */
export interface SuccessReply {
  readonly ok: true;
  readonly thread: number;
  readonly messages: readonly number[];
  readonly bytes: readonly number[];
  /** Bad input a device found (NaN or infinity in its shard): it still completed its step. */
  readonly badInput?: string;
  /** For benchmarks: when each repetition ended on this thread (ms since the epoch). */
  readonly finishedAt?: readonly number[];
}

export type DeviceReply = SuccessReply | FailureReply;
