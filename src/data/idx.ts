/**
 * IDX files (the format of MNIST and Fashion-MNIST): a strict, allocation-safe reader and a writer.
 *
 * Layout (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"):
 *   magic: two zero bytes | dtype code (1 byte) | number of dimensions (1 byte) |
 *   dims: one uint32 big-endian per dimension |
 *   data: the elements in C order (big-endian for multi-byte types).
 * Fashion-MNIST's images are magic 0x00000803 (uint8, 3 dims: count, rows, columns) and its labels
 * 0x00000801 (uint8, 1 dim: count).
 *
 * What is accepted, and why:
 * - The file may be gzipped (detected by the gzip magic 1f 8b, whatever the name) or not.
 *   Decompression is capped at MAX_IDX_BYTES so that a hostile .gz cannot exhaust memory.
 * - dtype 0x08 (unsigned byte) only: the datasets we read are uint8; other codes are named in the
 *   message (int8, int16, int32, float32, float64) and refused.
 * - The caller may require a number of dimensions (3 for images, 1 for labels).
 * - The data must be exactly the product of the dims in bytes: fewer is "truncated", more is
 *   "extra bytes after the data". The product is computed with BigInt and compared with the bytes
 *   present before the result is allocated.
 * Every problem is an InputError with one line starting with the caller's label (the file name).
 */
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { InputError, requireInput } from '../errors.js';
import { describeFsError } from '../io/fs-errors.js';

/** Largest IDX content (after decompression) the reader accepts: 1 GiB, 20 times Fashion-MNIST's largest file. */
export const MAX_IDX_BYTES = 1 << 30;

/** IDX dtype code of unsigned bytes, the only one supported. */
export const IDX_UINT8 = 0x08;

/** Magic number of a uint8 3-D file (images). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of a uint8 1-D file (labels). */
export const IDX_LABELS_MAGIC = 0x00000801;

const DTYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

/** fs.readFileSync refuses files larger than this on Node 20 (2 GiB - 1). */
const MAX_FILE_BYTES = 2 ** 31 - 1;

/** A parsed IDX array of unsigned bytes. `data` is a fresh array of exactly prod(dims) bytes. */
export interface IdxArray {
  /** The length of each dimension. */
  readonly dims: number[];
  /** The bytes, in C order. */
  readonly data: Uint8Array;
}

/** Options of {@link parseIdx} and {@link readIdxFile}. */
export interface IdxParseOptions {
  /** Required number of dimensions (3 for images, 1 for labels); any number >= 1 when omitted. */
  readonly dims?: number;
}

/**
 * True when the bytes start with the gzip magic 1f 8b.
 *
 * @param bytes - a file's contents.
 * @returns whether they are gzipped.
 */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses an IDX file held in memory (gzipped or not). `label` starts every error message: pass the
 * file name.
 *
 * @param bytes - the file's contents.
 * @param label - starts every error message (default 'IDX data').
 * @param options - the number of dimensions required.
 * @returns the dimensions and the bytes.
 * @throws {@link InputError} for anything that is not such a file.
 */
