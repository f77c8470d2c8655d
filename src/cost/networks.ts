/**
 * What an iteration of a network costs to compute, and what it communicates besides BN: the BN
 * layers' channels, the parameter count (the gradient all-reduce of DDP) and GPU presets of
 * measured training throughput. Every figure is read from its source, never fitted.
 */
import { checkChoice, checkNumber, checkWhole } from '../args.js';
import { InputError } from '../errors.js';
import { NETWORKS } from '../experiments/cost.js';

/** The networks with built-in figures. */
export type ModelName = 'resnet50' | 'lenet-bn';
/** Every built-in network, as `--model` spells it. */
export const MODEL_NAMES: readonly ModelName[] = ['resnet50', 'lenet-bn'];

/** A network as the iteration model sees it. */
export interface NetworkFigures {
  /** Name, or 'custom'. */
  readonly name: string;
  /** Channels of each BN layer, in forward order. */
  readonly channels: readonly number[];
  /** Trainable parameters: the values DDP all-reduces every iteration. */
  readonly params: number;
  /** Where the figures come from. */
  readonly source: string;
}

/**
 * LeNet with BN as the lecture builds it (src/train/models.ts): conv 1->6 5x5 (150 + 6), BN 6
 * (12), conv 6->16 5x5 (2400 + 16), BN 16 (32), linear 256->120 (30720 + 120), BN 120 (240),
 * linear 120->84 (10080 + 84), BN 84 (168), linear 84->10 (840 + 10): 44,878 parameters.
 */
const LENET_BN_PARAMS = 156 + 12 + 2416 + 32 + 30840 + 240 + 10164 + 168 + 850;

/** The built-in networks. */
export const MODELS: Readonly<Record<ModelName, NetworkFigures>> = {
  resnet50: {
    name: 'resnet50',
    channels: NETWORKS.resnet50.channels,
    params: 25_557_032,
    source:
      "torchvision's resnet50: 53 BatchNorm2d layers (26,560 channels), 25,557,032 parameters (its weights' documented num_params)",
  },
  'lenet-bn': {
    name: 'lenet-bn',
    channels: [6, 16, 120, 84],
    params: LENET_BN_PARAMS,
    source: "the lecture's BN-LeNet (src/train/models.ts): 4 BN layers, 44,878 parameters",
  },
};

/** GPUs with a measured training throughput. */
export type GpuName = 'a100' | 'v100' | 'h100';
/** Every GPU preset, as `--gpu` spells it. */
export const GPU_NAMES: readonly GpuName[] = ['a100', 'v100', 'h100'];

/** A GPU's measured training throughput. */
export interface GpuPreset {
  /** Name. */
  readonly name: GpuName;
  /** Images per second one GPU trains ResNet-50 at, or undefined when no published figure was found. */
  readonly resnet50ImagesPerSecond?: number;
  /** Where the figure comes from (or why there is none). */
  readonly source: string;
}

/** The GPU presets: single-GPU, mixed-precision ResNet-50 v1.5 training, NVIDIA's own measurements. */
export const GPUS: Readonly<Record<GpuName, GpuPreset>> = {
  a100: {
    name: 'a100',
    resnet50ImagesPerSecond: 2470,
    source:
      'NVIDIA DeepLearningExamples, PyTorch ResNet50 v1.5 README: DGX A100 (A100 80GB), 1 GPU, mixed precision, 2470 img/s (pytorch-21.03 container)',
  },
  v100: {
    name: 'v100',
    resnet50ImagesPerSecond: 1200,
    source:
      'NVIDIA DeepLearningExamples, PyTorch ResNet50 v1.5 README: DGX-1 (V100 16GB), 1 GPU, mixed precision, 1200 img/s (pytorch-21.03 container)',
  },
  h100: {
    name: 'h100',
    source:
      'no single-GPU ResNet-50 training throughput for H100 was found in a source of the same kind (NVIDIA publishes MLPerf time-to-train, not img/s): give --step-ms',
  },
};

/** One GPU's compute time per iteration, and where the figure comes from. */
export interface ComputeTime {
  /** Seconds of forward and backward per iteration. */
  readonly seconds: number;
  /** The measurement it comes from (a published throughput, or the user's --step-ms). */
  readonly source: string;
}

/**
 * Seconds one GPU computes per iteration (forward and backward, no communication).
 * @param network - the network.
 * @param perGpuBatch - images per GPU per iteration.
 * @param gpu - a GPU preset, or undefined when `stepMs` is given.
 * @param stepMs - the user's measured compute time per iteration, milliseconds.
 * @returns seconds and where the figure comes from.
 * @throws {@link syncbn-sim!InputError} when neither is given, both are, or the GPU has no figure for the network.
 */
export function computeSeconds(
  network: NetworkFigures,
  perGpuBatch: number,
  gpu: GpuName | undefined,
  stepMs: number | undefined,
): ComputeTime {
  checkWhole('perGpuBatch', perGpuBatch, 1);
  if (gpu !== undefined) checkChoice('gpu', gpu, GPU_NAMES);
  if (stepMs !== undefined) checkNumber('stepMs', stepMs, { above: 0 });
  if (stepMs !== undefined && gpu !== undefined)
    throw new InputError('--gpu and --step-ms exclude each other: give one');
  if (stepMs !== undefined) return { seconds: stepMs / 1000, source: `--step-ms ${stepMs}` };
  const preset = GPUS[gpu ?? 'a100'];
  if (network.name !== 'resnet50')
    throw new InputError(
      `--gpu has measured throughput for resnet50 only; give --step-ms for ${networkName(network.name)}`,
    );
  if (preset.resnet50ImagesPerSecond === undefined) throw new InputError(`--gpu ${preset.name}: ${preset.source}`);
  return { seconds: perGpuBatch / preset.resnet50ImagesPerSecond, source: preset.source };
}

/**
 * The name a page gives a network: its own, or 'your network' for `--channels` and `--params`.
 * @param name - the network's name ('custom' for the user's).
 * @returns the name to print.
 */
export function networkName(name: string): string {
  return name === 'custom' ? 'your network' : name;
}
