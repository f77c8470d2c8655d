import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { MAX_NPY_HEADER_BYTES, encodeNpy, parseNpy, readNpyFile } from '../src/tensor/npy.js';
import type { FloatArray, Tensor } from '../src/tensor/tensor.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/npy/', import.meta.url));

interface GoodFixture {
  shape: number[];
  dtype: 'float32' | 'float64';
  version: [number, number];
  byteorder: '<' | '>';
  values: (number | 'NaN' | 'Infinity' | '-Infinity')[];
  hex: string;
}
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as {
  good: Record<string, GoodFixture>;
  refused: Record<string, string>;
};

// --- helpers -------------------------------------------------------------------------------------

/** The data as little-endian bytes in hex (the tests run on a little-endian host). */
function hexOf(data: FloatArray): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');
}

function fromJson(v: GoodFixture['values'][number]): number {
  return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
}

/** Runs fn, expects an InputError whose single-line message starts with the label and matches `pattern`. */
function expectInputError(fn: () => unknown, pattern: RegExp | string, label = 'x.npy'): InputError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an InputError').toBeInstanceOf(InputError);
  const message = (caught as InputError).message;
  expect(message.startsWith(`${label}: `), message).toBe(true);
  expect(message).not.toContain('\n');
  if (typeof pattern === 'string') expect(message).toContain(pattern);
  else expect(message).toMatch(pattern);
  return caught as InputError;
}

/**
 * A .npy file with exactly the given header text (not padded or terminated unless `pad`), data bytes
 * and version; `headerLength` overrides the length field.
 */