export function parseIdx(bytes: Uint8Array, label = 'IDX data', options: IdxParseOptions = {}): IdxArray {
  const fail = (message: string): never => {
    throw new InputError(`${label}: ${message}`);
  };
  const raw = isGzip(bytes) ? gunzip(bytes, fail) : bytes;

  if (raw.length < 4) fail(`not an IDX file (${raw.length} bytes, shorter than the 4-byte magic)`);
  const magic = (((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0).toString(16).padStart(8, '0');
  if (raw[0] !== 0 || raw[1] !== 0) fail(`not an IDX file (magic 0x${magic} does not start with two zero bytes)`);
  const dtype = raw[2];
  if (dtype !== IDX_UINT8) {
    const name = DTYPE_NAMES[dtype];
    const what =
      name === undefined ? `unknown IDX dtype code 0x${hex2(dtype)}` : `IDX dtype ${name} (code 0x${hex2(dtype)})`;
    fail(`${what} in magic 0x${magic} is not supported: only uint8 (0x08)`);
  }
  const ndims = raw[3];
  if (ndims === 0) fail(`magic 0x${magic} declares 0 dimensions`);
  if (options.dims !== undefined && ndims !== options.dims) {
    fail(
      `expected ${options.dims} dimension${options.dims === 1 ? '' : 's'} (magic 0x0000${hex2(IDX_UINT8)}${hex2(options.dims)}), found ${ndims} (magic 0x${magic})`,
    );
  }
  const headerLength = 4 + 4 * ndims;
  if (raw.length < headerLength) {
    fail(`truncated header: ${ndims} dimensions need ${headerLength} header bytes, the file has ${raw.length}`);
  }

  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  let size = 1n;
  for (let d = 0; d < ndims; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    dims.push(n);
    size *= BigInt(n);
  }
  const available = BigInt(raw.length - headerLength);
  if (size > available) {
    fail(`truncated data: dims ${dims.join('x')} need ${size} bytes, the file has ${available} after the header`);
  }
  if (size < available) {
    fail(`${available - size} extra bytes after the data (dims ${dims.join('x')} need ${size})`);
  }
  // Now known to be at most raw.length: safe to allocate. A copy into a plain Uint8Array (not a
  // Buffer), so the result owns its memory (the input may be a view into Node's buffer pool).
  const data = new Uint8Array(raw.subarray(headerLength, headerLength + Number(size)));
  return { dims, data };
}

/**
 * Reads and parses an IDX file (gzipped or not); a missing or unreadable file is an InputError
 * naming the path.
 *
 * @param path - the file.
 * @param options - the number of dimensions required.
 * @param label - names it in messages (default the path).
 * @returns the dimensions and the bytes.
 * @throws {@link InputError} naming the path.
 */
export function readIdxFile(path: string, options: IdxParseOptions = {}, label: string = path): IdxArray {
  let bytes: Uint8Array;
  try {
    const stats = statSync(path);
    requireInput(!stats.isDirectory(), `${label}: cannot read file: is a directory`);
    requireInput(stats.isFile(), `${label}: cannot read file: not a regular file`);
    requireInput(
      stats.size <= MAX_FILE_BYTES,
      () => `${label}: cannot read file: too large (${stats.size} bytes, limit ${MAX_FILE_BYTES})`,
    );
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${label}: cannot read file: ${describeFsError(err)}`);
  }
  return parseIdx(bytes, label, options);
}

/**
 * Encodes uint8 data as an (uncompressed) IDX file: the inverse of parseIdx. Gzip the result with
 * node:zlib's gzipSync for a .gz file.
 *
 * @param dims - the length of each dimension.
 * @param data - the bytes, prod(dims) of them.
 * @returns the file's bytes.
 * @throws {@link InputError} when the data does not fit the dimensions.
 */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  requireInput(dims.length >= 1 && dims.length <= 255, () => `IDX: ${dims.length} dimensions (1 to 255 allowed)`);
  let size = 1;
  for (const d of dims) {
    requireInput(Number.isInteger(d) && d >= 0 && d <= 0xffffffff, () => `IDX: dimension ${d} is not a uint32`);
    size *= d;
  }
  requireInput(
    size === data.length,
    () => `IDX: dims ${dims.join('x')} hold ${size} bytes, the data has ${data.length}`,
  );
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = IDX_UINT8;
  out[3] = dims.length;
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function gunzip(bytes: Uint8Array, fail: (m: string) => never): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_IDX_BYTES });
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE') {
      return fail(`gzip data decompresses to more than ${MAX_IDX_BYTES} bytes (the limit)`);
    }
    return fail(`corrupt gzip data (${err instanceof Error ? err.message : String(err)})`);
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
