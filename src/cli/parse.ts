/** Option-value parsers for commander: each refuses a bad value with a message naming the flag. */
import { InvalidArgumentError } from 'commander';

export function parseFiniteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`'${value}' is not a finite number.`);
  return n;
}

export function parsePositiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`'${value}' is not a whole number >= 1.`);
  }
  return n;
}

/** A value that must be one of `choices`. */
export function oneOf<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`'${value}' is not one of ${choices.join(', ')}.`);
    }
    return value as T;
  };
}
