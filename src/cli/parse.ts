/** Option-value parsers for commander: each refuses a bad value with a message naming the flag. */
import { InvalidArgumentError, Option } from 'commander';
import { InputError } from '../errors.js';

export function parseFiniteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`'${value}' is not a finite number.`);
  return n;
}

/** Why a typed number that looks > 0 reads as 0: it is below float64's smallest value. */
function rounding(value: string, n: number): string {
  if (n === 0 && /[1-9]/.test(value.split(/e/i)[0])) return ' (it rounds to 0 in float64)';
  return '';
}

/** A finite number for `flag`, refused with a message quoting what was typed. */
export function finiteNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InputError(`${flag} must be a finite number, got '${value}'`);
    return n;
  };
}

/** A finite number > 0 for `flag`; '1e-400' is refused as typed, not as the 0 it rounds to. */
export function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = finiteNumber(flag)(value);
    if (n <= 0) throw new InputError(`${flag} must be a number > 0, got '${value}'${rounding(value, n)}`);
    return n;
  };
}

/** A finite number in [min, max] for `flag`, refused with a message quoting what was typed. */
export function numberInRange(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = finiteNumber(flag)(value);
    if (n < min || n > max) throw new InputError(`${flag} must lie in [${min}, ${max}], got '${value}'`);
    return n;
  };
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

/** `crash:RANK`, `hang:RANK` or `skip:RANK`. */
export function parseFault(value: string): { kind: 'crash' | 'hang' | 'skip'; rank: number } {
  const match = /^(crash|hang|skip):(\d+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`'${value}' is not crash:RANK, hang:RANK or skip:RANK.`);
  return { kind: match[1] as 'crash' | 'hang' | 'skip', rank: Number(match[2]) };
}

export function parsePositiveNumber(value: string): number {
  const n = parseFiniteNumber(value);
  if (n <= 0) throw new InvalidArgumentError(`'${value}' is not a number > 0.`);
  return n;
}

/**
 * `--timeout-ms`: a finite number of milliseconds > 0, refused with a message quoting what was
 * typed. Any length works (the cluster times long waits in slices below Node's timer limit), so a
 * huge value means "wait as long as it takes".
 */
export function parseTimeoutMs(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InputError(`--timeout-ms must be a number > 0, got '${value}'`);
  return n;
}

/** A tensor shape such as `64,64,32,32`: comma-separated whole numbers >= 1. */
export function parseShape(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  if (value.trim() === '' || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidArgumentError(`'${value}' is not a shape (comma-separated whole numbers, e.g. 64,64,32,32).`);
  }
  const dims = parts.map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 1)) throw new InvalidArgumentError(`'${value}' has a dimension below 1 or too large.`);
  return dims;
}

/** A seed: a whole number >= 0. */
export function parseSeed(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InputError(`--seed must be a whole number >= 0, got '${value}'`);
  return Number(value);
}

/** A whole number >= 1 for `flag`, refused with a message naming the flag. */
export function wholeNumber(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InputError(`${flag}: '${value}' is not a whole number >= 1`);
    return Number(value);
  };
}

/** A comma-separated, non-empty list for `flag`, each item parsed by `item`. */
export function listOf<T>(flag: string, item: (value: string) => T) {
  return (value: string): T[] => {
    if (value.trim() === '') throw new InputError(`${flag}: the list is empty`);
    return value.split(',').map((v) => item(v.trim()));
  };
}

/**
 * The `--threads T` option of every command that runs devices: W devices are hosted on T worker
 * threads (1 to W; default min(W, cores)); results are bitwise the same for every T.
 */
export function threadsOption(): Option {
  return new Option('--threads <T>', 'worker threads hosting the devices, 1 to W (default: min(W, cores); results do not depend on it)').argParser(wholeNumber('--threads'));
}
