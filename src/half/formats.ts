/**
 * The two 16-bit storage formats, as data: IEEE 754 binary16 (float16) and bfloat16 (float32's
 * exponent with 7 fraction bits). Every constant follows from the field widths.
 */

/** The 16-bit formats a value may be stored in. */
export type HalfFormat = 'float16' | 'bfloat16';

/** Every half format, in a fixed order. */
export const HALF_FORMATS: readonly HalfFormat[] = ['float16', 'bfloat16'];

/** Field widths and the constants that follow from them. */
export interface HalfSpec {
  /** Fraction (mantissa) bits. */
  readonly fraction: number;
  /** Exponent bits. */
  readonly exponent: number;
  /** Exponent of the smallest normal value (1 - bias). */
  readonly minExp: number;
  /** Exponent of the largest finite value (bias). */
  readonly maxExp: number;
  /** Largest finite value. */
  readonly max: number;
  /** Smallest positive normal value. */
  readonly minNormal: number;
  /** Smallest positive subnormal value. */
  readonly minSubnormal: number;
  /** Every integer up to this one is exact (2^(fraction + 1)); the next one is not. */
  readonly exactIntegers: number;
  /** Values at or above this round to infinity (the midpoint between max and 2^(maxExp + 1)). */
  readonly overflow: number;
}

function spec(fraction: number, exponent: number): HalfSpec {
  const bias = 2 ** (exponent - 1) - 1;
  const maxExp = bias;
  const minExp = 1 - bias;
  return {
    fraction,
    exponent,
    minExp,
    maxExp,
    max: (2 - 2 ** -fraction) * 2 ** maxExp,
    minNormal: 2 ** minExp,
    minSubnormal: 2 ** (minExp - fraction),
    exactIntegers: 2 ** (fraction + 1),
    overflow: (2 - 2 ** -(fraction + 1)) * 2 ** maxExp,
  };
}

/** float16: 10 fraction bits, max 65504, integers exact to 2048, 65520 and up overflow. */
export const FLOAT16: HalfSpec = spec(10, 5);
/** bfloat16: 7 fraction bits, max 3.39e38, integers exact to 256. */
export const BFLOAT16: HalfSpec = spec(7, 8);

/**
 * The spec of a format.
 * @param format - float16 or bfloat16.
 * @returns its constants.
 */
export function halfSpec(format: HalfFormat): HalfSpec {
  return format === 'float16' ? FLOAT16 : BFLOAT16;
}
