/**
 * Epochs of global batches for data-parallel training.
 *
 * Each epoch visits every example once, in an order shuffled with Fisher-Yates from a SeededRandom
 * whose seed is derived from (seed, epoch): the same seed and epoch give the same order on every
 * run and machine, epochs differ from each other, and epoch e can be planned without replaying
 * epochs 0..e-1 (a resumed or partial run sees the same batches). The order is cut into global
 * batches of B examples, which the coordinator splits over the W devices (numpy.array_split).
 *
 * The final partial batch (count mod B examples) is kept only when it can give every device at
 * least two examples, that is when it holds at least 2W: with one example a device's batch
 * statistics are degenerate (zero variance: PyTorch refuses to train BatchNorm1d on a batch of
 * one, and local BN would normalize everything to beta). Otherwise its examples are dropped for
 * this epoch (they are others each epoch, since the order changes) and `dropped` counts them, for
 * the report. Full batches are never dropped, even when B < 2W: that choice is the caller's to
 * refuse.
 */
import { requireInput } from '../errors.js';
import { argumentError, checkFields, checkFloat32Array, checkNumbers, checkWhole, ofType } from '../args.js';
import { SeededRandom } from '../tensor/random.js';
import { type Dataset, checkDatasetArg, exampleSize } from './dataset.js';
import { SEED_STREAMS, deriveSeed } from './seeds.js';

/** How an epoch of `examples` splits into batches; the same for every epoch. */
export interface BatchLayout {
  /** Examples in the set. */
  readonly examples: number;
  /** Global batch size B. */
  readonly batchSize: number;
  /** Devices W the batches are split over. */
  readonly devices: number;
  /** Smallest final partial batch that is kept: 2 * devices. */
  readonly minLastBatch: number;
  /** Number of batches of exactly batchSize examples. */
  readonly fullBatches: number;
  /** Size of the final partial batch that is kept, 0 when there is none (none left over, or dropped). */
  readonly lastBatch: number;
  /** Examples left out of every epoch: the final partial batch when it is smaller than minLastBatch, else 0. */
  readonly dropped: number;
  /** Batches (training steps) per epoch: fullBatches, plus one when lastBatch > 0. */
  readonly steps: number;
}

/** One epoch's batches: views into `order`, the shuffled example indices. */
export interface EpochBatches extends BatchLayout {
  /** The epoch, counted from 0. */
  readonly epoch: number;
  /** The whole epoch's order; the dropped examples, if any, are its last `dropped` entries. */
  readonly order: Uint32Array;
  /** `steps` index arrays (subarrays of order), each a global batch. */
  readonly batches: readonly Uint32Array[];
}

/** Options of {@link epochBatches}. */
export interface EpochOptions {
  /** Global batch size B (split over the devices). */
  readonly batchSize: number;
  /** Number of devices W the batches are split over (for the drop rule). */
  readonly devices: number;
  /** Seed of the shuffles. */
  readonly seed: number;
  /** Epoch number, counted from 0: each epoch has its own order. */
  readonly epoch: number;
  /** Shuffle (default true); false keeps the dataset order, e.g. for evaluation. */
  readonly shuffle?: boolean;
}

/**
 * The batch layout of an epoch of `examples` examples in global batches of `batchSize` over
 * `devices` devices.
 *
 * @param examples - examples in the set.
 * @param batchSize - B.
 * @param devices - W.
 * @returns full batches, the kept last batch, what is dropped, and the steps.
 */
export function batchLayout(examples: number, batchSize: number, devices: number): BatchLayout {
  requireInput(
    Number.isInteger(examples) && examples >= 0 && examples < 2 ** 32,
    () => `number of examples must be a non-negative integer, got ${examples}`,
  );
  requireInput(
    Number.isInteger(batchSize) && batchSize >= 1,
    () => `batch size must be a positive integer, got ${batchSize}`,
  );
  requireInput(
    Number.isInteger(devices) && devices >= 1,
    () => `number of devices must be a positive integer, got ${devices}`,
  );
  const fullBatches = Math.floor(examples / batchSize);
  const remainder = examples - fullBatches * batchSize;
  const minLastBatch = 2 * devices;
  const keep = remainder >= minLastBatch;
  return {
    examples,
    batchSize,
    devices,
    minLastBatch,
    fullBatches,
    lastBatch: keep ? remainder : 0,
    dropped: keep ? 0 : remainder,
    steps: fullBatches + (keep && remainder > 0 ? 1 : 0),
  };
}

