/**
 * Exact round-to-nearest-even conversion from float64 to a 16-bit format and back, directly from
 * the double (no detour through float32, which would round twice: 1 + 2^-8 + 2^-30 is 1.0078125 in
 * bfloat16, but 1 through float32). Subnormals are kept, values at or above the overflow
 * threshold become infinity, NaN stays NaN (the quiet NaN 0x7e00 / 0x7fc0 in bits).
 *
 * Method: with q the format's quantum at the binade of |x| (2^(e - fraction), or the subnormal
 * quantum below the smallest normal), (|x| + q 2^52) - q 2^52 is |x| rounded to a multiple of q
 * with ties to even: float64's own rounding at that magnitude does it, exactly once, since |x| is
 * far below q 2^52.
 */
import { checkChoice, checkFloatArray, checkWhole, isFloatArray } from '../args.js';
import { InputError } from '../errors.js';
import { type HalfFormat, HALF_FORMATS, halfSpec } from './formats.js';

function checkFormat(format: unknown): HalfFormat {
  return checkChoice('format', format, HALF_FORMATS);
}

/** One float64 seen as two 32-bit words, to read its exponent without Math.log2. */
const word64 = new Float64Array(1);
const word32 = new Uint32Array(word64.buffer);
/** Index of the high word (sign and exponent) on this machine's byte order. */
const HIGH = new Uint8Array(Float64Array.of(1).buffer)[7] === 0x3f ? 1 : 0;

/** The exponent e with 2^e <= a < 2^(e+1), for a finite a > 0 (subnormal doubles give -1023). */
function binade(a: number): number {
  word64[0] = a;
  return ((word32[HIGH] >>> 20) & 0x7ff) - 1023;
}

/**
 * The value of x rounded to the format (as a float64 number).
 * @param x - any number.
 * @param format - float16 or bfloat16.
 * @returns the nearest value of the format, ties to even; +-Infinity past the overflow threshold;
 *   NaN for NaN; the sign of zero kept.
 * @throws InputError when x is not a number or the format is unknown.
 * @example
 * ```ts
 * roundToHalf(0.1, 'float16'); // 0.0999755859375
 * roundToHalf(0.1, 'bfloat16'); // 0.10009765625
 * roundToHalf(2049, 'float16'); // 2048: float16 counts stop being exact past 2048
 * roundToHalf(65520, 'float16'); // Infinity
 * ```
 */
export function roundToHalf(x: number, format: HalfFormat): number {
  if (typeof x !== 'number') throw new InputError(`x must be a number, got ${typeof x}`);
  const s = halfSpec(checkFormat(format));
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= s.overflow) return x > 0 ? Infinity : -Infinity;
  if (a === 0) return x;
  const e = Math.max(binade(a), s.minExp);
  const big = 2 ** (e - s.fraction + 52);
  const r = a + big - big;
  return x < 0 ? -r : r;
}

/**
 * `roundToHalf` for one format, checked once: a function of x alone, for rounding many values.
 * @param format - float16 or bfloat16.
 * @returns x -> x rounded to the format (as `roundToHalf`; x must be a number).
 * @throws InputError when the format is unknown.
 */
export function halfRounding(format: HalfFormat): (x: number) => number {
  const s = halfSpec(checkFormat(format));
  const { overflow, minExp, fraction } = s;
  return (x) => {
    const a = Math.abs(x);
    if (!(a < overflow)) return Number.isNaN(x) ? NaN : x > 0 ? Infinity : -Infinity;
    if (a === 0) return x;
    const big = 2 ** (Math.max(binade(a), minExp) - fraction + 52);
    const r = a + big - big;
    return x < 0 ? -r : r;
  };
}

/**
 * The 16 bits of x in the format (sign, exponent, fraction), rounded to nearest even.
 * @param x - any number.
 * @param format - float16 or bfloat16.
 * @returns the bit pattern as an integer in [0, 65535].
 * @throws InputError when x is not a number or the format is unknown.
 */
export function halfBits(x: number, format: HalfFormat): number {
  const s = halfSpec(checkFormat(format));
  const v = roundToHalf(x, format);
  const expMask = 2 ** s.exponent - 1;
  if (Number.isNaN(v)) return (expMask << s.fraction) | (1 << (s.fraction - 1));
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign | (expMask << s.fraction);
  if (a < s.minNormal) return sign | (a / s.minSubnormal);
  const e = binade(a);
  const fraction = a / 2 ** (e - s.fraction) - 2 ** s.fraction;
  return sign | ((e + s.maxExp) << s.fraction) | fraction;
}

/**
 * The number a 16-bit pattern stands for.
 * @param bits - an integer in [0, 65535].
 * @param format - float16 or bfloat16.
 * @returns its value (NaN for any NaN pattern).
 * @throws InputError when bits is out of range or the format is unknown.
 */
export function fromHalfBits(bits: number, format: HalfFormat): number {
  checkWhole('bits', bits, 0, 0xffff);
  const s = halfSpec(checkFormat(format));
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> s.fraction) & (2 ** s.exponent - 1);
  const fraction = bits & (2 ** s.fraction - 1);
  if (exp === 2 ** s.exponent - 1) return fraction === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * fraction * s.minSubnormal;
  return sign * (1 + fraction / 2 ** s.fraction) * 2 ** (exp - s.maxExp);
}

/**
 * Every value of an array rounded to the format, as float64 numbers (what storing the array in
 * 16 bits and reading it back gives).
 * @param data - the values.
 * @param format - float16 or bfloat16.
 * @returns the rounded values.
 * @throws InputError when data is not a float array or a list of numbers, or the format is unknown.
 */
export function roundArrayToHalf(data: ArrayLike<number>, format: HalfFormat): Float64Array {
  checkFormat(format);
  if (!isFloatArray(data) && !Array.isArray(data)) checkFloatArray('data', data);
  const round = halfRounding(format);
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = round(data[i]);
  return out;
}
