/**
 * `syncbn-sim/experiments`: what each CLI command computes, as functions that return plain typed
 * data (the CLI only formats it): `run` on one device or a cluster, `compare` of BN modes and
 * algorithms, the `noise` of per-device statistics against theory, the `precision` of each
 * statistics method, the `cost` model of the all-reduces (flat, and on a cluster of nodes with NCCL's
 * protocols, a whole iteration and its execution on a virtual clock), `bench` and `train`.
 *
 * Long experiments take an AbortSignal (`signal`), checked between units of work: an abort throws
 * `InterruptedError` ('E_INTERRUPTED') and closes every cluster they started. A training run that
 * diverges throws `DivergedError` ('E_DIVERGED').
 *
 * @example
 * ```ts
 * import { compareModes, noiseExperiment } from 'syncbn-sim/experiments';
 *
 * const report = await compareModes({ shape: [32, 8, 4, 4], devices: 8, modes: ['local', 'sync', 'group:2'] });
 * for (const row of report.modes) console.log(row.mode, row.messages, 'messages');
 * const noise = await noiseExperiment({ batchSizes: [2, 8, 32], devices: 4, trials: 200 });
 * ```
 *
 * @module syncbn-sim/experiments
 */

// run: batch norm on the user's arrays, on one device or split over a cluster.
export { loadRunInputs, runBatchNorm, runOnCluster } from './run.js';
export type { ClusterRunDetails, ClusterRunSettings, RunInputPaths, RunInputs, RunReport, RunSettings } from './run.js';

// compare: BN modes and all-reduce algorithms side by side against single-device BN.
export { DEFAULT_COMPARE_DEVICES, DEFAULT_COMPARE_SHAPE, compareModes, defaultModes } from './compare.js';
export type {
  AlgorithmRow,
  CompareOptions,
  CompareReport,
  DeviceRow,
  ModeRow,
  MomentsRow,
  StraySummary,
} from './compare.js';

// noise: the statistical noise of what each device normalizes with, against i.i.d. theory.
export { noiseExperiment } from './noise.js';
export type { NoiseOptions, NoiseReport, NoiseRow, NoiseSource } from './noise.js';
export { compareLayers, noiseLayers } from './layers.js';
export { SWEEP_NO_BN_MODE, sweepExperiment } from './sweep.js';
export type {
  DivergedRun,
  SweepOptions,
  SweepReport,
  SweepRow,
  SweepRunConfig,
  SweepRunResult,
  SweepSettings,
} from './sweep.js';
export type {
  LayerCompareEntry,
  LayerCompareOptions,
  LayerCompareReport,
  LayerNoiseEntry,
  LayerNoiseOptions,
  LayerNoiseReport,
  LayerNoiseRow,
  LayerNoiseSummary,
  LayerStrayRow,
  LayerSummary,
} from './layers.js';
export { DISTRIBUTION_NAMES } from '../tensor/distributions.js';
export type { DistributionName } from '../tensor/distributions.js';

// precision: the error of each statistics method as |mean| / std grows.
export {
  HALF_COUNTS,
  PRECISION_ALL_DTYPES,
  PRECISION_METHODS,
  exactMoments,
  halfCountRows,
  precisionExperiment,
} from './precision.js';
export type {
  HalfCountRow,
  PrecisionDType,
  PrecisionMethod,
  PrecisionOptions,
  PrecisionReport,
  PrecisionRow,
} from './precision.js';

// cost: the alpha-beta model of the BN all-reduces of a network.
export { NETWORK_NAMES, costModel } from './cost.js';
export type {
  CostCrossover,
  CostFastest,
  CostFastestBySize,
  CostOptions,
  CostReport,
  CostRow,
  NetworkName,
} from './cost.js';
export type { FlatAlgorithmName } from '../collectives/cost-model.js';
export { LINK_NAMES } from '../collectives/link-presets.js';
export type { LinkPresetName } from '../collectives/link-presets.js';

// cost on a cluster: nodes, links, NCCL's protocols, a whole iteration, executed on a virtual clock.
export { COLLECTIVE_KINDS, busFactor, collectiveTable, pickFastest } from '../cost/collective-table.js';
export type { CollectiveKind, CollectivePick, CollectiveRow, CollectiveTable } from '../cost/collective-table.js';
export { BN_PATTERNS, bnCalls } from '../cost/bn-patterns.js';
export type { BnCall, BnPattern } from '../cost/bn-patterns.js';
export { iterationCost } from '../cost/iteration.js';
export type { IterationInput, IterationReport, IterationRow } from '../cost/iteration.js';
export { GPUS, GPU_NAMES, MODELS, MODEL_NAMES, computeSeconds } from '../cost/networks.js';
export type { ComputeTime } from '../cost/networks.js';
export type { GpuName, GpuPreset, ModelName, NetworkFigures } from '../cost/networks.js';
export { simulateIteration } from '../cost/simulate.js';
export type { SimulateInput, SimulateResult, Straggler } from '../cost/simulate.js';
export { flatTopology, makeTopology, resolveLink } from '../cost/topology.js';
export type { Link, LinkOptions, Topology } from '../cost/topology.js';
export { INTER_LINK_NAMES, INTRA_LINK_NAMES, LINK_PRESETS as CLUSTER_LINK_PRESETS } from '../cost/links.js';
export type {
  InterLinkName,
  IntraLinkName,
  LinkPreset as ClusterLinkPreset,
  LinkPresetName as ClusterLinkName,
} from '../cost/links.js';
export { PROTOCOLS } from '../cost/nccl-tuning.js';
export type { HopKind, Protocol } from '../cost/nccl-tuning.js';
export { MEASUREMENTS, validationTable } from '../cost/validation.js';
export type { Measurement, ValidationRow } from '../cost/validation.js';

// bench: the cluster's speed, beside PyTorch when it is installed.
export { benchmarkCluster } from './bench.js';
export type {
  AllReduceFigures,
  ClusterBenchOptions,
  ClusterBenchReport,
  GoalCheck,
  StartStopFigures,
  TorchPeer,
} from './bench.js';

// train: data-parallel training runs that compare BN modes and per-device batch sizes.
export { DATASET_NAMES, DivergedError, trainExperiment } from './train.js';
export type { DatasetName, EpochRow, RunHeader, TrainRunReport, TrainOptions, TrainReport } from './train.js';

// semantics: every framework's synchronized BN on one batch, against exact single-device BN.
export { SEMANTICS_DTYPES, semanticsExperiment } from './semantics.js';
export type { SemanticsExperimentOptions, SemanticsReport } from './semantics.js';
export type { SemanticsRow } from '../semantics/measure.js';
export type { SemanticsCaseName } from '../semantics/cases.js';
export type { FrameworkName } from '../semantics/rules.js';
export type { StorageType } from '../semantics/engine.js';
export type { HalfFormat } from '../half/formats.js';

// Stopping and following long experiments.
export { InterruptedError } from './interrupt.js';
export type { ProgressFn } from './interrupt.js';
