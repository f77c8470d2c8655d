/**
 * Messages between the coordinator and the device workers. A task carries handles to the shared
 * buffers (shared, never copied) and the settings of one step; the reply carries only counts.
 */
import type { StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator } from '../bn/moments.js';
import type { RunningConvention } from '../bn/running-stats.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import type { CommBuffer } from '../collectives/comm-buffer.js';
import type { DType } from '../tensor/tensor.js';
import type { Phase } from './control.js';
import type { BnMode } from './modes.js';

/** A float array in shared memory: its buffer and the index of its first element. */
export interface SharedArrayRef {
  readonly buffer: SharedArrayBuffer;
  readonly offset: number;
}

export interface SharedBuffers {
  readonly control: SharedArrayBuffer;
  /** Per-rank state blocks (see rank-state.ts). */
  readonly state: SharedArrayBuffer;
  /** weight [C] then bias [C], float64. */
  readonly params: SharedArrayBuffer;
  /** The batch and the gradients (present as the operation needs them). */
  readonly x?: SharedArrayRef;
  readonly y?: SharedArrayRef;
  readonly dy?: SharedArrayRef;
  readonly dx?: SharedArrayRef;
  readonly comm: CommBuffer;
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

/** A no-op a device answers at once: proves its thread is up. */
export interface PingTask {
  readonly op: 'ping';
}

export interface DeviceTask {
  readonly op: DeviceOp;
  readonly rank: number;
  readonly devices: number;
  readonly settings: StepSettings;
  readonly buffers: SharedBuffers;
  readonly fault?: Fault;
  /** Flag checks before a device sleeps while it waits for a peer. */
  readonly spin: number;
  /** For 'allreduce-bench': repetitions and vector length. */
  readonly reps?: number;
  readonly length?: number;
}

/** bad-input: the device found NaN or infinity in its shard (it still completed the step). */
export type FailureKind = 'crash' | 'timeout' | 'aborted' | 'bad-input';

/** What the pool needs of any reply: success, or a failure it can diagnose. */
export type BaseReply =
  | { readonly ok: true; readonly rank: number }
  | {
      readonly ok: false;
      readonly rank: number;
      readonly kind: FailureKind;
      readonly phase: Phase;
      readonly message: string;
      readonly waitingFor?: number;
    };

export type FailureReply = Extract<BaseReply, { ok: false }>;

export type DeviceReply =
  | { readonly ok: true; readonly rank: number; readonly messages: number; readonly bytes: number; readonly timingsUs?: number[] }
  | FailureReply;
