import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { encodeNpy, parseNpy } from '../src/tensor/npy.js';
import type { FloatArray, Tensor } from '../src/tensor/tensor.js';

const bytesOf = (a: FloatArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Tensors of 0 to 4 dims (each 0..5) holding arbitrary bit patterns (NaN payloads, -0, subnormals,
 * infinities), possibly as a view at an offset into a larger buffer.
 */
const tensorArb: fc.Arbitrary<Tensor> = fc
  .record({
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
    float32: fc.boolean(),
    offset: fc.integer({ min: 0, max: 3 }),
    seed: fc.uint8Array({ minLength: 8 * 626, maxLength: 8 * 626 }),
  })
  .map(({ shape, float32, offset, seed }) => {
    const n = product(shape);
    const Ctor = float32 ? Float32Array : Float64Array;
    const data = new Ctor(n + offset).subarray(offset);
    bytesOf(data).set(seed.subarray(0, data.byteLength));
    return { data, shape };
  });

const versionArb = fc.constantFrom(undefined, 1 as const, 2 as const, 3 as const);

/** Parses and checks the invariants of a successful parse; anything thrown but an InputError fails. */
function parseSafely(bytes: Uint8Array): Tensor | undefined {
  let t: Tensor;
  try {
    t = parseNpy(bytes, 'fuzz.npy');
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    expect(err.message.startsWith('fuzz.npy: ')).toBe(true);
    expect(err.message).not.toContain('\n');
    return undefined;
  }
  for (const d of t.shape) expect(Number.isSafeInteger(d) && d >= 0).toBe(true);
  expect(t.data.length).toBe(product(t.shape));
  expect(t.data.byteLength).toBeLessThanOrEqual(bytes.length);
  expect(t.data instanceof Float32Array || t.data instanceof Float64Array).toBe(true);
  return t;
}

// --- mutations of valid files -------------------------------------------------------------------------

type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'header'; at: number; remove: number; insert: string; fixLength: boolean };

/** Characters and tokens that steer the header parser into its corners. */
const headerToken = fc.constantFrom(
  "'",
  '"',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  ' ',
  '\t',
  '\n',
  '\\',
  '-',
  '.',
  'e',
  'L',
  '0',
  '1',
  '9',
  '2.5',
  '-1',
  '9007199254740993',
  'True',
  'False',
  'None',
  "'descr'",
  "'shape'",
  "'<f8'",
  "'>f4'",
  "'=f4'",
  '(3,)',
  '()',
  '((',
  '\u00e9',
  '\u0000',
  '\uffff',
);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({
    kind: fc.constant('header' as const),
    at: fc.nat(),
    remove: fc.integer({ min: 0, max: 4 }),
    insert: fc.array(headerToken, { maxLength: 3 }).map((t) => t.join('')),
    fixLength: fc.boolean(),
  }),
);

function headerBounds(bytes: Uint8Array): { prefix: number; length: number } | undefined {
  if (bytes.length < 12 || bytes[6] < 1 || bytes[6] > 3) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = bytes[6] === 1 ? 10 : 12;
  const length = prefix === 10 ? view.getUint16(8, true) : view.getUint32(8, true);
  return prefix + length <= bytes.length ? { prefix, length } : undefined;
}

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case 'set': {
      if (bytes.length === 0) return bytes;
      const out = bytes.slice();
      out[m.at % out.length] = m.value;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, m.at % (bytes.length + 1));
    case 'append': {
      const out = new Uint8Array(bytes.length + m.bytes.length);
      out.set(bytes);
      out.set(m.bytes, bytes.length);
      return out;
    }
    case 'header': {
      // Edit the header text; optionally rewrite the length field so the parser sees the edit.
      const hb = headerBounds(bytes);
      if (hb === undefined) return bytes;
      const utf8 = bytes[6] === 3;
      const text = Buffer.from(bytes.subarray(hb.prefix, hb.prefix + hb.length)).toString(utf8 ? 'utf8' : 'latin1');
      const at = m.at % (text.length + 1);
      const edited = Buffer.from(text.slice(0, at) + m.insert + text.slice(at + m.remove), utf8 ? 'utf8' : 'latin1');
      const out = new Uint8Array(hb.prefix + edited.length + (bytes.length - hb.prefix - hb.length));
      out.set(bytes.subarray(0, hb.prefix));
      out.set(edited, hb.prefix);
      out.set(bytes.subarray(hb.prefix + hb.length), hb.prefix + edited.length);
      if (m.fixLength && (hb.prefix === 12 || edited.length <= 0xffff)) {
        const view = new DataView(out.buffer);
        if (hb.prefix === 10) view.setUint16(8, edited.length, true);
        else view.setUint32(8, edited.length, true);
      }
      return out;
    }
  }
}

// --- random headers from the grammar ---------------------------------------------------------------------

