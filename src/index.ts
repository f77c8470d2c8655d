/**
 * syncbn-sim: batch normalization, single-device and synchronized across simulated devices.
 *
 * The main entry holds what a researcher reaches for first:
 *
 * - the single-device operator {@link batchNorm}, the reference every distributed result is held
 *   to, and the pure kernels it is built from (partial statistics, merges, normalize, backward,
 *   running statistics), for composing variants of one's own;
 * - {@link Cluster}: W simulated devices on worker threads that all-reduce their partial
 *   statistics with a chosen algorithm, driven step by step;
 * - the .npy reader and writer, the .npz reader and captured activations (python/syncbn_capture.py);
 * - the errors: every error the package throws is a {@link SyncBnError} with a stable `code`.
 *
 * The rest lives behind subpath entries: `syncbn-sim/tensor` (seeded synthetic data, sharding),
 * `syncbn-sim/collectives` (the all-reduce algorithms and reducers), `syncbn-sim/nn` (layers),
 * `syncbn-sim/train` (the data-parallel trainer, models, datasets) and `syncbn-sim/experiments`
 * (what the CLI's commands compute, as plain typed data).
 *
 * Kernels are pure and work on Float32Array / Float64Array in C order ([N,C] or [N,C,H,W]);
 * statistics are computed in float64.
 *
 * @example
 * ```ts
 * import { Cluster, batchNorm } from 'syncbn-sim';
 *
 * const x = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [4, 2] };
 * const single = batchNorm(x); // batch mean [4, 5], biased variance [5, 5]
 * const cluster = Cluster.start({ devices: 2 });
 * try {
 *   const sync = await cluster.forward(x, { mode: 'sync' }); // the same output, from two devices
 * } finally {
 *   await cluster.close();
 * }
 * ```
 *
 * @module syncbn-sim
 */

// The operator.
export { batchNorm } from './bn/batch-norm.js';
export type { BatchNormOptions, BatchNormResult, BatchNormSettings } from './bn/batch-norm.js';

// Statistics: methods, partials and merges.
export { STATS_METHODS, batchMoments, firstElementShift } from './bn/batch-moments.js';
export type { MomentsOptions, StatsMethod } from './bn/batch-moments.js';
export {
  centeredSumSq,
  mergeSums,
  mergeWelford,
  momentsFromSums,
  momentsFromWelford,
  sumStats,
  welfordStats,
} from './bn/moments.js';
export type { Accumulator, Moments, SumStats, WelfordStats } from './bn/moments.js';

// Normalization, backward and running statistics.
export { inverseStd, normalize } from './bn/normalize.js';
export { gradInputEval, gradInputTrain, gradSums, gradTrain } from './bn/backward.js';
export type { GradSums } from './bn/backward.js';
// A block with its own statistics (single device, local or ghost BN): fused on WebAssembly.
export { forwardTrain } from './bn/forward.js';
export type { ForwardStats } from './bn/forward.js';
export { DEFAULT_MOMENTUM, updateRunningStats } from './bn/running-stats.js';
export type { RunningConvention, RunningStats } from './bn/running-stats.js';

// Which kernels run: WebAssembly SIMD (the default, required) or the JavaScript reference.
export { KERNEL_BACKENDS, KERNELS_ENV, kernelBackend, useKernels } from './kernels/backend.js';
export type { KernelBackend } from './kernels/backend.js';

// Tensors and NumPy files.
export { channelLayout, countPerChannel, dtypeOf } from './tensor/tensor.js';
export type { ChannelLayout, DType, FloatArray, Tensor } from './tensor/tensor.js';
export { encodeNpy, parseNpy, readNpyFile } from './tensor/npy.js';
export type { FloatAllocator, NpyReadOptions } from './tensor/npy.js';
export { parseNpz, readNpzFile } from './tensor/npz.js';
export type { NpzContents } from './tensor/npz.js';
export { capturedFromNpz, readCapturedActivations, selectLayers } from './tensor/activations.js';
export type { CapturedActivations, CapturedLayer } from './tensor/activations.js';

// Simulated devices: the cluster, its options and results, its BN modes and all-reduce algorithms.
export { Cluster, MAX_DEVICES } from './cluster/cluster.js';
export type {
  BackwardOptions,
  BackwardResult,
  ClusterOptions,
  DeviceStats,
  ForwardOptions,
  ForwardResult,
  RunningStatsOfRank,
  Traffic,
} from './cluster/cluster.js';
export { modeName, parseMode } from './bn/modes.js';
export type { BnMode } from './bn/modes.js';
export { FAULT_KINDS } from './cluster/protocol.js';
export type { Fault, FaultKind } from './cluster/protocol.js';
export { PHASES } from './cluster/control.js';
export type { Phase } from './cluster/control.js';
export { ALGORITHM_NAMES, DEFAULT_ALGORITHM } from './collectives/algorithms/index.js';
export type { AlgorithmName } from './collectives/algorithms/index.js';

// Errors: one hierarchy, each class with a stable code, and the CLI's exit code of each.
export {
  ERROR_CODES,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
  ExternalProcessError,
  InputError,
  InternalError,
  NotBuiltError,
  OutputWriteError,
  SyncBnError,
  exitCodeOf,
} from './errors.js';
export type { ErrorCode } from './errors.js';
export {
  ClusterClosedError,
  CollectiveTimeoutError,
  DeviceCrashError,
  DeviceFailureError,
  DeviceHangError,
  DeviceMissingError,
} from './cluster/errors.js';
export type { DeviceFailureKind } from './cluster/errors.js';
export { WasmKernelError } from './kernels/wasm-module.js';
