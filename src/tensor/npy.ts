/**
 * NumPy .npy files: a strict, allocation-safe reader and a numpy-identical writer.
 *
 * Layout (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *   "\x93NUMPY" | major | minor | header length (uint16 LE for 1.0, uint32 LE for 2.0 and 3.0) |
 *   header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *           padded with spaces and ending in '\n' (latin1 for 1.0 and 2.0, utf8 for 3.0) |
 *   data: the raw elements in C order.
 *
 * What is accepted, and why:
 * - dtypes '<f4', '<f8', '>f4', '>f8' only: the simulator computes in float32/float64. '=' (native)
 *   and '|' (not applicable) byte orders are refused: NumPy never writes them for floats, and '=' in
 *   a file would mean "the writer's byte order", which the reader cannot know.
 * - C order only (fortran_order True is refused, even where the layouts happen to coincide).
 * - The header is parsed by a small recursive-descent parser for the subset of Python literals a
 *   header can hold (dict, quoted strings without escapes, integers, True/False/None, tuples,
 *   lists), never evaluated. Exactly the keys 'descr', 'fortran_order' and 'shape' are allowed. An
 *   'L' suffix on integers is accepted in versions 1.0 and 2.0 only, as NumPy does for files
 *   written by Python 2.
 * - The header may be at most MAX_NPY_HEADER_BYTES long; this is checked before it is decoded.
 * - The data must be exactly size * itemsize bytes: fewer is "truncated data", more is "extra bytes
 *   after data" (a sign of a corrupt or concatenated file). The size is computed with BigInt and
 *   checked against the bytes present before anything is allocated, so a hostile shape cannot make
 *   us allocate more than the input holds.
 * Every problem is an InputError with one line starting with the caller's label.
 */
import { argumentError, checkString, checkTensor } from '../args.js';
import { InputError, requireInput } from '../errors.js';
import type { DType, FloatArray, Tensor } from './tensor.js';
import { readInputFile } from '../io/read-input-file.js';

/** Largest header (the dict text, padding and newline) the reader accepts: far above any real one. */
export const MAX_NPY_HEADER_BYTES = 1 << 20;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const MAGIC_LEN = MAGIC.length + 2; // magic + major + minor
const ARRAY_ALIGN = 64; // NumPy aligns the data start to 64 bytes
const GROWTH_AXIS_MAX_DIGITS = 21; // NumPy's spare header space for growing the first axis in place
const MAX_NESTING = 8; // a valid header nests 2 deep; bounded so hostile input cannot blow the stack
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface DtypeInfo {
  readonly dtype: DType;
  readonly itemsize: 4 | 8;
  readonly littleEndian: boolean;
}

const SUPPORTED_DESCRS: Readonly<Record<string, DtypeInfo>> = {
  '<f4': { dtype: 'float32', itemsize: 4, littleEndian: true },
  '>f4': { dtype: 'float32', itemsize: 4, littleEndian: false },
  '<f8': { dtype: 'float64', itemsize: 8, littleEndian: true },
  '>f8': { dtype: 'float64', itemsize: 8, littleEndian: false },
};

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** Makes the array a .npy file's values are read into. */
export type FloatAllocator = (dtype: DType, length: number) => FloatArray;

/** How a .npy file is read. */
export interface NpyReadOptions {
  /**
   * Makes the array the values are read into (exactly `length` elements of `dtype`), for example
   * one in shared memory that simulated devices read where it is; default a fresh array.
   */
  readonly allocate?: FloatAllocator;
}

const allocateFloats: FloatAllocator = (dtype, length) =>
  dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);

/**
 * Parses a .npy file held in memory (format 1.0, 2.0 or 3.0; float32 or float64 of either byte
 * order; C order). The result owns a fresh, aligned, native-endian array.
 *
 * @param bytes - the file's contents.
 * @param label - names the array in error messages (default 'array').
 * @param options - where the values go (default a fresh array).
 * @returns the array and its shape.
 * @throws {@link InputError} for anything that is not such a file: a bad magic string or header,
 *   another dtype, Fortran order, truncated data.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parseNpy } from 'syncbn-sim';
 *
 * const x = parseNpy(readFileSync('x.npy'), 'x.npy'); // { data: Float32Array, shape: [64, 16, 8, 8] }
 * ```
 */
