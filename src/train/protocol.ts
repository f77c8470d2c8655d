/**
 * Tasks of data-parallel training, sent to the same device threads as the BN steps. As there,
 * a task carries handles to shared buffers and the settings of one step; replicas' parameters,
 * momentum buffers and BN running statistics live in shared memory, one block per rank, since
 * any thread may run any rank.
 */
import type { StatsMethod } from '../bn/batch-moments.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import type { OutboxBuffer } from '../collectives/outbox.js';
import type { BnMode } from '../bn/modes.js';
import type { FailureReply, Hosting, SuccessReply, ThreadLinks } from '../cluster/protocol.js';
import type { KernelBackend } from '../kernels/backend.js';

export type ModelName = 'mlp' | 'lenet-bn';
export const MODEL_NAMES: readonly ModelName[] = ['mlp', 'lenet-bn'];

export interface ModelSpec {
  readonly name: ModelName;
  /** One example: [channels, height, width]. */
  readonly inputShape: readonly number[];
  readonly classes: number;
}

export interface TrainBuffers {
  /** Float32 [W][P]: every replica's parameters. */
  readonly params: SharedArrayBuffer;
  /** Float32 [W][P]: every replica's SGD momentum buffer. */
  readonly momentum: SharedArrayBuffer;
  /** Float64 [W][S]: every replica's BN running statistics (mean then var, layer by layer). */
  readonly bnState: SharedArrayBuffer;
  /** Float32 images and Int32 labels of the global batch (train) or of the whole set (eval). */
  readonly images: SharedArrayBuffer;
  readonly labels: SharedArrayBuffer;
  /** Float64 [W][S]: sums of the statistics each BN layer normalized with (precise BN). */
  readonly collected: SharedArrayBuffer;
  /** BN all-reduces (sized for the widest BN layer and the sync group) and the gradient all-reduce. */
  readonly bnOutbox: OutboxBuffer;
  readonly gradOutbox: OutboxBuffer;
}

export interface OptimizerSettings {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

export interface TrainStepTask {
  readonly op: 'train-step';
  readonly hosting: Hosting;
  readonly links: ThreadLinks;
  /** The kernels the devices run (src/kernels/backend.ts). */
  readonly kernels: KernelBackend;
  readonly model: ModelSpec;
  readonly mode: BnMode;
  readonly stats: StatsMethod;
  readonly bnMomentum: number;
  readonly eps: number;
  readonly algorithm: AlgorithmName;
  readonly gradAlgorithm: AlgorithmName;
  readonly optimizer: OptimizerSettings;
  /** The first SGD step initialises the momentum buffer (as torch.optim.SGD). */
  readonly firstStep: boolean;
  /** Examples in the global batch held in `images`. */
  readonly batch: number;
  readonly timeoutMs: number;
  readonly buffers: TrainBuffers;
}

/**
 * Evaluation of a slice of a set (no communication): `running` normalizes with the BN statistics
 * of `statsRank` (or, with statsRank -1, those in `collected` row 0, precomputed by the
 * coordinator); `batch` normalizes each chunk of `chunk` examples with its own statistics.
 * `collect` runs training-mode forwards over whole batches of `chunk` examples and adds the
 * statistics every BN layer normalized with into `collected` (precise BN).
 */
export interface EvalTask {
  readonly op: 'train-eval';
  /** The kernels the device runs (src/kernels/backend.ts). */
  readonly kernels: KernelBackend;
  readonly how: 'running' | 'batch' | 'collect';
  readonly hosting: Hosting;
  readonly links: ThreadLinks;
  readonly timeoutMs: number;
  readonly model: ModelSpec;
  readonly stats: StatsMethod;
  readonly eps: number;
  /** Parameters of this rank are used (replicas are identical). */
  readonly paramsRank: number;
  readonly statsRank: number;
  /** Examples in `images`; this device takes its array_split share (in whole chunks for collect). */
  readonly count: number;
  readonly chunk: number;
  readonly buffers: TrainBuffers;
}

/** A thread's reply: each device's traffic and figures, in rank order, and the kernels it ran. */
export interface TrainSuccess extends SuccessReply {
  /** Per device; train-step: [loss x examples, correct, examples]; train-eval: [loss x examples, correct, examples, chunks]. */
  readonly values: number[][];
  readonly kernels: KernelBackend;
}

export type TrainReply = TrainSuccess | FailureReply;
