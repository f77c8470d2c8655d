/**
 * The in-memory dataset the training experiments read: images as float32 in [0, 1], labels as
 * class numbers.
 *
 * Pixels are scaled exactly as torchvision's ToTensor does (uint8 / 255, nothing else): the
 * lecture's code (d2l's load_data_fashion_mnist) applies ToTensor only, with no mean/std
 * normalization, and batch norm makes the input scale matter little anyway.
 *
 * `subset(ds, n)` is deterministic and class-balanced: it takes, for each class, that class's first
 * examples in file order, n/classes of each (the first n mod classes classes get one more; a class
 * with too few examples gives all it has and the others make up the difference), and keeps them in
 * file order. No seed is involved, so `--subset N` names the same examples on every run and
 * machine; and since Fashion-MNIST's files are already shuffled, this is close to "the first N".
 */
import { InputError, requireInput } from '../errors.js';
import { argumentError, checkFloat32Array, checkObject, checkString, ofType } from '../args.js';

/** A set of labelled images in memory, example-major, as the trainer reads them. */
export interface Dataset {
  /** For messages and reports, e.g. "fashion-mnist train" or "synthetic test (subset 500)". */
  readonly name: string;
  /** count * channels * height * width values in [0, 1], example-major ([N, C, H, W] in C order). */
  readonly images: Float32Array;
  /** count class numbers, each < classes. */
  readonly labels: Uint8Array;
  /** Examples in the set. */
  readonly count: number;
  /** Shape of one example: [channels, height, width], e.g. [1, 28, 28]. */
  readonly shape: readonly [number, number, number];
  /** Classes: every label is below it. */
  readonly classes: number;
}

/** A dataset's two splits. */
export interface DatasetSplits {
  /** The training split. */
  readonly train: Dataset;
  /** The test split. */
  readonly test: Dataset;
}

/**
 * Values per example: channels * height * width.
 *
 * @param ds - a dataset (its shape).
 * @returns C * H * W.
 */
export function exampleSize(ds: Pick<Dataset, 'shape'>): number {
  return ds.shape[0] * ds.shape[1] * ds.shape[2];
}

/**
 * uint8 pixels to float32 in [0, 1]: p / 255, as torchvision's ToTensor. Writes into `out` when
 * given.
 *
 * @param pixels - the uint8 pixels.
 * @param out - receives the floats (default a new array).
 * @returns `out`.
 */
export function normalizeImages(pixels: Uint8Array, out: Float32Array = new Float32Array(pixels.length)): Float32Array {
  requireInput(
    out.length >= pixels.length,
    () => `normalizeImages: output holds ${out.length} values, the input ${pixels.length}`,
  );
  // A table of the 256 float32 values, so every pixel value maps to exactly ToTensor's float32(p / 255).
  for (let i = 0; i < pixels.length; i++) out[i] = PIXEL_TO_FLOAT[pixels[i]];
  return out;
}

const PIXEL_TO_FLOAT = Float32Array.from({ length: 256 }, (_, p) => p / 255);

/**
 * Number of examples of each class.
 *
 * @param ds - a dataset (its labels, count and classes).
 * @returns the count of each class.
 */
export function classCounts(ds: Pick<Dataset, 'labels' | 'count' | 'classes'>): number[] {
  const counts = new Array<number>(ds.classes).fill(0);
  for (let i = 0; i < ds.count; i++) counts[ds.labels[i]]++;
  return counts;
}

/**
 * A Dataset argument: its fields of the right types, then checkDataset's consistency checks.
 *
 * @param name - the argument's name, for messages.
 * @param value - what the caller passed.
 * @returns the dataset.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 */
export function checkDatasetArg(name: string, value: unknown): Dataset {
  const ds = checkObject<Dataset>(name, value);
  checkString(`${name}.name`, ds.name);
  checkFloat32Array(`${name}.images`, ds.images);
  if (!(ds.labels instanceof Uint8Array)) throw argumentError(`${name}.labels`, 'a Uint8Array', ds.labels);
  ofType.number('a whole number')(`${name}.count`, ds.count);
  ofType.numbers('[channels, height, width]')(`${name}.shape`, ds.shape);
  ofType.number('a whole number')(`${name}.classes`, ds.classes);
  return checkDataset(ds);
}

