/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017) from its four standard IDX files, as Debian's
 * package dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist:
 *   train-images-idx3-ubyte.gz  60000 x 28 x 28 uint8      train-labels-idx1-ubyte.gz  60000 uint8
 *   t10k-images-idx3-ubyte.gz   10000 x 28 x 28 uint8      t10k-labels-idx1-ubyte.gz   10000 uint8
 * Each file may also be present uncompressed, without the .gz (the .gz is preferred when both are).
 *
 * The loader checks what the model relies on: 28x28 images, as many labels as images, labels 0..9.
 * It does not insist on 60000 and 10000 examples, so a folder of smaller files in the same format
 * works too. Pixels become float32 in [0, 1] (p / 255, as torchvision's ToTensor; see dataset.ts).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { checkFields, ofType } from '../args.js';
import { type Dataset, type DatasetSplits, checkDataset, normalizeImages, subset as takeSubset } from './dataset.js';
import { readIdxFile } from './idx.js';

/** Where Debian's dataset-fashion-mnist package installs the files. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The Debian package that installs the files. */
export const FASHION_MNIST_PACKAGE = 'dataset-fashion-mnist';

/** Class names, index = label (from the dataset's README). */
export const FASHION_MNIST_CLASSES = [
  't-shirt/top',
  'trouser',
  'pullover',
  'dress',
  'coat',
  'sandal',
  'shirt',
  'sneaker',
  'bag',
  'ankle boot',
] as const;

/** Height and width of every image. */
export const FASHION_MNIST_SIZE = 28;

/** The files' names without the .gz suffix. */
export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Options of {@link loadFashionMnist}. */
export interface FashionMnistOptions {
  /** Folder holding the four IDX files (default /usr/share/datasets/fashion-mnist). */
  readonly dataDir?: string;
  /**
   * Keep a class-balanced subset of this many training examples, and of min(subset, 10000) test
   * examples (see subset() in dataset.ts); all of both when omitted.
   */
  readonly subset?: number;
}

type FileKey = keyof typeof FASHION_MNIST_FILES;

/**
 * Where each of the four files is in `dataDir` (.gz first, then the uncompressed name). A missing
 * folder or file is an InputError that names the Debian package and the --data-dir flag.
 *
 * @param dataDir - the folder (default /usr/share/datasets/fashion-mnist).
 * @returns the path of each of the four files.
 * @throws {@link syncbn-sim!InputError} naming the folder, what is missing, the Debian package and
 *   the --data-dir flag.
 */
export function findFashionMnistFiles(dataDir: string = DEFAULT_FASHION_MNIST_DIR): Record<FileKey, string> {
  const notFound = (detail: string): InputError =>
    new InputError(
      `Fashion-MNIST not found in ${dataDir} (${detail}): install Debian's package ${FASHION_MNIST_PACKAGE}, ` +
        'or point --data-dir at a folder holding the four IDX files',
    );
  const dirKind = kindOf(dataDir);
  if (dirKind === 'missing') throw notFound('no such directory');
  if (dirKind === 'file') throw notFound('not a directory');
  if (dirKind === 'other') throw notFound('not a readable directory');

  const found: Partial<Record<FileKey, string>> = {};
  const missing: string[] = [];
  for (const key of Object.keys(FASHION_MNIST_FILES) as FileKey[]) {
    const base = FASHION_MNIST_FILES[key];
    const candidates = [join(dataDir, `${base}.gz`), join(dataDir, base)];
    // Anything present but not a readable file is left to readIdxFile, whose message says what is wrong.
    const path = candidates.find((p) => kindOf(p) !== 'missing');
    if (path === undefined) missing.push(`${base}.gz`);
    else found[key] = path;
  }
  if (missing.length > 0) throw notFound(`missing ${missing.join(', ')}`);
  return found as Record<FileKey, string>;
}

/**
 * Loads both splits. Every problem with the files is an InputError naming the file.
 *
 * @param options - the folder, and a class-balanced subset size.
 * @returns the train (60,000) and test (10,000) splits, or subsets of them: [1, 28, 28] images in
 *   [0, 1], 10 classes.
 * @throws {@link syncbn-sim!InputError} naming the file when one is missing or unusable.
 * @example
 * ```ts
 * const { train, test } = loadFashionMnist({ subset: 6000 }); // needs Debian's dataset-fashion-mnist
 * ```
 */
export function loadFashionMnist(options: FashionMnistOptions = {}): DatasetSplits {
  checkFields('options', options, {
    dataDir: ofType.string('a directory path'),
    subset: ofType.number('a whole number >= 1'),
  });
  const files = findFashionMnistFiles(options.dataDir ?? DEFAULT_FASHION_MNIST_DIR);
  let train = loadFashionMnistSplit('fashion-mnist train', files.trainImages, files.trainLabels);
  let test = loadFashionMnistSplit('fashion-mnist test', files.testImages, files.testLabels);
  if (options.subset !== undefined) {
    train = takeSubset(train, options.subset);
    test = takeSubset(test, Math.min(options.subset, test.count));
  }
  return { train, test };
}

/**
 * One split from its images file and labels file (any folder, gzipped or not).
 *
 * @param name - the split's name in reports.
 * @param imagesPath - its IDX images file.
 * @param labelsPath - its IDX labels file.
 * @returns the split.
 * @throws {@link syncbn-sim!InputError} naming the file when one is unusable or they disagree.
 */
export function loadFashionMnistSplit(name: string, imagesPath: string, labelsPath: string): Dataset {
  const images = readIdxFile(imagesPath, { dims: 3 });
  const [count, height, width] = images.dims;
  if (height !== FASHION_MNIST_SIZE || width !== FASHION_MNIST_SIZE) {
    throw new InputError(
      `${imagesPath}: images are ${height}x${width}, Fashion-MNIST's are ${FASHION_MNIST_SIZE}x${FASHION_MNIST_SIZE}`,
    );
  }
  const labels = readIdxFile(labelsPath, { dims: 1 });
  if (labels.dims[0] !== count) {
    throw new InputError(`${labelsPath}: ${labels.dims[0]} labels, but ${imagesPath} holds ${count} images`);
  }
  const classes = FASHION_MNIST_CLASSES.length;
  const bad = labels.data.findIndex((l) => l >= classes);
  if (bad >= 0) {
    throw new InputError(
      `${labelsPath}: label ${labels.data[bad]} at index ${bad} is not a Fashion-MNIST class (0..${classes - 1})`,
    );
  }
  return checkDataset({
    name,
    images: normalizeImages(images.data),
    labels: labels.data,
    count,
    shape: [1, height, width],
    classes,
  });
}

function kindOf(path: string): 'missing' | 'file' | 'directory' | 'other' {
  try {
    const stats = statSync(path);
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    return 'other';
  }
}
