/**
 * Half precision: float64 -> float16 and -> bfloat16 with round-to-nearest-even, against numpy's
 * float16 and an exact rational bfloat16 reference (scripts/make_half_fixtures.py, which also
 * checks that reference against numpy on float16 and against torch.bfloat16 on float32 values),
 * and where counts kept in 16 bits break.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countLimits, runningVarWithCount, storedCount, valuesPerChannel } from '../src/half/counts.js';
import { BFLOAT16, FLOAT16 } from '../src/half/formats.js';
import { fromHalfBits, halfBits, roundArrayToHalf, roundToHalf } from '../src/half/round.js';
import { InputError } from '../src/errors.js';
import { ROOT } from './helpers.js';

interface Conversion {
  x: string;
  float16: number;
  bfloat16: number;
  bfloat16_torch: number;
  float32_exact: boolean;
}
const fixture = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'half', 'conversions.json'), 'utf8')) as {
  cases: Conversion[];
};
const doubleFromHex = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);

describe('the formats', () => {
  it('have the constants their field widths give', () => {
    expect([FLOAT16.max, FLOAT16.minNormal, FLOAT16.minSubnormal, FLOAT16.exactIntegers, FLOAT16.overflow]).toEqual([
      65504,
      2 ** -14,
      2 ** -24,
      2048,
      65520,
    ]);
    expect([BFLOAT16.max, BFLOAT16.minNormal, BFLOAT16.minSubnormal, BFLOAT16.exactIntegers]).toEqual([
      (2 - 2 ** -7) * 2 ** 127,
      2 ** -126,
      2 ** -133,
      256,
    ]);
  });
});

describe.each(['float16', 'bfloat16'] as const)('float64 -> %s', (format) => {
  it(`matches the reference bit for bit on ${fixture.cases.length} values (specials, limits, ties, subnormals, random)`, () => {
    const wrong: string[] = [];
    for (const c of fixture.cases) {
      const bits = halfBits(doubleFromHex(c.x), format);
      if (bits !== c[format]) wrong.push(`${doubleFromHex(c.x)}: ${bits.toString(16)} != ${c[format].toString(16)}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('reads back every 16-bit pattern to a value that rounds to the same pattern', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = fromHalfBits(bits, format);
      if (!Number.isNaN(v) && halfBits(v, format) !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds an array as it rounds each value', () => {
    const xs = fixture.cases.slice(0, 200).map((c) => doubleFromHex(c.x));
    const rounded = roundArrayToHalf(Float64Array.from(xs), format);
    for (const [i, x] of xs.entries())
      expect(Object.is(rounded[i], fromHalfBits(halfBits(x, format), format)) || Number.isNaN(x)).toBe(true);
  });
});

describe('hand-checked conversions', () => {
  it('float16: ties to even, subnormals, overflow', () => {
    expect(roundToHalf(1 + 2 ** -11, 'float16')).toBe(1);
    expect(roundToHalf(1 + 3 * 2 ** -11, 'float16')).toBe(1 + 2 ** -9);
    expect(roundToHalf(2 ** -25, 'float16')).toBe(0);
    expect(roundToHalf(3 * 2 ** -25, 'float16')).toBe(2 ** -23);
    expect(roundToHalf(65519.99, 'float16')).toBe(65504);
    expect(roundToHalf(65520, 'float16')).toBe(Infinity);
    expect(roundToHalf(-1e6, 'float16')).toBe(-Infinity);
    expect(Object.is(roundToHalf(-1e-30, 'float16'), -0)).toBe(true);
    expect(halfBits(NaN, 'float16')).toBe(0x7e00);
  });
  it('bfloat16 rounds once, from the double (torch goes through float32 and rounds twice)', () => {
    const x = 1 + 2 ** -8 + 2 ** -30;
    expect(roundToHalf(x, 'bfloat16')).toBe(1 + 2 ** -7);
    const c = fixture.cases.find((k) => doubleFromHex(k.x) === x)!;
    expect(fromHalfBits(c.bfloat16_torch, 'bfloat16')).toBe(1);
    const differ = fixture.cases.filter((k) => k.bfloat16 !== k.bfloat16_torch && !Number.isNaN(doubleFromHex(k.x)));
    expect(differ.length).toBeGreaterThan(0);
    expect(differ.every((k) => !k.float32_exact)).toBe(true);
  });
  it('refuses what is not a number or a format', () => {
    expect(() => roundToHalf('1' as unknown as number, 'float16')).toThrow(InputError);
    expect(() => roundToHalf(1, 'float8' as 'float16')).toThrow(/format must be one of float16, bfloat16/);
    expect(() => fromHalfBits(0x10000, 'float16')).toThrow(InputError);
  });
});

describe('counts kept in 16 bits', () => {
  it('float16 counts are exact to 2048, round above and overflow from 65520', () => {
    expect(countLimits('float16')).toEqual({ exactUpTo: 2048, firstInexact: 2049, overflowsAt: 65520 });
    expect(storedCount(2048, 'float16')).toBe(2048);
    expect(storedCount(2049, 'float16')).toBe(2048);
    expect(storedCount(3001, 'float16')).toBe(3000);
    expect(storedCount(65519, 'float16')).toBe(65504);
    expect(storedCount(65520, 'float16')).toBe(Infinity);
    expect(countLimits('bfloat16')).toEqual({
      exactUpTo: 256,
      firstInexact: 257,
      overflowsAt: Math.ceil(BFLOAT16.overflow),
    });
    expect(storedCount(257, 'bfloat16')).toBe(256);
  });
  it('one ResNet stage at batch 32 counts 100,352 values per channel: infinity in float16, and a NaN running variance', () => {
    const n = valuesPerChannel(32, 56, 56);
    expect(n).toBe(100352);
    expect(storedCount(n, 'float16')).toBe(Infinity);
    expect(storedCount(n, 'bfloat16')).toBe(100352);
    expect(runningVarWithCount(1, 2, n, 0.1, 'exact')).toBeCloseTo(0.9 + (0.2 * 100352) / 100351, 15);
    expect(runningVarWithCount(1, 2, n, 0.1, 'float16')).toBeNaN();
    // bfloat16 stores 100,352 exactly (it is 49 x 2^11) but not its neighbour: the Bessel factor drifts.
    expect(storedCount(100353, 'bfloat16')).toBe(100352);
  });
});
