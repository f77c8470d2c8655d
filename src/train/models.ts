/**
 * The two networks of the training experiments, built from src/nn with BN layers that use the
 * simulator's own batch norm in whatever mode the run asks for.
 *   lenet-bn: the lecture's BN-LeNet (conv 5x5 -> 6, BN, sigmoid, avgpool 2; conv 5x5 -> 16, BN,
 *             sigmoid, avgpool 2; flatten; linear 256 -> 120, BN, sigmoid; 120 -> 84, BN, sigmoid; 84 -> 10)
 *   mlp:      flatten; linear -> 256, BN, ReLU; 256 -> 128, BN, ReLU; 128 -> classes
 */
import { ReLU, Sigmoid } from '../nn/activations.js';
import type { BnContextHolder } from '../nn/batch-norm-layer.js';
import { Conv2d } from '../nn/conv2d.js';
import { Flatten } from '../nn/flatten.js';
import type { Layer } from '../nn/layer.js';
import { Linear } from '../nn/linear.js';
import { AvgPool2d } from '../nn/pooling.js';
import { Sequential } from '../nn/sequential.js';
import { InputError } from '../errors.js';
import { checkChoice, checkObject, checkShape, checkWhole } from '../args.js';
import { type ModelNorm, normLayerMaker } from './model-norm.js';
import { MODEL_NAMES, type ModelSpec } from './protocol.js';

/** A replica as buildModel makes it. */
export interface BuiltModel {
  /** The network. */
  readonly model: Sequential;
  /** Channels of each BN layer, in order: where each finds its running statistics. */
  readonly bnChannels: readonly number[];
}

/**
 * One replica of a model: its layers (BN layers reading their context from `holder`).
 *
 * @param spec - the network, its input shape and its classes.
 * @param holder - where the BN layers find the running device's context.
 * @param norm - the normalization at the BN positions (src/train/model-norm.ts); default batch norm.
 * @returns the model and the channels of its layers with running statistics.
 * @throws {@link syncbn-sim!InputError} for an unusable spec (lenet-bn needs 28x28 images) or a
 *   normalization that does not fit the model.
 * @example
 * ```ts
 * const holder = {};
 * const { model, bnChannels } = buildModel({ name: 'lenet-bn', inputShape: [1, 28, 28], classes: 10 }, holder);
 * ```
 */
export function buildModel(spec: ModelSpec, holder: BnContextHolder, norm?: ModelNorm): BuiltModel {
  checkModelSpec('spec', spec);
  checkObject('holder', holder);
  const bnChannels: number[] = [];
  const bn: (channels: number) => Layer = normLayerMaker(norm, holder, bnChannels);
  const [channels, height, width] = spec.inputShape;
  let layers: Layer[];
  if (spec.name === 'lenet-bn') {
    if (height !== 28 || width !== 28) throw new InputError(`lenet-bn needs 28x28 images, got ${height}x${width}`);
    layers = [
      new Conv2d(channels, 6, 5),
      bn(6),
      new Sigmoid(),
      new AvgPool2d(2),
      new Conv2d(6, 16, 5),
      bn(16),
      new Sigmoid(),
      new AvgPool2d(2),
      new Flatten(),
      new Linear(256, 120),
      bn(120),
      new Sigmoid(),
      new Linear(120, 84),
      bn(84),
      new Sigmoid(),
      new Linear(84, spec.classes),
    ];
  } else {
    layers = [
      new Flatten(),
      new Linear(channels * height * width, 256),
      bn(256),
      new ReLU(),
      new Linear(256, 128),
      bn(128),
      new ReLU(),
      new Linear(128, spec.classes),
    ];
  }
  return { model: new Sequential(layers, spec.inputShape), bnChannels };
}

/** Where each BN layer's running mean and variance sit in one replica's block of BN state. */
export interface BnStateLayout {
  /** Where each BN layer's block (mean [C] then var [C]) starts. */
  readonly offsets: readonly number[];
  /** C of each BN layer. */
  readonly channels: readonly number[];
  /** Float64 values per replica. */
  readonly stride: number;
}

/**
 * Checks a model spec: a known model, an input shape [C, H, W] and a class count.
 *
 * @param name - the argument's name, for messages.
 * @param spec - what the caller passed.
 * @returns the spec.
 * @throws {@link syncbn-sim!InputError} naming the bad field.
 */
export function checkModelSpec(name: string, spec: unknown): ModelSpec {
  const s = checkObject<ModelSpec>(name, spec);
  checkChoice(`${name}.name`, s.name, MODEL_NAMES);
  checkShape(`${name}.inputShape`, s.inputShape);
  if (s.inputShape.length !== 3 || s.inputShape.some((d) => d < 1))
    throw new InputError(`${name}.inputShape must be [C, H, W] of whole numbers >= 1, got [${s.inputShape.join(',')}]`);
  checkWhole(`${name}.classes`, s.classes, 2);
  return s;
}

/**
 * The layout of one replica's BN state for BN layers of these channels.
 *
 * @param bnChannels - C of each BN layer, in order.
 * @returns the offsets and the stride.
 */
export function bnStateLayout(bnChannels: readonly number[]): BnStateLayout {
  const offsets: number[] = [];
  let at = 0;
  for (const c of bnChannels) {
    offsets.push(at);
    at += 2 * c;
  }
  return { offsets, channels: bnChannels, stride: at };
}

/**
 * Layer `index`'s running statistics inside one replica's block.
 *
 * @param block - one replica's BN state.
 * @param layout - its layout.
 * @param index - the BN layer.
 * @returns views of its running mean and variance.
 */
export function bnStateOf(
  block: Float64Array,
  layout: BnStateLayout,
  index: number,
): { mean: Float64Array; var: Float64Array } {
  const at = layout.offsets[index];
  const c = layout.channels[index];
  return { mean: block.subarray(at, at + c), var: block.subarray(at + c, at + 2 * c) };
}
