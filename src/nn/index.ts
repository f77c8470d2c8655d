/**
 * `syncbn-sim/nn`: the layers the training experiments build their models from, with batch norm
 * that runs the simulator's own BN in any mode (local, sync, group:K, ghost:G).
 *
 * Activations are float32, batch-major and contiguous ([batch, ...shape]). A model
 * ({@link Sequential}) owns one flat parameter vector and one flat gradient vector, each layer
 * bound to its slice, so data-parallel training all-reduces a single array. Layers run their
 * matrix products and convolutions on the WebAssembly SIMD kernels unless the JavaScript reference
 * is selected (`useKernels('js')` in the main entry).
 *
 * @example
 * ```ts
 * import { Flatten, Linear, ReLU, Sequential, softmaxCrossEntropy } from 'syncbn-sim/nn';
 * import { SeededRandom } from 'syncbn-sim/tensor';
 *
 * const model = new Sequential([new Flatten(), new Linear(16, 8), new ReLU(), new Linear(8, 3)], [1, 4, 4]);
 * model.init(new SeededRandom(0));
 * const x = new Float32Array(2 * 16).fill(0.5); // a batch of 2 examples of [1, 4, 4]
 * const logits = model.forward(x, 2, true);
 * const { loss, grad } = softmaxCrossEntropy(logits, [0, 2], 2, 3);
 * model.backward(grad); // gradients land in model.grads
 * ```
 *
 * @module syncbn-sim/nn
 */

export type { CommunicatingLayer, Layer } from './layer.js';
export { Sequential } from './sequential.js';
export type { InputGradSwitch, SequentialOptions } from './sequential.js';
export { Linear } from './linear.js';
export type { LinearOptions } from './linear.js';
export { Conv2d } from './conv2d.js';
export type { Conv2dOptions } from './conv2d.js';
export { AvgPool2d, MaxPool2d } from './pooling.js';
export { ReLU, Sigmoid } from './activations.js';
export { Flatten } from './flatten.js';
export { BatchNormLayer } from './batch-norm-layer.js';
export type { BnContext, BnContextHolder } from './batch-norm-layer.js';
export type { DeviceBnSettings } from '../bn/block-bn.js';
export type { AllReduceFn } from '../collectives/all-reduce.js';
export type { RunningStats } from '../bn/running-stats.js';
export { DEFAULT_BIAS_INIT, DEFAULT_INIT } from './init.js';
export type { BiasInit, InitScheme } from './init.js';
export { softmaxCrossEntropy } from './loss.js';
export type { CrossEntropyOptions, CrossEntropyResult } from './loss.js';
export { sgdStep } from './sgd.js';
export type { SgdOptions } from './sgd.js';