function rawNpy(
  header: string,
  data: Uint8Array = new Uint8Array(0),
  opts: { major?: number; minor?: number; headerLength?: number; pad?: boolean } = {},
): Uint8Array {
  const major = opts.major ?? 1;
  const lengthBytes = major === 1 ? 2 : 4;
  const prefix = 8 + lengthBytes;
  let text = header;
  if (opts.pad ?? true) {
    const unpadded = prefix + Buffer.byteLength(text, major === 3 ? 'utf8' : 'latin1') + 1;
    text += `${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  }
  const headerBytes = Buffer.from(text, major === 3 ? 'utf8' : 'latin1');
  const out = new Uint8Array(prefix + headerBytes.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, opts.minor ?? 0]);
  const view = new DataView(out.buffer);
  const length = opts.headerLength ?? headerBytes.length;
  if (lengthBytes === 2) view.setUint16(8, length, true);
  else view.setUint32(8, length, true);
  out.set(headerBytes, prefix);
  out.set(data, prefix + headerBytes.length);
  return out;
}

const dict = (descr: string, shape: string, fortran = 'False') =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

const parse = (bytes: Uint8Array) => parseNpy(bytes, 'x.npy');

// --- fixtures written by NumPy ---------------------------------------------------------------------

describe('fixtures written by NumPy', () => {
  it.each(Object.entries(expected.good))('reads %s exactly', (name, want) => {
    const t = readNpyFile(join(FIXTURES, name), name);
    expect(t.shape).toEqual(want.shape);
    expect(t.data).toBeInstanceOf(want.dtype === 'float32' ? Float32Array : Float64Array);
    expect(t.data.length).toBe(want.values.length);
    for (const [i, v] of want.values.entries()) expect(Object.is(t.data[i], fromJson(v)), `element ${i}`).toBe(true);
    expect(hexOf(t.data)).toBe(want.hex); // bit-exact, NaN payloads of big-endian files included
    // A fresh array of its own, starting at offset 0.
    expect(t.data.byteOffset).toBe(0);
    expect(t.data.buffer.byteLength).toBe(t.data.byteLength);
  });

  it.each(Object.entries(expected.refused))('refuses %s', (name, message) => {
    expectInputError(() => readNpyFile(join(FIXTURES, name), name), message, `${name} (${join(FIXTURES, name)})`);
  });

  it('re-encodes little-endian fixtures byte for byte as NumPy wrote them', () => {
    for (const [name, want] of Object.entries(expected.good)) {
      if (want.byteorder !== '<') continue;
      const bytes = readFileSync(join(FIXTURES, name));
      const version = want.version[0] as 1 | 2 | 3;
      expect(Buffer.from(encodeNpy(parseNpy(bytes, name), version)).equals(bytes), name).toBe(true);
      if (version === 1) expect(Buffer.from(encodeNpy(parseNpy(bytes, name))).equals(bytes), name).toBe(true);
    }
  });

  it('re-encodes big-endian fixtures as little-endian with the same header layout', () => {
    for (const [name, want] of Object.entries(expected.good)) {
      if (want.byteorder !== '>') continue;
      const bytes = readFileSync(join(FIXTURES, name));
      const out = encodeNpy(parseNpy(bytes, name), want.version[0] as 1 | 2 | 3);
      const dataStart = bytes.length - want.hex.length / 2;
      expect(out.length).toBe(bytes.length);
      const header = (b: Uint8Array) => Buffer.from(b.subarray(0, dataStart)).toString('latin1');
      expect(header(out)).toBe(header(bytes).replace("'>f", "'<f"));
      expect(Buffer.from(out.subarray(dataStart)).toString('hex')).toBe(want.hex);
    }
  });
});

// --- encoding and round trips ------------------------------------------------------------------------

describe('encodeNpy', () => {
  const shapes = [[], [0], [0, 3], [3, 0, 2], [1], [5], [2, 3], [2, 3, 4, 5], [1, 1, 1, 1, 1, 1]];

  function sample(dtype: 'float32' | 'float64', shape: number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
    const specials = [-0, Infinity, -Infinity, 5e-324, 1.4e-45, 1 / 3, -1e30, NaN];
    for (let i = 0; i < n; i++) data[i] = i < specials.length ? specials[i] : (i - n / 2) * 0.37;
    return { data, shape };
  }

  /** Checks the structure NumPy relies on, and returns the header text. */
  function checkStructure(bytes: Uint8Array, version: number): string {
    expect(Array.from(bytes.subarray(0, 6))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
    expect([bytes[6], bytes[7]]).toEqual([version, 0]);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const prefix = version === 1 ? 10 : 12;
    const length = version === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
    expect((prefix + length) % 64).toBe(0);
    const header = Buffer.from(bytes.subarray(prefix, prefix + length)).toString('latin1');
    expect(header.endsWith('\n')).toBe(true);
    expect(header.indexOf('\n')).toBe(header.length - 1);
    expect(header).toMatch(
      /^\{'descr': '<f[48]', 'fortran_order': False, 'shape': \((\d+,\)|\d+(, \d+)+\)|\)), \} *\n$/,
    );
    return header;
  }

  for (const dtype of ['float32', 'float64'] as const) {
    for (const version of [undefined, 1, 2, 3] as const) {
      it(`round-trips ${dtype} in version ${version ?? 'default'} for shapes ${JSON.stringify(shapes)}`, () => {
        for (const shape of shapes) {
          const t = sample(dtype, shape);
          const bytes = encodeNpy(t, version);
          const header = checkStructure(bytes, version ?? 1);
          expect(header).toContain(`'descr': '${dtype === 'float32' ? '<f4' : '<f8'}'`);
          const back = parse(bytes);
          expect(back.shape).toEqual(shape);
          expect(back.data).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
          expect(hexOf(back.data)).toBe(hexOf(t.data));
        }
      });
    }
  }

  it('writes shapes the way Python writes tuples', () => {
    const header = (shape: number[]) =>
      Buffer.from(encodeNpy({ data: new Float64Array(shape.reduce((a, b) => a * b, 1)), shape })).toString('latin1');
    expect(header([])).toContain("'shape': (), }");
    expect(header([7])).toContain("'shape': (7,), }");
    expect(header([2, 0, 3])).toContain("'shape': (2, 0, 3), }");
  });

  it('encodes a view at an offset into a larger buffer', () => {
    const base = new Float32Array([9, 1, 2, 3, 9]);
    const back = parse(encodeNpy({ data: base.subarray(1, 4), shape: [3] }));
    expect(Array.from(back.data)).toEqual([1, 2, 3]);
  });

  it('switches to version 2.0 only when the header does not fit version 1.0', () => {
    const shape = new Array<number>(25_000).fill(1);
    const bytes = encodeNpy({ data: new Float32Array([4.5]), shape });
    checkStructure(bytes, 2);
    expect(parse(bytes).shape).toEqual(shape);
    expect(() => encodeNpy({ data: new Float32Array([4.5]), shape }, 1)).toThrow(/too long for version 1.0/);
    expect(encodeNpy({ data: new Float32Array([4.5]), shape }, 3)[6]).toBe(3);
  });

  it('refuses tensors it cannot write', () => {
    expect(() => encodeNpy({ data: new Float32Array(5), shape: [2, 3] })).toThrow(InputError);
    expect(() => encodeNpy({ data: new Float32Array(0), shape: [-1] })).toThrow(InputError);
    expect(() => encodeNpy({ data: new Float32Array(2), shape: [2.5] })).toThrow(InputError);
    expect(() => encodeNpy({ data: new Float32Array(1), shape: new Array<number>(400_000).fill(1) })).toThrow(
      /longer than/,
    );
    expect(() => encodeNpy({ data: new Float32Array(1), shape: [] }, 4 as 1)).toThrow(InputError);
  });
});

// --- the reader on hand-made files ---------------------------------------------------------------------

describe('parseNpy on hand-made files', () => {
  const f4x6 = new Uint8Array(24);

  it('accepts any key order, double quotes, no trailing comma, tabs, and a 1-tuple with a space', () => {
    const headers = [
      `{"shape": (2, 3), "fortran_order": False, "descr": "<f4"}`,
      `{'fortran_order':False,'shape':(2,3),'descr':'<f4',}`,
      `{\t'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 2 , 3 , ) }`,
    ];
    for (const h of headers) expect(parse(rawNpy(h, f4x6)).shape).toEqual([2, 3]);
    expect(parse(rawNpy(dict('<f4', '(6, )'), f4x6)).shape).toEqual([6]);
    expect(parse(rawNpy(dict('<f4', '((6,))'), f4x6)).shape).toEqual([6]); // parentheses just group
  });

  it('does not need the 64-byte alignment NumPy writes (old files used 16)', () => {
    const bytes = rawNpy(`${dict('<f8', '(1,)')}\n`, new Uint8Array(8), { pad: false });
    expect(parse(bytes).shape).toEqual([1]);
  });

  it('accepts the Python 2 long suffix in versions 1.0 and 2.0 only, like NumPy', () => {
    expect(parse(rawNpy(dict('<f4', '(2L, 3L)'), f4x6)).shape).toEqual([2, 3]);
    expect(parse(rawNpy(dict('<f4', '(2L, 3L)'), f4x6, { major: 2 })).shape).toEqual([2, 3]);
    expectInputError(() => parse(rawNpy(dict('<f4', '(2L, 3L)'), f4x6, { major: 3 })), "bad number '2L'");
  });

  it('reads from a Uint8Array at an odd offset and returns an aligned copy', () => {
    const file = encodeNpy({ data: new Float64Array([1.5, -2]), shape: [2] });
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const t = parse(shifted.subarray(1));
    expect(Array.from(t.data)).toEqual([1.5, -2]);
    shifted.fill(0);
    expect(Array.from(t.data)).toEqual([1.5, -2]); // not a view on the input
  });

  it('reads a utf-8 header in version 3.0', () => {
    // Non-ASCII text can only appear in strings; here in an unknown key, which is then refused by name.
    expectInputError(
      () =>
        parse(rawNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (), 'é': 1}`, new Uint8Array(4), { major: 3 })),
      "unknown key '\\u00e9'",
    ); // shown escaped: messages stay printable ASCII
    expectInputError(
      () => parse(rawNpy(dict('<f4', '()'), new Uint8Array(4), { major: 3 }).fill(0xff, 20, 21)),
      'not valid utf-8',
    );
  });

  const cases: [string, () => Uint8Array, RegExp | string][] = [
    ['empty input', () => new Uint8Array(0), 'not a .npy file (bad magic)'],
    ['bad magic', () => Object.assign(rawNpy(dict('<f4', '(6,)'), f4x6), { 1: 0x4f }), 'not a .npy file (bad magic)'],
    ['a text file', () => new TextEncoder().encode('hello, world\n'), 'bad magic'],
    ['magic only', () => new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]), 'truncated header'],
    ['no header length', () => new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 1]), 'truncated header'],
    ['version 4.0', () => rawNpy(dict('<f4', '(6,)'), f4x6, { major: 4 }), 'unsupported .npy format version 4.0'],
    ['version 1.1', () => rawNpy(dict('<f4', '(6,)'), f4x6, { minor: 1 }), 'unsupported .npy format version 1.1'],
    [
      'header length beyond the file',
      () => rawNpy(dict('<f4', '(6,)'), f4x6, { headerLength: 500 }),
      /truncated header: header length 500 goes past the end of the file \(\d+ bytes\)/,
    ],
    [
      'header length over the limit',
      () => rawNpy(dict('<f4', '(6,)'), f4x6, { major: 2, headerLength: 0xffffffff }),
      `header length 4294967295 bytes exceeds the limit of ${MAX_NPY_HEADER_BYTES}`,
    ],
    [
      'header without newline',
      () => rawNpy(`${dict('<f4', '(6,)')}   `, f4x6, { pad: false }),
      'does not end with a newline',
    ],
    ['empty header', () => rawNpy('', new Uint8Array(0), { pad: false }), 'does not end with a newline'],
    [
      'newline inside the header',
      () => rawNpy(`{'descr': '<f4',\n'fortran_order': False, 'shape': (6,)}`, f4x6),
      "expected a quoted key or '}'",
    ],
    ['garbage after the dict', () => rawNpy(`${dict('<f4', '(6,)')} x`, f4x6), "unexpected 'x' after the dict"],
    ['not a dict', () => rawNpy("[('descr', '<f4')]", f4x6), "expected '{'"],
    [
      'unknown key',
      () => rawNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'extra': 1}`, f4x6),
      "unknown key 'extra'",
    ],
    ['missing key', () => rawNpy(`{'descr': '<f4', 'shape': (6,)}`, f4x6), "missing key 'fortran_order'"],
    [
      'duplicate key',
      () => rawNpy(`{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}`, f4x6),
      "duplicate key 'descr'",
    ],
    ['unquoted key', () => rawNpy(`{descr: '<f4'}`, f4x6), 'expected a quoted key'],
    [
      'missing comma',
      () => rawNpy(`{'descr': '<f4' 'fortran_order': False, 'shape': (6,)}`, f4x6),
      "expected ',' or '}'",
    ],
    ['unterminated string', () => rawNpy(`{'descr': '<f4}`, f4x6), 'unterminated string'],
    ['a key without a colon', () => rawNpy(`{'descr: '<f4'}`, f4x6), "expected ':' after key 'descr: '"],
    ['escape in a string', () => rawNpy(`{'des\\cr': '<f4'}`, f4x6), 'escape sequences'],
    ['a function call', () => rawNpy(dict('<f4', "__import__('os')"), f4x6), "unexpected name '__import__'"],
    ['an expression', () => rawNpy(dict('<f4', '(2*3,)'), f4x6), "expected ',' or ')'"],
    ['deep nesting', () => rawNpy(dict('<f4', '('.repeat(5000) + ')'.repeat(5000)), f4x6), 'nested too deeply'],
    ['negative dim', () => rawNpy(dict('<f4', '(-1, 6)'), f4x6), 'shape dim -1 is negative'],
    ['non-integer dim', () => rawNpy(dict('<f4', '(2.5, 3)'), f4x6), 'shape dim 2.5 is not an integer'],
    ['string dim', () => rawNpy(dict('<f4', "('6',)"), f4x6), 'shape dims must be integers'],
    ['bool dim', () => rawNpy(dict('<f4', '(True,)'), f4x6), 'shape dims must be integers'],
    ['leading zero dim', () => rawNpy(dict('<f4', '(06,)'), f4x6), "bad number '06'"],
    [
      'dim over 2^53',
      () => rawNpy(dict('<f4', '(9007199254740993,)'), f4x6),
      'shape dim 9007199254740993 is too large',
    ],
    ['shape as a list', () => rawNpy(dict('<f4', '[2, 3]'), f4x6), 'shape must be a tuple'],
    ['shape as a bare int', () => rawNpy(dict('<f4', '6'), f4x6), 'shape must be a tuple'],
    ['shape (6) without comma', () => rawNpy(dict('<f4', '(6)'), f4x6), 'shape must be a tuple'],
    ['fortran_order not a bool', () => rawNpy(dict('<f4', '(6,)', '0'), f4x6), 'fortran_order must be True or False'],
    [
      'fortran order',
      () => rawNpy(dict('<f4', '(2, 3)', 'True'), f4x6),
      'Fortran-order arrays are not supported; save with np.ascontiguousarray',
    ],
    [
      'descr not a string',
      () => rawNpy(`{'descr': 4, 'fortran_order': False, 'shape': (6,)}`, f4x6),
      "'descr' must be a string",
    ],
    ['int32', () => rawNpy(dict('<i4', '(6,)'), f4x6), "unsupported dtype '<i4' (only float32 and float64"],
    [
      'native byte order',
      () => rawNpy(dict('=f4', '(6,)'), f4x6),
      "unsupported dtype '=f4': the byte order must be '<' or '>'",
    ],
    ['no byte order', () => rawNpy(dict('|f8', '(3,)'), f4x6), "unsupported dtype '|f8': the byte order"],
    ['dtype name instead of descr', () => rawNpy(dict('float32', '(6,)'), f4x6), "unsupported dtype 'float32'"],
    ['control characters in descr', () => rawNpy(dict('<f4\r', '(6,)'), f4x6), "unsupported dtype '<f4\\u000d'"],
    [
      'truncated data',
      () => rawNpy(dict('<f4', '(2, 3)'), new Uint8Array(20)),
      'truncated data: shape [2,3] float32 needs 24 data bytes, file has 20',
    ],
    [
      'no data at all',
      () => rawNpy(dict('<f8', '()')),
      'truncated data: shape [] float64 needs 8 data bytes, file has 0',
    ],
    [
      'trailing bytes',
      () => rawNpy(dict('<f4', '(2, 3)'), new Uint8Array(25)),
      'extra bytes after data: shape [2,3] float32 needs 24 data bytes, file has 25',
    ],
    ['data for a zero-size shape', () => rawNpy(dict('<f4', '(0, 3)'), new Uint8Array(4)), 'extra bytes after data'],
    [
      'shape product mismatch',
      () => rawNpy(dict('<f8', '(2, 3)'), f4x6),
      'truncated data: shape [2,3] float64 needs 48 data bytes, file has 24',
    ],
    [
      'huge dims whose product overflows',
      () => rawNpy(dict('<f8', '(9007199254740991, 9007199254740991, 4096)'), f4x6),
      `needs ${9007199254740991n * 9007199254740991n * 4096n * 8n} data bytes, file has 24`,
    ],
    ['huge dims times a zero dim', () => rawNpy(dict('<f8', '(9007199254740991, 0)'), f4x6), 'extra bytes after data'],
  ];
  it.each(cases)('refuses %s', (_name, build, message) => {
    expectInputError(() => parse(build()), message);
  });

  it('labels errors with the label given, defaulting to "array"', () => {
    expectInputError(() => parseNpy(new Uint8Array(3)), 'bad magic', 'array');
    expectInputError(() => parseNpy(new Uint8Array(3), 'inputs/x.npy'), 'bad magic', 'inputs/x.npy');
  });
});

// --- files ------------------------------------------------------------------------------------------

describe('readNpyFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npy-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file it wrote', () => {
    const path = join(dir, 'ok.npy');
    writeFileSync(path, encodeNpy({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }));
    const t = readNpyFile(path);
    expect(t.shape).toEqual([2, 2]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4]);
  });

  it('names the path of a missing file', () => {
    const path = join(dir, 'missing.npy');
    expectInputError(() => readNpyFile(path), 'cannot read file: no such file', path);
    expectInputError(() => readNpyFile(path, 'weights'), `cannot read file: no such file`, `weights (${path})`);
    expectInputError(
      () => readNpyFile(join(dir, 'ok.npy', 'below.npy')),
      'no such file',
      join(dir, 'ok.npy', 'below.npy'),
    );
  });

  it('refuses a directory', () => {
    expectInputError(() => readNpyFile(dir), 'cannot read file: is a directory', dir);
  });

  it('labels parse errors with the label and the path', () => {
    const path = join(dir, 'bad.npy');
    writeFileSync(path, 'not numpy');
    expectInputError(() => readNpyFile(path), 'bad magic', path);
    expectInputError(() => readNpyFile(path, 'x.npy'), 'bad magic', `x.npy (${path})`);
  });
});