/**
 * Checks that a dataset's arrays agree with its count, shape and classes.
 *
 * @param ds - the dataset.
 * @returns the dataset.
 * @throws {@link syncbn-sim!InputError} naming the dataset and what disagrees.
 */
export function checkDataset<T extends Dataset>(ds: T): T {
  const where = ds.name;
  const [c, h, w] = ds.shape;
  requireInput(
    [c, h, w].every((d) => Number.isInteger(d) && d >= 1),
    () => `${where}: bad example shape [${ds.shape.join(', ')}]`,
  );
  requireInput(
    Number.isInteger(ds.classes) && ds.classes >= 1 && ds.classes <= 256,
    () => `${where}: bad number of classes ${ds.classes}`,
  );
  requireInput(Number.isInteger(ds.count) && ds.count >= 0, () => `${where}: bad count ${ds.count}`);
  requireInput(ds.labels.length === ds.count, () => `${where}: ${ds.labels.length} labels for ${ds.count} examples`);
  requireInput(
    ds.images.length === ds.count * c * h * w,
    () =>
      `${where}: ${ds.images.length} image values, ${ds.count} examples of ${c}x${h}x${w} need ${ds.count * c * h * w}`,
  );
  for (let i = 0; i < ds.count; i++) {
    if (ds.labels[i] >= ds.classes)
      throw new InputError(`${where}: label ${ds.labels[i]} at index ${i} is not a class (0..${ds.classes - 1})`);
  }
  return ds;
}

/**
 * The examples at `indices`, in that order, as a new dataset (copies).
 *
 * @param ds - the dataset.
 * @param indices - the examples to keep.
 * @param name - the new set's name (default the old one's).
 * @returns the new dataset.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 */
export function selectExamples(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const size = exampleSize(ds);
  const n = indices.length;
  const images = new Float32Array(n * size);
  const labels = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    requireInput(
      Number.isInteger(i) && i >= 0 && i < ds.count,
      () => `${ds.name}: example index ${i} out of range (0..${ds.count - 1})`,
    );
    images.set(ds.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = ds.labels[i];
  }
  return { name, images, labels, count: n, shape: ds.shape, classes: ds.classes };
}

/**
 * The indices `subset` keeps, in increasing order: for each class its first quota[c] examples,
 * quotas as equal as the class sizes allow (round robin over the classes, lowest class first).
 *
 * @param ds - a dataset (its labels, count, classes and name).
 * @param n - examples to keep.
 * @returns the indices, ascending.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 */
export function balancedSubsetIndices(
  ds: Pick<Dataset, 'labels' | 'count' | 'classes' | 'name'>,
  n: number,
): Uint32Array {
  requireInput(Number.isInteger(n) && n >= 1, () => `subset size must be a positive integer, got ${n}`);
  requireInput(n <= ds.count, () => `subset of ${n} examples is larger than ${ds.name} (${ds.count} examples)`);
  const available = classCounts(ds);
  const quota = new Array<number>(ds.classes).fill(0);
  let remaining = n;
  // Every class first gets floor(n / classes), or all it has; then rounds over the classes, lowest
  // first, give one more to each class that still has examples until n are chosen (one round when
  // the classes are balanced; the total work is O(n + classes) rounds of O(classes)).
  const base = Math.floor(n / ds.classes);
  for (let c = 0; c < ds.classes; c++) {
    quota[c] = Math.min(base, available[c]);
    remaining -= quota[c];
  }
  while (remaining > 0) {
    for (let c = 0; c < ds.classes && remaining > 0; c++) {
      if (quota[c] < available[c]) {
        quota[c]++;
        remaining--;
      }
    }
  }
  const out = new Uint32Array(n);
  let k = 0;
  for (let i = 0; i < ds.count && k < n; i++) {
    const label = ds.labels[i];
    if (quota[label] > 0) {
      quota[label]--;
      out[k++] = i;
    }
  }
  return out;
}

/**
 * A class-balanced, deterministic subset of n examples (see the module comment); the whole dataset
 * when n equals its count. n larger than the dataset is an InputError.
 *
 * @param ds - the dataset.
 * @param n - examples to keep.
 * @returns the subset.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 */
export function subset(ds: Dataset, n: number): Dataset {
  const indices = balancedSubsetIndices(ds, n);
  if (n === ds.count) return ds;
  return selectExamples(ds, indices, `${ds.name} (subset ${n})`);
}
