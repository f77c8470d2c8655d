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
export { gradInputEval, gradInputTrain, gradSums, gradTrain } from './bn/backward.js';
export type { GradSums } from './bn/backward.js';
// A block with its own statistics (single device, local or ghost BN): fused on WebAssembly.
export { forwardTrain } from './bn/forward.js';
export type { ForwardStats } from './bn/forward.js';
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
export { noiseExperiment } from './experiments/noise.js';
export type { NoiseOptions, NoiseReport, NoiseRow } from './experiments/noise.js';
export { precisionExperiment } from './experiments/precision.js';
export { costModel } from './experiments/cost.js';
export type { CompareOptions, CompareReport } from './experiments/compare.js';
export { runOnCluster } from './experiments/run.js';
export type { ClusterRunDetails, ClusterRunSettings } from './experiments/run.js';
export { benchmarkCluster } from './experiments/bench.js';
export type { ClusterBenchOptions, ClusterBenchReport } from './experiments/bench.js';

// Data-parallel training: layers, models, data, the trainer and the experiment.
export { BatchNormLayer } from './nn/batch-norm-layer.js';
export type { BnContext, BnContextHolder } from './nn/batch-norm-layer.js';
export { Linear } from './nn/linear.js';
export { Conv2d } from './nn/conv2d.js';
export { AvgPool2d, MaxPool2d } from './nn/pooling.js';
export { ReLU, Sigmoid } from './nn/activations.js';
export { Flatten } from './nn/flatten.js';
export { Sequential } from './nn/sequential.js';
export type { Layer } from './nn/layer.js';
export { softmaxCrossEntropy } from './nn/loss.js';
export { sgdStep } from './nn/sgd.js';
// Which kernels the layers run: WebAssembly SIMD (default, required) or the JavaScript reference.
export { KERNEL_BACKENDS, kernelBackend, useKernels } from './kernels/backend.js';
export type { KernelBackend } from './kernels/backend.js';
export { WasmKernelError } from './kernels/wasm-module.js';
export { buildModel } from './train/models.js';
export { MODEL_NAMES } from './train/protocol.js';
export type { ModelName, ModelSpec, OptimizerSettings } from './train/protocol.js';
export { Trainer, sharedSet } from './train/trainer.js';
export type { EvalResult, SharedSet, StepExamples, StepResult, TrainerOptions } from './train/trainer.js';
export { trainExperiment } from './experiments/train.js';
export type { EpochRow, RunReport as TrainRunReport, TrainOptions, TrainReport } from './experiments/train.js';
export { loadFashionMnist } from './data/fashion-mnist.js';
export { loadSynthetic } from './data/synthetic.js';
export { epochBatches, gatherBatch } from './data/batches.js';
export type { Dataset } from './data/dataset.js';

// Synthetic data.
export { SeededRandom } from './tensor/random.js';
export { syntheticBatch, syntheticGradient } from './tensor/synthetic.js';

export { DivergedError, InputError } from './errors.js';
