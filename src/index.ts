/**
 * syncbn-sim: the public library API.
 *
 * The single-device operator (`batchNorm`) is the reference every distributed result is held to;
 * the kernels it is built from are exported too, for researchers who want to compose their own
 * variants (a custom merge, a different running-statistics rule). Every function is pure and works
 * on Float32Array / Float64Array in C order ([N,C] or [N,C,H,W]).
 *
 * @packageDocumentation
 */

// The operator.
export { batchNorm, resolveSettings } from './bn/batch-norm.js';
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
export { gradInputEval, gradInputTrain, gradSums } from './bn/backward.js';
export type { GradSums } from './bn/backward.js';
export { DEFAULT_MOMENTUM, updateRunningStats } from './bn/running-stats.js';
export type { RunningConvention, RunningStats } from './bn/running-stats.js';

// Tensors and NumPy files.
export { channelLayout, countPerChannel, dtypeOf } from './tensor/tensor.js';
export type { ChannelLayout, DType, FloatArray, Tensor } from './tensor/tensor.js';
export { encodeNpy, parseNpy, readNpyFile } from './tensor/npy.js';

// The `run` job on files, step by step.
export { loadRunInputs, runBatchNorm, runOutputFiles, runStatsJson } from './experiments/run.js';
export type { RunInputPaths, RunInputs, RunReport, RunSettings } from './experiments/run.js';
export { writeFilesAtomically } from './io/atomic-write.js';
export type { OutputFile } from './io/atomic-write.js';

// Simulated devices: the cluster, its modes and all-reduce algorithms, and its typed failures.
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
export { modeName, parseMode } from './cluster/modes.js';
export type { BnMode } from './cluster/modes.js';
export type { Fault, FaultKind } from './cluster/protocol.js';
export { shardRows, ghostChunks } from './cluster/sharding.js';
export {
  ClusterClosedError,
  CollectiveTimeout,
  DeviceCrashError,
  DeviceFailureError,
  DeviceHangError,
  DeviceMissingError,
} from './cluster/errors.js';
export { ALGORITHM_NAMES, DEFAULT_ALGORITHM, algorithmByName } from './collectives/algorithms/index.js';
export type { AlgorithmName, AllReduceAlgorithm } from './collectives/algorithms/index.js';
export { chanMerge, float32Sum, float64Sum } from './collectives/reducers.js';
export type { Reducer } from './collectives/reducers.js';

// Experiments.
export { compareModes, defaultModes } from './experiments/compare.js';
export type { CompareOptions, CompareReport } from './experiments/compare.js';
export { runOnCluster } from './experiments/run.js';
export type { ClusterRunDetails, ClusterRunSettings } from './experiments/run.js';
export { benchmarkCluster } from './experiments/bench.js';
export type { ClusterBenchOptions, ClusterBenchReport } from './experiments/bench.js';

// Synthetic data.
export { SeededRandom } from './tensor/random.js';
export { syntheticBatch, syntheticGradient } from './tensor/synthetic.js';

export { InputError } from './errors.js';