/**
 * The seed epoch `epoch` is shuffled with, for a run seeded with `seed`.
 *
 * @param seed - the run's seed.
 * @param epoch - the epoch.
 * @returns the seed.
 */
export function epochSeed(seed: number, epoch: number): number {
  return deriveSeed(deriveSeed(seed, SEED_STREAMS.shuffle), epoch);
}

/**
 * Shuffles `array` in place with Fisher-Yates (Durstenfeld's form), drawing from `rng`; returns it.
 *
 * @param array - the values to shuffle.
 * @param rng - the generator.
 * @returns `array`.
 */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(array: T, rng: SeededRandom): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = array[i];
    array[i] = array[j];
    array[j] = t;
  }
  return array;
}

/**
 * 0..count-1 in the order of epoch `epoch` of a run seeded with `seed`.
 *
 * @param count - examples.
 * @param seed - the run's seed.
 * @param epoch - the epoch.
 * @returns the order.
 */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  const order = identity(count);
  return shuffleInPlace(order, new SeededRandom(epochSeed(seed, epoch)));
}

/**
 * The batches of one epoch over `count` examples (see the module comment for the order and the drop
 * rule).
 *
 * @param count - examples in the set.
 * @param options - B, W, the seed, the epoch, and whether to shuffle (default true).
 * @returns the epoch's order and its batches of example indices.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 * @example
 * ```ts
 * for (const batch of epochBatches(train.count, { batchSize: 64, devices: 4, seed: 0, epoch }).batches) {
 *   gatherBatch(train, batch, trainer.batchImages, trainer.batchLabels);
 *   await trainer.step(batch.length);
 * }
 * ```
 */
export function epochBatches(count: number, options: EpochOptions): EpochBatches {
  checkWhole('count', count);
  const whole = ofType.number('a whole number');
  checkFields(
    'options',
    options,
    { batchSize: whole, devices: whole, seed: whole, epoch: whole, shuffle: ofType.boolean },
    ['batchSize', 'devices', 'seed', 'epoch'],
  );
  const layout = batchLayout(count, options.batchSize, options.devices);
  requireInput(
    Number.isInteger(options.epoch) && options.epoch >= 0,
    () => `epoch must be a non-negative integer, got ${options.epoch}`,
  );
  const order = options.shuffle === false ? identity(count) : epochOrder(count, options.seed, options.epoch);
  const batches: Uint32Array[] = [];
  for (let b = 0; b < layout.steps; b++) {
    const start = b * layout.batchSize;
    batches.push(order.subarray(start, Math.min(start + layout.batchSize, count)));
  }
  return { ...layout, epoch: options.epoch, order, batches };
}

/**
 * Copies the examples at `indices` into caller-provided buffers (e.g. views of shared memory):
 * example k of the batch goes to images[(at + k) * size ...] and labels[at + k], where size is the
 * values per example. Returns the number of examples written.
 *
 * @param ds - the dataset.
 * @param indices - the examples to copy.
 * @param images - receives their values.
 * @param labels - receives their classes.
 * @param at - where the first example goes, in examples (default 0).
 * @returns the number of examples written.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 */
export function gatherBatch(
  ds: Dataset,
  indices: ArrayLike<number>,
  images: Float32Array,
  labels: Uint8Array | Int32Array,
  at = 0,
): number {
  checkDatasetArg('ds', ds);
  checkNumbers('indices', indices);
  checkFloat32Array('images', images);
  if (!(labels instanceof Uint8Array || labels instanceof Int32Array))
    throw argumentError('labels', 'a Uint8Array or Int32Array', labels);
  ofType.number('a whole number')('at', at);
  const size = exampleSize(ds);
  const n = indices.length;
  requireInput(Number.isInteger(at) && at >= 0, () => `gatherBatch: offset must be a non-negative integer, got ${at}`);
  requireInput(
    images.length >= (at + n) * size,
    () =>
      `gatherBatch: the images buffer holds ${images.length} values, ${at + n} examples of ${size} need ${(at + n) * size}`,
  );
  requireInput(
    labels.length >= at + n,
    () => `gatherBatch: the labels buffer holds ${labels.length} values, ${at + n} needed`,
  );
  const source = ds.images;
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    requireInput(
      Number.isInteger(i) && i >= 0 && i < ds.count,
      () => `gatherBatch: example index ${i} out of range for ${ds.name} (${ds.count} examples)`,
    );
    images.set(source.subarray(i * size, (i + 1) * size), (at + k) * size);
    labels[at + k] = ds.labels[i];
  }
  return n;
}

function identity(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}