export function parseNpy(bytes: Uint8Array, label = 'array', options: NpyReadOptions = {}): Tensor {
  if (!(bytes instanceof Uint8Array)) throw argumentError('bytes', "a Uint8Array (a .npy file's contents)", bytes);
  checkString('label', label);
  const fail = (message: string): never => {
    throw new InputError(`${label}: ${message}`);
  };
  const { version, headerStart, headerLength } = readPreamble(bytes, fail);
  const headerText = decodeHeader(bytes.subarray(headerStart, headerStart + headerLength), version, fail);
  const header = interpretHeader(new HeaderParser(headerText, version, fail).parseHeader(), fail);

  const dataStart = headerStart + headerLength;
  const available = bytes.length - dataStart;
  const count = checkDataLength(header, available, fail);
  const data = copyData(bytes.subarray(dataStart), count, header.info, options.allocate ?? allocateFloats);
  return { data, shape: header.shape };
}

/**
 * Reads and parses a .npy file (see {@link parseNpy}).
 *
 * @param path - the file.
 * @param label - names it in error messages (default the path).
 * @param options - where the values go (default a fresh array).
 * @returns the array and its shape.
 * @throws {@link InputError} naming the path when the file is missing, unreadable, a directory,
 *   larger than 2 GiB, or not a .npy file this reader accepts.
 * @example
 * ```ts
 * import { batchNorm, readNpyFile } from 'syncbn-sim';
 *
 * const x = readNpyFile('activations.npy'); // saved with numpy.save
 * const { stats } = batchNorm(x);
 * ```
 */
export function readNpyFile(path: string, label: string = path, options: NpyReadOptions = {}): Tensor {
  checkString('path', path);
  checkString('label', label);
  const where = label === path ? path : `${label} (${path})`;
  const bytes = readInputFile(path, where);
  return parseNpy(bytes, where, options);
}

interface Preamble {
  readonly version: 1 | 2 | 3;
  readonly headerStart: number;
  readonly headerLength: number;
}

