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
import type { RenormLimits } from '../norm/batch-renorm.js';
import type { ModelNorm } from './model-norm.js';

/** The networks the training experiments build (see models.ts). */
export type ModelName = 'mlp' | 'lenet-bn';
/** Every model name. */
export const MODEL_NAMES: readonly ModelName[] = ['mlp', 'lenet-bn'];

/** Which network to build, for which examples and classes. */
export interface ModelSpec {
  /** The network. */
  readonly name: ModelName;
  /** One example: [channels, height, width]. */
  readonly inputShape: readonly number[];
  /** Classes of the output layer. */
  readonly classes: number;
}

/** The shared buffers of a trainer, which every task carries. */
export interface TrainBuffers {
  /** Float32 [W][P]: every replica's parameters. */
  readonly params: SharedArrayBuffer;
  /** Float32 [W][P]: every replica's SGD momentum buffer. */
  readonly momentum: SharedArrayBuffer;
  /** Float64 [W][S]: every replica's BN running statistics (mean then var, layer by layer). */
  readonly bnState: SharedArrayBuffer;
  /** Float32 images and Int32 labels of the global batch (train) or of the whole set (eval). */
  readonly images: SharedArrayBuffer;
  /** Int32 labels of the same examples. */
  readonly labels: SharedArrayBuffer;
  /** Float64 [W][S]: sums of the statistics each BN layer normalized with (precise BN). */
  readonly collected: SharedArrayBuffer;
  /** BN all-reduces (sized for the widest BN layer and the sync group) and the gradient all-reduce. */
  readonly bnOutbox: OutboxBuffer;
  /** The gradient all-reduce's outbox (every device, the whole parameter vector). */
  readonly gradOutbox: OutboxBuffer;
}

/** SGD's settings, as torch.optim.SGD's (dampening 0, no Nesterov). */
export interface OptimizerSettings {
  /** Learning rate, > 0. */
  readonly lr: number;
  /** Momentum, >= 0 (0: plain SGD). */
  readonly momentum: number;
  /** L2 penalty added to the gradient, >= 0. */
  readonly weightDecay: number;
}

/** One training step for every device one thread hosts. */
export interface TrainStepTask {
  /** Always 'train-step'. */
  readonly op: 'train-step';
  /** The devices of the thread. */
  readonly hosting: Hosting;
  /** The control block and doorbells. */
  readonly links: ThreadLinks;
  /** The kernels the devices run (src/kernels/backend.ts). */
  readonly kernels: KernelBackend;
  /** The network every replica is. */
  readonly model: ModelSpec;
  /** The BN mode across devices. */
  readonly mode: BnMode;
  /** The normalization at the model's BN positions (default batch norm). */
  readonly norm?: ModelNorm;
  /** Batch Renormalization's r_max and d_max for this step (norm batch-renorm only). */
  readonly renormLimits?: RenormLimits;
  /** How BN partial statistics are computed and merged. */
  readonly stats: StatsMethod;
  /** BN running-statistics momentum. */
  readonly bnMomentum: number;
  /** BN eps. */
  readonly eps: number;
  /** The BN statistics' all-reduce. */
  readonly algorithm: AlgorithmName;
  /** The gradients' all-reduce. */
  readonly gradAlgorithm: AlgorithmName;
  /** SGD's settings. */
  readonly optimizer: OptimizerSettings;
  /** The first SGD step initialises the momentum buffer (as torch.optim.SGD). */
  readonly firstStep: boolean;
  /** Examples in the global batch held in `images`. */
  readonly batch: number;
  /** How long a device may wait for a peer, in ms. */
  readonly timeoutMs: number;
  /** The trainer's shared buffers. */
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
  /** Always 'train-eval'. */
  readonly op: 'train-eval';
  /** The kernels the device runs (src/kernels/backend.ts). */
  readonly kernels: KernelBackend;
  /** Which statistics BN normalizes with (see above). */
  readonly how: 'running' | 'batch' | 'collect';
  /** The devices of the thread. */
  readonly hosting: Hosting;
  /** The control block and doorbells. */
  readonly links: ThreadLinks;
  /** How long a device may wait, in ms. */
  readonly timeoutMs: number;
  /** The network every replica is. */
  readonly model: ModelSpec;
  /** The normalization at the model's BN positions (default batch norm). */
  readonly norm?: ModelNorm;
  /** How BN statistics are computed. */
  readonly stats: StatsMethod;
  /** BN eps. */
  readonly eps: number;
  /** Parameters of this rank are used (replicas are identical). */
  readonly paramsRank: number;
  /** Whose running statistics 'running' uses; -1: those in `collected` row 0. */
  readonly statsRank: number;
  /** Examples in `images`; this device takes its array_split share (in whole chunks for collect). */
  readonly count: number;
  /** Examples per chunk ('batch', 'collect') or per forward ('running'). */
  readonly chunk: number;
  /** The trainer's shared buffers. */
  readonly buffers: TrainBuffers;
}

/** A thread's reply: each device's traffic and figures, in rank order, and the kernels it ran. */
export interface TrainSuccess extends SuccessReply {
  /** Per device; train-step: [loss x examples, correct, examples]; train-eval: [loss x examples, correct, examples, chunks]. */
  readonly values: number[][];
  /** The kernels the thread ran. */
  readonly kernels: KernelBackend;
}

/** A thread's reply to a training task. */
export type TrainReply = TrainSuccess | FailureReply;
