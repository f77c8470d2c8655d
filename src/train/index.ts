/**
 * `syncbn-sim/train`: data-parallel training of W model replicas on simulated devices, with batch
 * norm local, synchronized, group-synchronized or ghost across them; the models, the datasets and
 * the epoch batching the training experiments use.
 *
 * Each step splits the global batch over the devices, runs forward and backward on every replica
 * (BN layers all-reduce their statistics among the devices they sync with), all-reduces the
 * gradients and applies SGD, so the replicas stay bitwise identical.
 *
 * @example
 * ```ts
 * import { Trainer, epochBatches, gatherBatch, loadSynthetic, sharedSet } from 'syncbn-sim/train';
 *
 * const { train, test } = loadSynthetic({ train: 512, test: 128 });
 * const trainer = new Trainer({
 *   model: { name: 'mlp', inputShape: [1, 28, 28], classes: train.classes },
 *   devices: 4,
 *   bn: 'sync', // or 'local', 'group:2', 'ghost:8'
 *   optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 0 },
 *   maxBatch: 64,
 *   seed: 0,
 * });
 * try {
 *   for (const batch of epochBatches(train.count, { batchSize: 64, devices: 4, seed: 0, epoch: 0 }).batches) {
 *     gatherBatch(train, batch, trainer.batchImages, trainer.batchLabels);
 *     await trainer.step(batch.length);
 *   }
 *   const result = await trainer.evaluate(sharedSet(test.images, test.labels, test.count), 'running', { chunk: 128 });
 *   console.log('test accuracy', result.accuracy);
 * } finally {
 *   await trainer.close();
 * }
 * ```
 *
 * @module syncbn-sim/train
 */

export { DEFAULT_BN_EPS, DEFAULT_BN_MOMENTUM, Trainer, sharedSet } from './trainer.js';
export type { EvalResult, EvaluateOptions, SharedSet, StepExamples, StepResult, TrainerOptions } from './trainer.js';
export { MODEL_NAMES } from './protocol.js';
export type { ModelName, ModelSpec, OptimizerSettings } from './protocol.js';
export { buildModel } from './models.js';
export type { BnStateLayout, BuiltModel } from './models.js';
export type { Dataset, DatasetSplits } from '../data/dataset.js';
export { loadSynthetic } from '../data/synthetic.js';
export type { SyntheticOptions } from '../data/synthetic.js';
export { DEFAULT_FASHION_MNIST_DIR, loadFashionMnist } from '../data/fashion-mnist.js';
export type { FashionMnistOptions } from '../data/fashion-mnist.js';
export { epochBatches, gatherBatch } from '../data/batches.js';
export type { BatchLayout, EpochBatches, EpochOptions } from '../data/batches.js';
export { MODEL_NORM_KINDS } from './model-norm.js';
export type { ModelNorm } from './model-norm.js';