/** Checks magic, version and header length; the header is known to lie inside `bytes` afterwards. */
function readPreamble(bytes: Uint8Array, fail: (m: string) => never): Preamble {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a .npy file (bad magic)');
  if (bytes.length < MAGIC_LEN) fail('truncated header (no version)');
  const major = bytes[6];
  const minor = bytes[7];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    fail(`unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const version = major as 1 | 2 | 3;
  const lengthBytes = version === 1 ? 2 : 4;
  const headerStart = MAGIC_LEN + lengthBytes;
  if (bytes.length < headerStart) fail('truncated header (no header length)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = version === 1 ? view.getUint16(MAGIC_LEN, true) : view.getUint32(MAGIC_LEN, true);
  if (headerLength > MAX_NPY_HEADER_BYTES) {
    fail(`header length ${headerLength} bytes exceeds the limit of ${MAX_NPY_HEADER_BYTES}`);
  }
  if (headerStart + headerLength > bytes.length) {
    fail(`truncated header: header length ${headerLength} goes past the end of the file (${bytes.length} bytes)`);
  }
  return { version, headerStart, headerLength };
}

/** Decodes the header bytes: latin1 for 1.0 and 2.0, strict utf8 for 3.0. */
function decodeHeader(raw: Uint8Array, version: 1 | 2 | 3, fail: (m: string) => never): string {
  if (version !== 3) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  try {
    // ignoreBOM keeps a byte-order mark in the text, where the parser refuses it.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    return fail('bad .npy header: not valid utf-8');
  }
}

// --- header literal parser --------------------------------------------------------------------

/** The Python literal values a header may contain. */
type PyValue =
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'int'; readonly value: bigint; readonly text: string }
  | { readonly kind: 'float'; readonly text: string } // kept only to name it in an error
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'none' }
  | { readonly kind: 'tuple' | 'list'; readonly items: readonly PyValue[] };

type HeaderDict = ReadonlyMap<string, PyValue>;

const INT_RE = /^-?(0|[1-9][0-9]*)$/;
const FLOAT_RE = /^-?([0-9]+\.[0-9]*|[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+)$/;

/**
 * Recursive descent over the header text. Grammar (whitespace = spaces or tabs between tokens):
 *   header := dict ws* '\n'         dict := '{' (string ':' value (',' string ':' value)* ','?)? '}'
 *   value  := string | int | float | True | False | None | tuple | list
 *   tuple  := '(' ')' | '(' value ',' (value (',' value)* ','?)? ')'     ('(' value ')' is just value)
 *   list   := '[' (value (',' value)* ','?)? ']'
 * Strings are single- or double-quoted without escapes.
 */
class HeaderParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly version: 1 | 2 | 3,
    private readonly failWith: (m: string) => never,
  ) {}

  parseHeader(): HeaderDict {
    if (!this.text.endsWith('\n')) this.fail('does not end with a newline');
    this.skipSpace();
    const dict = this.parseDict();
    this.skipSpace();
    if (this.pos !== this.text.length - 1) this.fail(`unexpected ${this.describeHere()} after the dict`);
    return dict;
  }

  private fail(message: string): never {
    return this.failWith(`bad .npy header: ${message}`);
  }

  private describeHere(): string {
    const ch = this.text[this.pos];
    if (ch === undefined || this.pos === this.text.length - 1) return 'end of header';
    const code = ch.codePointAt(0)!;
    return code >= 0x20 && code < 0x7f ? `'${ch}'` : `character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }

  private skipSpace(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos++;
  }

  /** Consumes `ch` (after optional whitespace) if it is next; returns whether it was. */
  private accept(ch: string): boolean {
    this.skipSpace();
    if (this.text[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  private expect(ch: string, what: string): void {
    if (!this.accept(ch)) this.fail(`expected ${what}, found ${this.describeHere()}`);
  }

  private parseDict(): HeaderDict {
    this.expect('{', "'{'");
    const entries = new Map<string, PyValue>();
    while (!this.accept('}')) {
      this.skipSpace();
      const quote = this.text[this.pos];
      if (quote !== "'" && quote !== '"') this.fail(`expected a quoted key or '}', found ${this.describeHere()}`);
      const key = this.parseString();
      if (entries.has(key)) this.fail(`duplicate key ${quoted(key)}`);
      this.expect(':', `':' after key ${quoted(key)}`);
      entries.set(key, this.parseValue(1));
      if (!this.accept(',')) {
        this.expect('}', "',' or '}'");
        break;
      }
    }
    return entries;
  }

  private parseValue(depth: number): PyValue {
    if (depth > MAX_NESTING) this.fail('values nested too deeply');
    this.skipSpace();
    const ch = this.text[this.pos];
    if (ch === "'" || ch === '"') return { kind: 'str', value: this.parseString() };
    if (ch === '(') return this.parseTuple(depth);
    if (ch === '[') return { kind: 'list', items: this.parseItems('[', ']', depth).items };
    if (ch !== undefined && (ch === '-' || (ch >= '0' && ch <= '9'))) return this.parseNumber();
    if (ch !== undefined && /[A-Za-z_]/.test(ch)) return this.parseName();
    return this.fail(`expected a value, found ${this.describeHere()}`);
  }

  private parseString(): string {
    const quote = this.text[this.pos++];
    const start = this.pos;
    for (;;) {
      const ch = this.text[this.pos];
      if (ch === quote) break;
      if (ch === undefined || ch === '\n') this.fail('unterminated string');
      if (ch === '\\') this.fail('escape sequences in strings are not supported');
      this.pos++;
    }
    return this.text.slice(start, this.pos++);
  }

  private parseNumber(): PyValue {
    const start = this.pos;
    while (this.pos < this.text.length && /[-+0-9A-Za-z_.]/.test(this.text[this.pos])) this.pos++;
    let text = this.text.slice(start, this.pos);
    // NumPy strips the Python 2 long suffix ('3L') from 1.0 and 2.0 headers; so do we.
    if (this.version !== 3 && /^-?[0-9]+[lL]$/.test(text)) text = text.slice(0, -1);
    if (INT_RE.test(text)) return { kind: 'int', value: BigInt(text), text };
    if (FLOAT_RE.test(text)) return { kind: 'float', text };
    return this.fail(`bad number ${quoted(text)}`);
  }

  private parseName(): PyValue {
    const start = this.pos;
    while (this.pos < this.text.length && /[A-Za-z0-9_]/.test(this.text[this.pos])) this.pos++;
    const name = this.text.slice(start, this.pos);
    if (name === 'True' || name === 'False') return { kind: 'bool', value: name === 'True' };
    if (name === 'None') return { kind: 'none' };
    return this.fail(`unexpected name ${quoted(name)}`);
  }

  /** '(' starts a tuple, or just groups a value: as in Python, (x) is x and (x,) is a 1-tuple. */
  private parseTuple(depth: number): PyValue {
    const { items, trailingComma } = this.parseItems('(', ')', depth);
    if (items.length === 1 && !trailingComma) return items[0];
    return { kind: 'tuple', items };
  }

  /** Comma-separated values between open and close, with an optional trailing comma. */
  private parseItems(open: string, close: string, depth: number): { items: PyValue[]; trailingComma: boolean } {
    this.expect(open, `'${open}'`);
    const items: PyValue[] = [];
    let trailingComma = false;
    while (!this.accept(close)) {
      items.push(this.parseValue(depth + 1));
      trailingComma = this.accept(',');
      if (!trailingComma) {
        this.expect(close, `',' or '${close}'`);
        break;
      }
    }
    return { items, trailingComma };
  }
}

/** Quotes header text for an error message: one line, printable, at most 40 characters. */
function quoted(text: string): string {
  const cut = text.length > 40 ? `${text.slice(0, 40)}...` : text;
  const printable = cut.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `'${printable}'`;
}

// --- header semantics -------------------------------------------------------------------------

interface NpyHeader {
  readonly info: DtypeInfo;
  readonly shape: number[];
}

const HEADER_KEYS = ['descr', 'fortran_order', 'shape'] as const;

function interpretHeader(dict: HeaderDict, fail: (m: string) => never): NpyHeader {
  for (const key of dict.keys()) {
    if (!(HEADER_KEYS as readonly string[]).includes(key)) fail(`bad .npy header: unknown key ${quoted(key)}`);
  }
  for (const key of HEADER_KEYS) {
    if (!dict.has(key)) fail(`bad .npy header: missing key '${key}'`);
  }
  const info = interpretDescr(dict.get('descr')!, fail);
  const fortran = dict.get('fortran_order')!;
  if (fortran.kind !== 'bool') fail('bad .npy header: fortran_order must be True or False');
  if (fortran.value) fail('Fortran-order arrays are not supported; save with np.ascontiguousarray');
  return { info, shape: interpretShape(dict.get('shape')!, fail) };
}

function interpretDescr(descr: PyValue, fail: (m: string) => never): DtypeInfo {
  if (descr.kind === 'list') fail('unsupported dtype: structured arrays are not supported (only float32 and float64)');
  if (descr.kind !== 'str') fail("bad .npy header: 'descr' must be a string such as '<f4'");
  const info = SUPPORTED_DESCRS[descr.value];
  if (info !== undefined) return info;
  if (/^[=|](f4|f8)$/.test(descr.value)) {
    fail(`unsupported dtype ${quoted(descr.value)}: the byte order must be '<' or '>' (only float32 and float64)`);
  }
  return fail(`unsupported dtype ${quoted(descr.value)} (only float32 and float64: '<f4', '<f8', '>f4', '>f8')`);
}

function interpretShape(shape: PyValue, fail: (m: string) => never): number[] {
  if (shape.kind !== 'tuple') fail('bad .npy header: shape must be a tuple such as (2, 3)');
  return shape.items.map((dim) => {
    if (dim.kind === 'float') fail(`bad .npy header: shape dim ${dim.text} is not an integer`);
    if (dim.kind !== 'int') fail('bad .npy header: shape dims must be integers');
    if (dim.value < 0n) fail(`bad .npy header: shape dim ${dim.text} is negative`);
    if (dim.value > BigInt(Number.MAX_SAFE_INTEGER))
      fail(`bad .npy header: shape dim ${dim.text.slice(0, 40)} is too large`);
    return Number(dim.value);
  });
}

/** The element count, once the data is known to be exactly size * itemsize bytes (BigInt: no overflow). */
function checkDataLength(header: NpyHeader, available: number, fail: (m: string) => never): number {
  const size = header.shape.reduce((acc, d) => acc * BigInt(d), 1n);
  const needed = size * BigInt(header.info.itemsize);
  const what = () =>
    `shape [${header.shape.join(',')}] ${header.info.dtype} needs ${needed} data bytes, file has ${available}`;
  if (needed > BigInt(available)) fail(`truncated data: ${what()}`);
  if (needed < BigInt(available)) fail(`extra bytes after data: ${what()}`);
  return Number(size);
}

/** Copies the data into a fresh typed array (aligned whatever the input's offset), swapping bytes if needed. */
function copyData(src: Uint8Array, count: number, info: DtypeInfo, allocate: FloatAllocator): FloatArray {
  const out = allocate(info.dtype, count);
  if (
    !(out.length === count && (info.dtype === 'float32' ? out instanceof Float32Array : out instanceof Float64Array))
  ) {
    throw new InputError(`allocate must return a ${info.dtype} array of ${count} elements`);
  }
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  outBytes.set(src.subarray(0, out.byteLength));
  if (info.littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(outBytes, info.itemsize);
  return out;
}

/** Reverses each itemsize-byte group in place: exact for every bit pattern, NaN payloads included. */
function swapBytes(bytes: Uint8Array, itemsize: number): void {
  for (let i = 0; i < bytes.length; i += itemsize) {
    for (let a = i, b = i + itemsize - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/**
 * Encodes a tensor as a .npy file, byte for byte what NumPy 1.24's np.save writes: little-endian,
 * C order, header padded so the data starts at a multiple of 64 bytes. The version is 1.0 unless the
 * header is too long for it (then 2.0), or the one asked for.
 *
 * @param tensor - the array and its shape.
 * @param version - the format version to write (default 1, or 2 when the header needs it).
 * @returns the file's bytes.
 * @throws {@link InputError} when an argument is unusable (the message names it).
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('y.npy', encodeNpy(result.output)); // numpy.load('y.npy') reads it back
 * ```
 */
export function encodeNpy(tensor: Tensor, version?: 1 | 2 | 3): Uint8Array {
  checkTensor('tensor', tensor);
  if (version !== undefined && version !== 1 && version !== 2 && version !== 3)
    throw argumentError('version', '1, 2 or 3', version, typeof version === 'number');
  const { data, shape } = tensor;

  const dict = npyHeaderDict(data instanceof Float32Array ? '<f4' : '<f8', shape);
  const chosen = version ?? (wrappedHeaderLength(dict, 1) <= 0xffff ? 1 : 2);
  const headerLength = wrappedHeaderLength(dict, chosen);
  requireInput(
    chosen !== 1 || headerLength <= 0xffff,
    () => `encodeNpy: header of ${headerLength} bytes is too long for version 1.0`,
  );
  requireInput(
    headerLength <= MAX_NPY_HEADER_BYTES,
    () => `encodeNpy: ${shape.length} dims make a header longer than ${MAX_NPY_HEADER_BYTES} bytes`,
  );

  const headerStart = MAGIC_LEN + (chosen === 1 ? 2 : 4);
  const out = new Uint8Array(headerStart + headerLength + data.byteLength);
  out.set(MAGIC);
  out[6] = chosen;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (chosen === 1) view.setUint16(MAGIC_LEN, headerLength, true);
  else view.setUint32(MAGIC_LEN, headerLength, true);
  out.fill(0x20, headerStart, headerStart + headerLength - 1); // space padding
  for (let i = 0; i < dict.length; i++) out[headerStart + i] = dict.charCodeAt(i); // ASCII only
  out[headerStart + headerLength - 1] = 0x0a; // '\n'

  const dataStart = headerStart + headerLength;
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart);
  if (!HOST_LITTLE_ENDIAN) swapBytes(out.subarray(dataStart), data.BYTES_PER_ELEMENT);
  return out;
}

/** The dict text as NumPy writes it (sorted keys, repr'd values, trailing ", "), with its growth spaces. */
function npyHeaderDict(descr: string, shape: readonly number[]): string {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const growth = shape.length > 0 ? Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length) : 0;
  return dict + ' '.repeat(growth);
}

/** Header length with padding and '\n'. Like NumPy, pads by 1..64 bytes (64 when already aligned). */
function wrappedHeaderLength(dict: string, version: 1 | 2 | 3): number {
  const prefix = MAGIC_LEN + (version === 1 ? 2 : 4);
  const unpadded = dict.length + 1;
  return unpadded + (ARRAY_ALIGN - ((prefix + unpadded) % ARRAY_ALIGN));
}