/** Python literals, nested, mostly of the kinds a header holds, some of them wrong. */
const { pyValue } = fc.letrec<{ pyValue: string }>((tie) => ({
  pyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(
      "'<f4'",
      '"<f8"',
      "'>f4'",
      "'>f8'",
      "'=f4'",
      "'<i4'",
      'True',
      'False',
      'None',
      '0',
      '1',
      '2',
      '3',
      '-1',
      '2.5',
      '1e3',
      '007',
      '9007199254740993',
      '4L',
      "''",
    ),
    fc.array(tie('pyValue'), { maxLength: 3 }).map((a) => `(${a.join(', ')}${a.length === 1 ? ',' : ''})`),
    fc.array(tie('pyValue'), { maxLength: 3 }).map((a) => `[${a.join(', ')}]`),
  ),
}));

const shapeTuple = (dims: number[]) => (dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`);

/** Headers with the right keys and values most of the time, and data of the right length half the time. */
const headerFileArb = fc
  .record({
    keys: fc.oneof(
      fc.shuffledSubarray(['descr', 'fortran_order', 'shape'], { minLength: 3 }),
      fc.shuffledSubarray(['descr', 'fortran_order', 'shape', 'extra'], { minLength: 2 }),
    ),
    descr: fc.oneof(fc.constantFrom("'<f4'", "'>f8'"), pyValue),
    fortran: fc.oneof(fc.constant('False'), pyValue),
    dims: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
    shapeText: fc.option(pyValue, { freq: 3 }), // null: use dims
    trailingComma: fc.boolean(),
    version: fc.constantFrom(1, 2, 3),
    extraData: fc.oneof(fc.constant(0), fc.integer({ min: -16, max: 16 })),
  })
  .map(({ keys, descr, fortran, dims, shapeText, trailingComma, version, extraData }) => {
    const values: Record<string, string> = {
      descr,
      fortran_order: fortran,
      shape: shapeText ?? shapeTuple(dims),
      extra: '1',
    };
    const dict = `{${keys.map((k) => `'${k}': ${values[k]}`).join(', ')}${trailingComma ? ',' : ''}}`;
    const prefix = version === 1 ? 10 : 12;
    const header = Buffer.from(`${dict + ' '.repeat((64 - ((prefix + dict.length + 1) % 64)) % 64)}\n`, 'latin1');
    const itemsize = descr.includes('4') ? 4 : 8;
    const dataLength = Math.max(0, product(dims) * itemsize + extraData);
    const out = new Uint8Array(prefix + header.length + dataLength);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
    const view = new DataView(out.buffer);
    if (version === 1) view.setUint16(8, header.length, true);
    else view.setUint32(8, header.length, true);
    out.set(header, prefix);
    return out;
  });

// --- properties ------------------------------------------------------------------------------------------

describe('npy properties', () => {
  it('encode then parse gives back the same shape, dtype and bits', () => {
    fc.assert(
      fc.property(tensorArb, versionArb, (t, version) => {
        const bytes = encodeNpy(t, version);
        const back = parseNpy(bytes, 'rt.npy');
        expect(back.shape).toEqual(t.shape);
        expect(back.data.constructor).toBe(t.data.constructor);
        expect(Buffer.from(bytesOf(back.data)).equals(bytesOf(t.data))).toBe(true);
        expect(bytes[6]).toBe(version ?? 1);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes only ever give an InputError or a consistent tensor', () => {
    const npyPrefix = fc
      .record({
        major: fc.integer({ min: 0, max: 4 }),
        length: fc.integer({ min: 0, max: 300 }),
        tail: fc.uint8Array({ maxLength: 300 }),
      })
      .map(({ major, length, tail }) => {
        const out = new Uint8Array(12 + tail.length);
        out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0, length & 0xff, length >> 8, 0, 0]);
        out.set(tail, 12);
        return out;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), npyPrefix), (bytes) => {
        parseSafely(bytes);
      }),
      { numRuns: 400 },
    );
  });

  it('random headers built from the grammar only ever give an InputError or a consistent tensor', () => {
    let parsed = 0;
    fc.assert(
      fc.property(headerFileArb, (bytes) => {
        if (parseSafely(bytes) !== undefined) parsed++;
      }),
      { numRuns: 400 },
    );
    expect(parsed).toBeGreaterThan(0);
  });

  it('mutated valid files only ever give an InputError or a consistent tensor', () => {
    let parsed = 0;
    fc.assert(
      fc.property(
        tensorArb,
        versionArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        (t, version, mutations) => {
          const bytes = mutations.reduce(mutate, encodeNpy(t, version));
          if (parseSafely(bytes) !== undefined) parsed++;
        },
      ),
      { numRuns: 500 },
    );
    // Some mutations (a byte flip in the data, a harmless header edit) must still parse.
    expect(parsed).toBeGreaterThan(0);
  });
});
