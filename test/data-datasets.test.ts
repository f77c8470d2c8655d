import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { batchLayout, epochBatches, epochOrder, gatherBatch } from '../src/data/batches.js';
import {
  type Dataset,
  balancedSubsetIndices,
  checkDataset,
  classCounts,
  normalizeImages,
  subset,
} from '../src/data/dataset.js';
import {
  DEFAULT_FASHION_MNIST_DIR,
  FASHION_MNIST_FILES,
  findFashionMnistFiles,
  loadFashionMnist,
} from '../src/data/fashion-mnist.js';
import { encodeIdx } from '../src/data/idx.js';
import { SYNTHETIC_CLASSES, loadSynthetic, syntheticShapes } from '../src/data/synthetic.js';

const root = mkdtempSync(join(tmpdir(), 'syncbn-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// --- helpers -------------------------------------------------------------------------------------

/** A small dataset whose example i has every value equal to i / 100 and the given label. */
function toyDataset(labels: number[], shape: [number, number, number] = [1, 2, 2], classes = 10): Dataset {
  const size = shape[0] * shape[1] * shape[2];
  const images = new Float32Array(labels.length * size);
  for (let i = 0; i < labels.length; i++) images.fill(i / 100, i * size, (i + 1) * size);
  return checkDataset({ name: 'toy', images, labels: Uint8Array.from(labels), count: labels.length, shape, classes });
}

/** Pixels of a fake Fashion-MNIST image: example i, pixel p holds (i * 7 + p) mod 256. */
function fakePixels(count: number): Uint8Array {
  return Uint8Array.from({ length: count * 784 }, (_, k) => (Math.floor(k / 784) * 7 + (k % 784)) % 256);
}

interface FakeOptions {
  gzip?: boolean;
  trainCount?: number;
  testCount?: number;
  trainLabels?: number[];
  imageSize?: number;
  skip?: (keyof typeof FASHION_MNIST_FILES)[];
}

/** Writes four tiny Fashion-MNIST files into a fresh folder and returns it. */
function fakeFashionMnist(name: string, options: FakeOptions = {}): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const { gzip = true, trainCount = 30, testCount = 12, imageSize = 28, skip = [] } = options;
  const trainLabels = options.trainLabels ?? Array.from({ length: trainCount }, (_, i) => (i * 3) % 10);
  const testLabels = Array.from({ length: testCount }, (_, i) => i % 10);
  const files: Record<keyof typeof FASHION_MNIST_FILES, Uint8Array> = {
    trainImages: encodeIdx(
      [trainCount, imageSize, imageSize],
      fakePixels(trainCount).subarray(0, trainCount * imageSize * imageSize),
    ),
    trainLabels: encodeIdx([trainLabels.length], Uint8Array.from(trainLabels)),
    testImages: encodeIdx(
      [testCount, imageSize, imageSize],
      fakePixels(testCount).subarray(0, testCount * imageSize * imageSize),
    ),
    testLabels: encodeIdx([testCount], Uint8Array.from(testLabels)),
  };
  for (const key of Object.keys(files) as (keyof typeof FASHION_MNIST_FILES)[]) {
    if (skip.includes(key)) continue;
    const base = FASHION_MNIST_FILES[key];
    writeFileSync(join(dir, gzip ? `${base}.gz` : base), gzip ? gzipSync(files[key]) : files[key]);
  }
  return dir;
}

/** Bitwise equality of two typed arrays (fast, unlike a deep toEqual on 10^6 elements). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function inputErrorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

// --- dataset helpers -----------------------------------------------------------------------------

describe('normalizeImages', () => {
  it('scales uint8 to [0, 1] as ToTensor: float32(p / 255)', () => {
    const out = normalizeImages(Uint8Array.from([0, 1, 128, 254, 255]));
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(out)).toEqual([0, Math.fround(1 / 255), Math.fround(128 / 255), Math.fround(254 / 255), 1]);
  });

  it('writes into a given buffer', () => {
    const buffer = new Float32Array(4).fill(-1);
    expect(normalizeImages(Uint8Array.from([255, 0]), buffer)).toBe(buffer);
    expect(Array.from(buffer)).toEqual([1, 0, -1, -1]);
    expect(() => normalizeImages(new Uint8Array(5), buffer)).toThrow(InputError);
  });
});

describe('subset', () => {
  it("takes each class's first examples, equally many of each, in file order", () => {
    // labels 0..3 repeated, but class 0 first appears late.
    const labels = [1, 2, 3, 1, 2, 3, 0, 1, 2, 3, 0, 0, 1, 2, 3, 0];
    const ds = toyDataset(labels, [1, 2, 2], 4);
    const indices = Array.from(balancedSubsetIndices(ds, 8));
    expect(indices).toEqual([0, 1, 2, 3, 4, 5, 6, 10]);
    const s = subset(ds, 8);
    expect(s.count).toBe(8);
    expect(classCounts(s)).toEqual([2, 2, 2, 2]);
    expect(s.name).toBe('toy (subset 8)');
    // The examples themselves were copied along: example 10 had the value 0.1.
    expect(s.images[7 * 4]).toBe(Math.fround(0.1));
    expect(Array.from(s.labels)).toEqual(indices.map((i) => labels[i]));
  });

  it("gives the remainder to the lowest classes, and a short class's share to the others", () => {
    const ds = toyDataset([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], [1, 1, 1], 3);
    expect(classCounts(subset(ds, 5))).toEqual([2, 2, 1]);
    const skewed = toyDataset([0, 1, 1, 1, 1, 1, 2, 2, 2, 2], [1, 1, 1], 3); // class 0 has one example
    expect(classCounts(subset(skewed, 7))).toEqual([1, 3, 3]);
    const empty = toyDataset([1, 1, 2, 2, 2], [1, 1, 1], 3); // class 0 has none
    expect(classCounts(subset(empty, 4))).toEqual([0, 2, 2]);
  });

  it('is the dataset itself at full size, and refuses sizes out of range', () => {
    const ds = toyDataset([0, 1, 2]);
    expect(subset(ds, 3)).toBe(ds);
    expect(inputErrorMessage(() => subset(ds, 4))).toBe('subset of 4 examples is larger than toy (3 examples)');
    expect(inputErrorMessage(() => subset(ds, 0))).toMatch(/positive integer/);
    expect(inputErrorMessage(() => subset(ds, 1.5))).toMatch(/positive integer/);
  });

  it('checkDataset catches inconsistent arrays and labels out of range', () => {
    const good = toyDataset([0, 1]);
    expect(() => checkDataset({ ...good, count: 3 })).toThrow(/2 labels for 3 examples/);
    expect(() => checkDataset({ ...good, images: new Float32Array(3) })).toThrow(/3 image values/);
    expect(() => checkDataset({ ...good, labels: Uint8Array.from([0, 10]) })).toThrow(
      /label 10 at index 1 is not a class \(0\.\.9\)/,
    );
  });
});

// --- Fashion-MNIST -------------------------------------------------------------------------------

describe('Fashion-MNIST from tiny generated IDX files', () => {
  for (const gzip of [true, false]) {
    it(`loads both splits (${gzip ? '.gz' : 'uncompressed'} files)`, () => {
      const dir = fakeFashionMnist(`ok-${gzip ? 'gz' : 'raw'}`, { gzip });
      const { train, test } = loadFashionMnist({ dataDir: dir });
      expect(train.count).toBe(30);
      expect(test.count).toBe(12);
      expect(train.shape).toEqual([1, 28, 28]);
      expect(train.classes).toBe(10);
      expect(train.images.length).toBe(30 * 784);
      expect(Array.from(train.labels.subarray(0, 5))).toEqual([0, 3, 6, 9, 2]);
      // Pixel p of example i was (7 i + p) mod 256, now divided by 255.
      expect(train.images[2 * 784 + 3]).toBe(Math.fround(17 / 255));
      expect(test.images[11 * 784 + 200]).toBe(Math.fround(((77 + 200) % 256) / 255));
    });
  }

  it('prefers the .gz file when both names are present', () => {
    const dir = fakeFashionMnist('both');
    writeFileSync(join(dir, FASHION_MNIST_FILES.trainLabels), 'not an idx file');
    expect(findFashionMnistFiles(dir).trainLabels).toBe(join(dir, `${FASHION_MNIST_FILES.trainLabels}.gz`));
    expect(loadFashionMnist({ dataDir: dir }).train.count).toBe(30);
  });

  it('--subset: class-balanced training subset, test subset at most the test set', () => {
    const dir = fakeFashionMnist('subset', { trainCount: 40, testCount: 12 });
    const { train, test } = loadFashionMnist({ dataDir: dir, subset: 20 });
    expect(train.count).toBe(20);
    expect(classCounts(train)).toEqual(new Array(10).fill(2));
    expect(test.count).toBe(12);
    expect(loadFashionMnist({ dataDir: dir, subset: 5 }).test.count).toBe(5);
    expect(inputErrorMessage(() => loadFashionMnist({ dataDir: dir, subset: 41 }))).toMatch(
      /larger than fashion-mnist train \(40 examples\)/,
    );
  });

  it('a missing folder: the message names the package and --data-dir', () => {
    const dir = join(root, 'does-not-exist');
    expect(inputErrorMessage(() => loadFashionMnist({ dataDir: dir }))).toBe(
      `Fashion-MNIST not found in ${dir} (no such directory): install Debian's package dataset-fashion-mnist, ` +
        'or point --data-dir at a folder holding the four IDX files',
    );
  });

  it('missing files are all named', () => {
    const dir = fakeFashionMnist('missing', { skip: ['trainImages', 'testLabels'] });
    expect(inputErrorMessage(() => loadFashionMnist({ dataDir: dir }))).toBe(
      `Fashion-MNIST not found in ${dir} (missing train-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz): ` +
        "install Debian's package dataset-fashion-mnist, or point --data-dir at a folder holding the four IDX files",
    );
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const message = inputErrorMessage(() => loadFashionMnist({ dataDir: empty }));
    expect(message).toContain(
      'missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz',
    );
    expect(message).toContain('dataset-fashion-mnist');
    expect(message).toContain('--data-dir');
  });

  it('a file given as the folder', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    expect(inputErrorMessage(() => loadFashionMnist({ dataDir: file }))).toMatch(
      /^Fashion-MNIST not found in .*a-file \(not a directory\): install/,
    );
  });

  it('labels and images counts that differ', () => {
    const dir = fakeFashionMnist('count-mismatch', { trainLabels: new Array(29).fill(1) });
    const labelsPath = join(dir, 'train-labels-idx1-ubyte.gz');
    const imagesPath = join(dir, 'train-images-idx3-ubyte.gz');
    expect(inputErrorMessage(() => loadFashionMnist({ dataDir: dir }))).toBe(
      `${labelsPath}: 29 labels, but ${imagesPath} holds 30 images`,
    );
  });

  it('a label that is not a class', () => {
    const labels = Array.from({ length: 30 }, () => 4);
    labels[17] = 10;
    const dir = fakeFashionMnist('bad-label', { trainLabels: labels });
    expect(inputErrorMessage(() => loadFashionMnist({ dataDir: dir }))).toBe(
      `${join(dir, 'train-labels-idx1-ubyte.gz')}: label 10 at index 17 is not a Fashion-MNIST class (0..9)`,
    );
  });

  it('images that are not 28x28', () => {
    const dir = fakeFashionMnist('small-images', { imageSize: 14 });
    expect(inputErrorMessage(() => loadFashionMnist({ dataDir: dir }))).toMatch(
      /train-images-idx3-ubyte\.gz: images are 14x14, Fashion-MNIST's are 28x28$/,
    );
  });

  it('labels and images swapped: refused by the number of dimensions', () => {
    const dir = fakeFashionMnist('swapped', { skip: ['trainImages'] });
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx([30], new Uint8Array(30))));
    expect(inputErrorMessage(() => loadFashionMnist({ dataDir: dir }))).toMatch(
      /train-images-idx3-ubyte\.gz: expected 3 dimensions .* found 1/,
    );
  });

  it('a malformed file is refused with its name', () => {
    const dir = fakeFashionMnist('truncated');
    const path = join(dir, 't10k-images-idx3-ubyte.gz');
    writeFileSync(path, gzipSync(encodeIdx([12, 28, 28], new Uint8Array(12 * 784)).subarray(0, 5000)));
    expect(inputErrorMessage(() => loadFashionMnist({ dataDir: dir }))).toMatch(
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated data: dims 12x28x28 need 9408 bytes`),
    );
  });
});

describe('Fashion-MNIST, the real files (Debian package dataset-fashion-mnist)', () => {
  const installed = existsSync(join(DEFAULT_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

  it.skipIf(!installed)('60000 train and 10000 test images of 28x28, labels 0..9 balanced, pixels in [0, 1]', () => {
    const { train, test } = loadFashionMnist();
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    for (const ds of [train, test]) {
      expect(ds.shape).toEqual([1, 28, 28]);
      expect(ds.images.length).toBe(ds.count * 784);
      expect(classCounts(ds)).toEqual(new Array(10).fill(ds.count / 10));
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      for (const v of ds.images) {
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
      }
      expect(min).toBe(0);
      expect(max).toBe(1);
      // Fashion-MNIST's published pixel mean is 0.2860 (train) / 0.2868 (test).
      expect(sum / ds.images.length).toBeCloseTo(0.286, 2);
    }
    // The first training labels of Fashion-MNIST: ankle boot, t-shirt/top, t-shirt/top, dress, ...
    expect(Array.from(train.labels.subarray(0, 6))).toEqual([9, 0, 0, 3, 0, 2]);
    const small = subset(train, 1000);
    expect(classCounts(small)).toEqual(new Array(10).fill(100));
  });
});

// --- synthetic -----------------------------------------------------------------------------------

describe('the synthetic set', () => {
  const a = loadSynthetic({ seed: 5, train: 1000, test: 200 });

  it('has the shape, classes and pixel format of Fashion-MNIST', () => {
    expect(a.train.count).toBe(1000);
    expect(a.test.count).toBe(200);
    expect(a.train.shape).toEqual([1, 28, 28]);
    expect(a.train.classes).toBe(10);
    expect(SYNTHETIC_CLASSES).toHaveLength(10);
    // Every value is float32(k / 255) for an integer k in 0..255, as Fashion-MNIST's after ToTensor.
    let offGrid = 0;
    for (const v of a.train.images) if (!(v >= 0 && v <= 1) || Math.fround(Math.round(v * 255) / 255) !== v) offGrid++;
    expect(offGrid).toBe(0);
  });

  it('is reproducible by seed, differs between seeds and between the splits', () => {
    const again = loadSynthetic({ seed: 5, train: 1000, test: 200 });
    expect(sameBytes(again.train.images, a.train.images)).toBe(true);
    expect(sameBytes(again.train.labels, a.train.labels)).toBe(true);
    expect(sameBytes(again.test.images, a.test.images)).toBe(true);
    const other = loadSynthetic({ seed: 6, train: 1000, test: 200 });
    expect(sameBytes(other.train.images, a.train.images)).toBe(false);
    expect(sameBytes(other.train.labels, a.train.labels)).toBe(false);
    expect(sameBytes(a.test.images.subarray(0, 784), a.train.images.subarray(0, 784))).toBe(false);
  });

  it('is exactly class-balanced, in a shuffled order', () => {
    expect(classCounts(a.train)).toEqual(new Array(10).fill(100));
    expect(classCounts(a.test)).toEqual(new Array(10).fill(20));
    expect(classCounts(syntheticShapes(13, 1))).toEqual([2, 2, 2, 1, 1, 1, 1, 1, 1, 1]);
    const inOrder = Array.from(a.train.labels.subarray(0, 20)).every((l, i) => l === i % 10);
    expect(inOrder).toBe(false);
  });

  it('defaults: 6000 train and 1000 test; --subset keeps it balanced', () => {
    const full = loadSynthetic();
    expect([full.train.count, full.test.count]).toEqual([6000, 1000]);
    const small = loadSynthetic({ subset: 500 });
    expect([small.train.count, small.test.count]).toEqual([500, 500]);
    expect(classCounts(small.train)).toEqual(new Array(10).fill(50));
    // The subset is made of the full set's examples (the first of each class), not regenerated.
    expect(sameBytes(small.train.images.subarray(0, 784), full.train.images.subarray(0, 784))).toBe(true);
  });

  it('is not trivial: a nearest-class-mean classifier on the pixels is far from 100%, yet above chance', () => {
    const { train, test } = loadSynthetic({ seed: 0, train: 2000, test: 500 });
    const d = 784;
    const means = new Float64Array(10 * d);
    const counts = classCounts(train);
    for (let i = 0; i < train.count; i++) {
      for (let p = 0; p < d; p++) means[train.labels[i] * d + p] += train.images[i * d + p] / counts[train.labels[i]];
    }
    let correct = 0;
    for (let i = 0; i < test.count; i++) {
      let best = -1;
      let bestDistance = Infinity;
      for (let c = 0; c < 10; c++) {
        let distance = 0;
        for (let p = 0; p < d; p++) distance += (test.images[i * d + p] - means[c * d + p]) ** 2;
        if (distance < bestDistance) [best, bestDistance] = [c, distance];
      }
      if (best === test.labels[i]) correct++;
    }
    const accuracy = correct / test.count;
    expect(accuracy).toBeGreaterThan(0.2);
    expect(accuracy).toBeLessThan(0.7);
  });
});

// --- batches -------------------------------------------------------------------------------------

describe('epoch batches', () => {
  it('the same seed and epoch give the same order; epochs and seeds differ', () => {
    const a = epochOrder(1000, 42, 3);
    expect(epochOrder(1000, 42, 3)).toEqual(a);
    expect(epochOrder(1000, 42, 4)).not.toEqual(a);
    expect(epochOrder(1000, 43, 3)).not.toEqual(a);
    expect(Array.from(a.subarray(0, 10))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('every example exactly once per epoch (no drop)', () => {
    const plan = epochBatches(100, { batchSize: 32, devices: 2, seed: 1, epoch: 0 });
    const seen = new Array(100).fill(0);
    for (const batch of plan.batches) for (const i of batch) seen[i]++;
    expect(seen.every((n) => n === 1)).toBe(true);
    expect(Array.from(plan.order).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('N=100, B=32, W=8: the last batch of 4 < 2W = 16 is dropped and counted', () => {
    const plan = epochBatches(100, { batchSize: 32, devices: 8, seed: 1, epoch: 0 });
    expect(plan.batches.map((b) => b.length)).toEqual([32, 32, 32]);
    expect(plan.dropped).toBe(4);
    expect(plan.steps).toBe(3);
    expect(plan.lastBatch).toBe(0);
    // The dropped examples are the last 4 of the order; the rest appear once.
    const used = new Set<number>();
    for (const b of plan.batches) for (const i of b) used.add(i);
    expect(used.size).toBe(96);
    for (const i of plan.order.subarray(96)) expect(used.has(i)).toBe(false);
  });

  it('N=100, B=32, W=2: the last batch of 4 >= 2W is kept', () => {
    const plan = epochBatches(100, { batchSize: 32, devices: 2, seed: 1, epoch: 0 });
    expect(plan.batches.map((b) => b.length)).toEqual([32, 32, 32, 4]);
    expect(plan.dropped).toBe(0);
    expect(plan.lastBatch).toBe(4);
    expect(plan.steps).toBe(4);
  });

  it('the boundary: a last batch of exactly 2W is kept, 2W - 1 is dropped', () => {
    expect(batchLayout(16 + 6, 16, 3)).toMatchObject({
      fullBatches: 1,
      lastBatch: 6,
      dropped: 0,
      steps: 2,
      minLastBatch: 6,
    });
    expect(batchLayout(16 + 5, 16, 3)).toMatchObject({ fullBatches: 1, lastBatch: 0, dropped: 5, steps: 1 });
    expect(batchLayout(64, 16, 8)).toMatchObject({ fullBatches: 4, lastBatch: 0, dropped: 0, steps: 4 });
    // Fewer examples than one batch: one partial batch, kept if it gives every device two.
    expect(batchLayout(20, 32, 8)).toMatchObject({ fullBatches: 0, lastBatch: 20, dropped: 0, steps: 1 });
    expect(batchLayout(10, 32, 8)).toMatchObject({ fullBatches: 0, lastBatch: 0, dropped: 10, steps: 0 });
    expect(batchLayout(0, 32, 8)).toMatchObject({ steps: 0, dropped: 0 });
  });

  it('shuffle: false keeps the dataset order', () => {
    const plan = epochBatches(10, { batchSize: 4, devices: 1, seed: 1, epoch: 0, shuffle: false });
    expect(plan.batches.map((b) => Array.from(b))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it('refuses bad sizes', () => {
    expect(inputErrorMessage(() => batchLayout(10, 0, 1))).toMatch(/batch size must be a positive integer, got 0/);
    expect(inputErrorMessage(() => batchLayout(10, 4, 0))).toMatch(/number of devices must be a positive integer/);
    expect(inputErrorMessage(() => epochBatches(10, { batchSize: 4, devices: 1, seed: 0, epoch: -1 }))).toMatch(
      /epoch/,
    );
  });

  it('gatherBatch copies examples and labels into caller buffers, at an offset', () => {
    const ds = toyDataset([5, 6, 7, 8, 9]); // example i holds i / 100 in its 4 values
    const images = new Float32Array(new SharedArrayBuffer(4 * 4 * 4)).fill(-1);
    const labels = new Int32Array(4).fill(-1);
    expect(gatherBatch(ds, Uint32Array.from([4, 1]), images, labels, 1)).toBe(2);
    expect(Array.from(labels)).toEqual([-1, 9, 6, -1]);
    expect(Array.from(images)).toEqual([
      -1,
      -1,
      -1,
      -1,
      ...new Array(4).fill(Math.fround(0.04)),
      ...new Array(4).fill(Math.fround(0.01)),
      -1,
      -1,
      -1,
      -1,
    ]);
    const bytes = new Uint8Array(2);
    gatherBatch(ds, [0, 3], new Float32Array(8), bytes);
    expect(Array.from(bytes)).toEqual([5, 8]);
  });

  it('gatherBatch refuses buffers too small and indices out of range', () => {
    const ds = toyDataset([0, 1, 2]);
    expect(inputErrorMessage(() => gatherBatch(ds, [0, 1], new Float32Array(7), new Uint8Array(2)))).toMatch(
      /images buffer holds 7 values/,
    );
    expect(inputErrorMessage(() => gatherBatch(ds, [0, 1], new Float32Array(8), new Uint8Array(1)))).toMatch(
      /labels buffer holds 1/,
    );
    expect(inputErrorMessage(() => gatherBatch(ds, [3], new Float32Array(4), new Uint8Array(1)))).toMatch(
      /index 3 out of range/,
    );
  });
});
