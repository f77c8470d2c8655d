import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, encodeIdx, isGzip, parseIdx, readIdxFile } from '../src/data/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'syncbn-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file built byte by byte, independently of encodeIdx. */
function idxBytes(
  dtype: number,
  dims: number[],
  data: number[] | Uint8Array,
  magicHigh: [number, number] = [0, 0],
): Uint8Array {
  const header = [magicHigh[0], magicHigh[1], dtype, dims.length];
  for (const d of dims) header.push((d >>> 24) & 0xff, (d >>> 16) & 0xff, (d >>> 8) & 0xff, d & 0xff);
  return Uint8Array.from([...header, ...data]);
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** The InputError message parseIdx throws, or fails the test. */
function refusal(bytes: Uint8Array, options: { dims?: number } = {}): string {
  try {
    parseIdx(bytes, 'f.idx', options);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('parseIdx accepted malformed input');
}

const images = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256); // 2 images of 3x4
const labels = Uint8Array.from([3, 0, 9, 255, 1]);

describe('IDX round trips', () => {
  it('the magic constants are those of uint8 images and labels', () => {
    expect(IDX_IMAGES_MAGIC).toBe(0x803);
    expect(IDX_LABELS_MAGIC).toBe(0x801);
    const view = new DataView(encodeIdx([2, 3, 4], images).buffer);
    expect(view.getUint32(0, false)).toBe(IDX_IMAGES_MAGIC);
    expect(view.getUint32(4, false)).toBe(2);
    expect(view.getUint32(8, false)).toBe(3);
    expect(view.getUint32(12, false)).toBe(4);
  });

  it('encodeIdx writes what the byte-level builder writes', () => {
    expect(encodeIdx([2, 3, 4], images)).toEqual(idxBytes(8, [2, 3, 4], images));
    expect(encodeIdx([5], labels)).toEqual(idxBytes(8, [5], labels));
  });

  for (const gz of [false, true]) {
    it(`images and labels, ${gz ? 'gzipped' : 'uncompressed'}, from memory and from files`, () => {
      const imageFile = gz ? gzipSync(encodeIdx([2, 3, 4], images)) : encodeIdx([2, 3, 4], images);
      const labelFile = gz ? gzipSync(encodeIdx([5], labels)) : encodeIdx([5], labels);
      expect(isGzip(imageFile)).toBe(gz);

      const a = parseIdx(imageFile, 'images', { dims: 3 });
      expect(a.dims).toEqual([2, 3, 4]);
      expect(a.data).toEqual(images);
      expect(a.data.byteOffset).toBe(0);
      expect(a.data.buffer.byteLength).toBe(images.length); // owns exactly its data

      const suffix = gz ? '.gz' : '';
      expect(readIdxFile(write(`img${suffix}`, imageFile), { dims: 3 })).toEqual({ dims: [2, 3, 4], data: images });
      expect(readIdxFile(write(`lab${suffix}`, labelFile), { dims: 1 })).toEqual({ dims: [5], data: labels });
    });
  }

  it('detects gzip by content, not by name', () => {
    const path = write('no-suffix-but-gzipped', gzipSync(encodeIdx([5], labels)));
    expect(readIdxFile(path).data).toEqual(labels);
    const plain = write('suffix-but-plain.gz', encodeIdx([5], labels));
    expect(readIdxFile(plain).data).toEqual(labels);
  });

  it('degenerate sizes: one element, empty first dimension, any number of dims without a requirement', () => {
    expect(parseIdx(idxBytes(8, [1, 1, 1], [200]))).toEqual({ dims: [1, 1, 1], data: Uint8Array.from([200]) });
    expect(parseIdx(idxBytes(8, [0, 28, 28], []))).toEqual({ dims: [0, 28, 28], data: new Uint8Array(0) });
    expect(parseIdx(idxBytes(8, [2, 1, 1, 2], [1, 2, 3, 4])).dims).toEqual([2, 1, 1, 2]);
  });
});

describe('IDX refusals (InputError, one line naming the file)', () => {
  it('bad magic', () => {
    expect(refusal(idxBytes(8, [5], labels, [0x12, 0x34]))).toMatch(/^f\.idx: not an IDX file \(magic 0x12340801/);
    expect(refusal(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]))).toMatch(/^f\.idx: not an IDX file/);
  });

  it('too short for a magic, and empty', () => {
    expect(refusal(Uint8Array.from([0, 0, 8]))).toMatch(/^f\.idx: not an IDX file \(3 bytes/);
    expect(refusal(new Uint8Array(0))).toMatch(/^f\.idx: not an IDX file \(0 bytes/);
  });

  it('wrong dtype: known codes are named, unknown ones shown', () => {
    expect(refusal(idxBytes(0x0d, [2], new Uint8Array(8)))).toBe(
      'f.idx: IDX dtype float32 (code 0x0d) in magic 0x00000d01 is not supported: only uint8 (0x08)',
    );
    expect(refusal(idxBytes(0x09, [2], [1, 2]))).toMatch(/IDX dtype int8 \(code 0x09\)/);
    expect(refusal(idxBytes(0x0c, [1], [0, 0, 0, 1]))).toMatch(/IDX dtype int32/);
    expect(refusal(idxBytes(0x07, [2], [1, 2]))).toMatch(/unknown IDX dtype code 0x07/);
  });

  it('wrong number of dimensions: labels where images are expected and the reverse', () => {
    expect(refusal(encodeIdx([5], labels), { dims: 3 })).toBe(
      'f.idx: expected 3 dimensions (magic 0x00000803), found 1 (magic 0x00000801)',
    );
    expect(refusal(encodeIdx([2, 3, 4], images), { dims: 1 })).toMatch(
      /expected 1 dimension \(magic 0x00000801\), found 3/,
    );
    expect(refusal(idxBytes(8, [], []))).toMatch(/declares 0 dimensions/);
  });

  it('truncated header', () => {
    const whole = encodeIdx([2, 3, 4], images);
    expect(refusal(whole.subarray(0, 10))).toMatch(
      /^f\.idx: truncated header: 3 dimensions need 16 header bytes, the file has 10$/,
    );
  });

  it('truncated data', () => {
    const whole = encodeIdx([2, 3, 4], images);
    expect(refusal(whole.subarray(0, whole.length - 1))).toBe(
      'f.idx: truncated data: dims 2x3x4 need 24 bytes, the file has 23 after the header',
    );
    // Truncated inside a gzip stream: the decompressor notices.
    const gz = gzipSync(whole);
    expect(refusal(gz.subarray(0, gz.length - 12))).toMatch(/^f\.idx: corrupt gzip data \(unexpected end of file\)$/);
  });

  it('extra bytes after the data', () => {
    expect(refusal(Uint8Array.from([...encodeIdx([5], labels), 0, 0]))).toBe(
      'f.idx: 2 extra bytes after the data (dims 5 need 5)',
    );
  });

  it('dims whose product does not match the bytes present, checked before allocating', () => {
    // 4294967295^3 bytes would be ~8e28: refused from the header alone, nothing allocated.
    const huge = idxBytes(8, [0xffffffff, 0xffffffff, 0xffffffff], [1, 2, 3]);
    expect(refusal(huge)).toBe(
      'f.idx: truncated data: dims 4294967295x4294967295x4294967295 need 79228162458924105385300197375 bytes, the file has 3 after the header',
    );
    // Dims that claim fewer bytes than present.
    expect(refusal(idxBytes(8, [2, 2, 2], images))).toMatch(/16 extra bytes after the data \(dims 2x2x2 need 8\)/);
    // Same with gzip.
    expect(refusal(gzipSync(idxBytes(8, [3, 3, 4], images)))).toMatch(
      /truncated data: dims 3x3x4 need 36 bytes, the file has 24/,
    );
  });

  it('corrupt gzip', () => {
    const gz = gzipSync(encodeIdx([5], labels));
    const bad = Uint8Array.from(gz);
    bad.fill(0xff, 10, 16);
    expect(refusal(bad)).toMatch(/^f\.idx: corrupt gzip data \(/);
  });

  it('files: missing, a directory', () => {
    const missing = join(dir, 'nope.gz');
    expect(() => readIdxFile(missing)).toThrow(new InputError(`${missing}: cannot read file: no such file`));
    const sub = join(dir, 'a-dir');
    mkdirSync(sub);
    expect(() => readIdxFile(sub)).toThrow(new InputError(`${sub}: cannot read file: is a directory`));
  });

  it('the file name starts the message when reading from disk', () => {
    const path = write('bad-dtype.gz', gzipSync(idxBytes(0x0e, [1], new Uint8Array(8))));
    expect(() => readIdxFile(path)).toThrow(InputError);
    expect(() => readIdxFile(path)).toThrow(
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: IDX dtype float64`),
    );
  });
});
