/**
 * Checks of the arguments the public API receives. Each check names the argument, says what it
 * must be and describes what it got, with the type when the type is wrong:
 * `devices must be a whole number from 1 to 4096, got the string '8'`. Every failure is an
 * InputError (exit code 2 in the CLI); a check returns the value, narrowed to the type it checked.
 */
import { InputError } from './errors.js';
import type { ChannelLayout, FloatArray, Tensor } from './tensor/tensor.js';

/** Longest rendering of a string or an array in a message. */
const SHOWN_CHARS = 40;
const SHOWN_ITEMS = 6;

function clip(text: string): string {
  return text.length <= SHOWN_CHARS ? text : `${text.slice(0, SHOWN_CHARS - 3)}...`;
}

function article(word: string): string {
  return /^[aeiouAEIOU]/.test(word) ? `an ${word}` : `a ${word}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A value as written in code, without its type: 8, NaN, 'frob', true. */
function shown(value: unknown): string {
  if (typeof value === 'string') return `'${clip(value)}'`;
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}

/**
 * What a value is, with its type, for a message about an argument of the wrong type: "the string
 * '8'", "an array of 4 numbers", "an Int32Array of 4 elements", "undefined".
 *
 * @param value - anything.
 * @returns its description with its type.
 */
export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  switch (typeof value) {
    case 'number':
      return `the number ${shown(value)}`;
    case 'string':
      return value === '' ? 'an empty string' : `the string ${shown(value)}`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'bigint':
      return `the bigint ${shown(value)}`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
  }
  if (Array.isArray(value)) {
    const kinds = new Set(value.map((v) => (v === null ? 'null' : typeof v)));
    const items = kinds.size === 1 && value.length > 0 ? `${[...kinds][0]}s` : 'items';
    const preview =
      value.length <= SHOWN_ITEMS && [...kinds].every((k) => k === 'number' || k === 'string')
        ? ` [${value.map(shown).join(', ')}]`
        : '';
    return value.length === 0
      ? 'an empty array'
      : `an array of ${value.length} ${value.length === 1 ? items.replace(/s$/, '') : items}${preview}`;
  }
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    return 'length' in value ? `${article(name)} of ${plural(value.length as number, 'element')}` : article(name);
  }
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  if (!name || name === 'Object') {
    const keys = Object.keys(value);
    return keys.length === 0 ? 'an empty object' : `an object with keys ${clip(keys.join(', '))}`;
  }
  return article(name);
}

/**
 * The InputError for `name`: "<name> must be <expected>, got <what it got>".
 *
 * @param name - the argument's name in the message.
 * @param expected - what it must be, e.g. "a whole number >= 1".
 * @param value - what the caller passed.
 * @param typeIsRight - the type is right, only the value is not: show the value without its type.
 * @returns the error, to throw.
 */
export function argumentError(name: string, expected: string, value: unknown, typeIsRight = false): InputError {
  return new InputError(`${name} must be ${expected}, got ${typeIsRight ? shown(value) : describeValue(value)}`);
}

/**
 * A whole number in [min, max] (safe integers only).
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param min - smallest allowed (default 0).
 * @param max - largest allowed (default the largest safe integer).
 * @returns the value.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkWhole(name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw argumentError(name, `a whole number ${range}`, value, typeof value === 'number');
  }
  return value;
}

/**
 * Any safe integer, negative ones included (seeds).
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the value.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw argumentError(name, 'an integer', value, typeof value === 'number');
  return value;
}

/** Bounds for checkNumber; any left out is not checked. */
export interface NumberRange {
  /** Smallest allowed value (inclusive). */
  readonly min?: number;
  /** Largest allowed value (inclusive). */
  readonly max?: number;
  /** The value must be above this (exclusive). */
  readonly above?: number;
}

/** "lie in [0, 1]", "be a positive finite number", "be a finite number >= 2". */
function numberPhrase({ min, max, above }: NumberRange): string {
  if (min !== undefined && max !== undefined) return `lie in [${min}, ${max}]`;
  if (above === 0 && min === undefined && max === undefined) return 'be a positive finite number';
  const bounds = [
    above !== undefined ? ` > ${above}` : '',
    min !== undefined ? ` >= ${min}` : '',
    max !== undefined ? ` <= ${max}` : '',
  ];
  return `be a finite number${bounds.join('')}`;
}

/**
 * A finite number within the range.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param range - the bounds; none are checked when left out.
 * @returns the value.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkNumber(name: string, value: unknown, range: NumberRange = {}): number {
  const { min, max, above } = range;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (min === undefined || value >= min) &&
    (max === undefined || value <= max) &&
    (above === undefined || value > above);
  if (!ok) {
    const got = typeof value === 'number' ? shown(value) : describeValue(value);
    throw new InputError(`${name} must ${numberPhrase(range)}, got ${got}`);
  }
  return value;
}

/**
 * One of a fixed list of strings.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param choices - the allowed strings.
 * @returns the value, narrowed.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw argumentError(name, `one of ${choices.join(', ')}`, value, typeof value === 'string');
  }
  return value as T;
}

/**
 * true or false, nothing truthy or falsy in their place.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the value.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw argumentError(name, 'true or false', value);
  return value;
}

/**
 * A non-empty string.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the value.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw argumentError(name, 'a non-empty string', value, typeof value === 'string');
  return value;
}

/**
 * A function (a callback).
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the value, narrowed.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkFunction<F extends (...args: never[]) => unknown>(name: string, value: unknown): F {
  if (typeof value !== 'function') throw argumentError(name, 'a function', value);
  return value as F;
}

/**
 * An options object: a plain object, or undefined for "all defaults".
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the value, or {} when undefined.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkOptions<T extends object>(name: string, value: T | undefined): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw argumentError(name, 'an options object', value);
  }
  return value;
}

/**
 * A required object of a given shape (checked field by field by the caller).
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the value, narrowed.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkObject<T extends object>(name: string, value: unknown): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value))
    throw argumentError(name, 'an object', value);
  return value as T;
}

/**
 * Whether a value is one of the two float arrays the simulator computes in.
 *
 * @param value - what the caller passed.
 * @returns whether it is a Float32Array or a Float64Array.
 */
export function isFloatArray(value: unknown): value is FloatArray {
  return value instanceof Float32Array || value instanceof Float64Array;
}

/**
 * A Float32Array or Float64Array, the two element types the simulator computes in.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the value, narrowed.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkFloatArray(name: string, value: unknown): FloatArray {
  if (!isFloatArray(value)) throw argumentError(name, 'a Float32Array or Float64Array', value);
  return value;
}

/**
 * A Float32Array (what the layers, the optimizer and the datasets hold).
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the value, narrowed.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkFloat32Array(name: string, value: unknown): Float32Array {
  if (!(value instanceof Float32Array)) throw argumentError(name, 'a Float32Array', value);
  return value;
}

/**
 * A Float64Array, optionally of a given length.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param length - the length it must have, when given.
 * @returns the value, narrowed.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkFloat64Array(name: string, value: unknown, length?: number): Float64Array {
  if (!(value instanceof Float64Array)) throw argumentError(name, 'a Float64Array', value);
  if (length !== undefined && value.length !== length)
    throw new InputError(`${name} must have shape [${length}], got ${plural(value.length, 'value')}`);
  return value;
}

/**
 * A list of finite numbers: an array of numbers or a numeric typed array, optionally of a given
 * length. A bad element is named by its index. With `finite: false` NaN and infinities pass (for
 * statistics, where an empty shard's mean is NaN by definition); the type is still checked.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param length - the length it must have, when given.
 * @param flags - `finite: false` lets NaN and infinities pass.
 * @returns the value, narrowed.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkNumbers(name: string, value: unknown, length?: number, { finite = true } = {}): ArrayLike<number> {
  const listLike =
    Array.isArray(value) ||
    (ArrayBuffer.isView(value) &&
      !(value instanceof DataView) &&
      !(value instanceof BigInt64Array) &&
      !(value instanceof BigUint64Array));
  if (!listLike)
    throw argumentError(
      name,
      length === undefined ? 'an array of numbers' : `an array of ${plural(length, 'number')}`,
      value,
    );
  const list = value as ArrayLike<unknown>;
  if (length !== undefined && list.length !== length)
    throw new InputError(`${name} must have shape [${length}], got ${plural(list.length, 'value')}`);
  if (ArrayBuffer.isView(value) && !finite) return list as ArrayLike<number>; // numbers by construction
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (typeof v !== 'number' || (finite && !Number.isFinite(v)))
      throw argumentError(`${name}[${i}]`, finite ? 'a finite number' : 'a number', v, typeof v === 'number');
  }
  return list as ArrayLike<number>;
}

/**
 * A list of whole numbers in [min, max].
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param min - smallest allowed element (default 0).
 * @param max - largest allowed element.
 * @param flags - `nonEmpty: false` accepts an empty list.
 * @returns the list.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkWholeList(
  name: string,
  value: unknown,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
  { nonEmpty = true } = {},
): number[] {
  if (!Array.isArray(value)) throw argumentError(name, 'an array of whole numbers', value);
  if (nonEmpty && value.length === 0) throw new InputError(`${name} must not be empty`);
  return value.map((v, i) => checkWhole(`${name}[${i}]`, v, min, max));
}

/**
 * A list of choices, each one of `choices`.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param choices - the allowed strings.
 * @returns the list, narrowed.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkChoiceList<T extends string>(name: string, value: unknown, choices: readonly T[]): T[] {
  if (!Array.isArray(value)) throw argumentError(name, `an array of names (${choices.join(', ')})`, value);
  if (value.length === 0) throw new InputError(`${name} must not be empty`);
  return value.map((v, i) => checkChoice(`${name}[${i}]`, v, choices));
}

/**
 * A list of strings (checked one by one by the caller's parser).
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the list.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkStringList(name: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw argumentError(name, 'an array of strings', value);
  if (value.length === 0) throw new InputError(`${name} must not be empty`);
  return value.map((v, i) => checkString(`${name}[${i}]`, v));
}

/**
 * A shape: an array of whole numbers >= 0 whose product is a safe integer.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the shape.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkShape(name: string, value: unknown): number[] {
  if (!Array.isArray(value)) throw argumentError(name, 'an array of whole numbers (a shape)', value);
  const dims = value.map((d, i) => checkWhole(`${name}[${i}]`, d));
  const size = dims.reduce((a, d) => a * d, 1);
  if (!Number.isSafeInteger(size)) throw new InputError(`${name} [${dims.join(',')}] has too many elements (${size})`);
  return dims;
}

/**
 * A tensor: { data: Float32Array | Float64Array, shape } with as many elements as its shape says.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the tensor.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkTensor(name: string, value: unknown): Tensor {
  const t = checkObject<{ data?: unknown; shape?: unknown }>(name, value);
  const data = checkFloatArray(`${name}.data`, t.data);
  const shape = checkShape(`${name}.shape`, t.shape);
  const size = shape.reduce((a, d) => a * d, 1);
  if (data.length !== size)
    throw new InputError(
      `${name}.data has ${plural(data.length, 'element')} but ${name}.shape [${shape.join(',')}] needs ${size}`,
    );
  return value as Tensor;
}

/**
 * A channel layout: { rows, channels, inner }, whole numbers (see channelLayout).
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @returns the layout.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkLayout(name: string, value: unknown): ChannelLayout {
  const layout = checkObject<Record<string, unknown>>(name, value);
  checkWhole(`${name}.rows`, layout.rows);
  checkWhole(`${name}.channels`, layout.channels);
  checkWhole(`${name}.inner`, layout.inner);
  return value as ChannelLayout;
}

/**
 * A block of rows laid out as `layout` says: a float array of rows x channels x inner elements.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param layout - the layout it must fit.
 * @returns the block.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkBlock(name: string, value: unknown, layout: ChannelLayout): FloatArray {
  const data = checkFloatArray(name, value);
  const need = layout.rows * layout.channels * layout.inner;
  if (data.length !== need)
    throw new InputError(
      `${name} has ${plural(data.length, 'element')} but the layout (${layout.rows} rows, ${layout.channels} channels, ${layout.inner} inner) needs ${need}`,
    );
  return data;
}

/**
 * Per-channel statistics (means, inverse std): one number per channel, NaN allowed.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param channels - C: the length it must have.
 * @returns the values.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkPerChannelStats(name: string, value: unknown, channels: number): ArrayLike<number> {
  return checkNumbers(name, value, channels, { finite: false });
}

/** A check of one named value, as the field checks of `checkFields` take them. */
export type FieldCheck = (name: string, value: unknown) => unknown;

/**
 * Checks an options object field by field: `checks` maps each option to its check, which runs
 * when the option is given; `required` options must be given. Unknown keys are left alone.
 *
 * @param name - the argument's name in the message.
 * @param value - what the caller passed.
 * @param checks - the check of each option.
 * @param required - options that must be given.
 * @throws {@link InputError} "<name> must be <expected>, got <what it got>".
 */
export function checkFields(
  name: string,
  value: unknown,
  checks: Readonly<Record<string, FieldCheck>>,
  required: readonly string[] = [],
): void {
  const options = checkOptions<Record<string, unknown>>(name, value as Record<string, unknown> | undefined);
  for (const key of required) if (options[key] === undefined) throw new InputError(`${key} is required, got undefined`);
  for (const [key, check] of Object.entries(checks)) if (options[key] !== undefined) check(key, options[key]);
}

/**
 * Field checks of type only, for `checkFields` in front of code that already checks ranges and
 * names: a value of the wrong type is refused here with the expectation and its type ("devices
 * must be a whole number from 1 to 256, got the string '8'"); one of the right type goes on to the
 * caller's own checks. Tensors, flags, callbacks and signals are checked whole.
 */
export const ofType = {
  number:
    (expected: string): FieldCheck =>
    (n, v) => {
      if (typeof v !== 'number') throw argumentError(n, expected, v);
    },
  numbers:
    (expected: string): FieldCheck =>
    (n, v) => {
      if (!Array.isArray(v)) throw argumentError(n, expected, v);
      v.forEach((x, i) => {
        if (typeof x !== 'number') throw argumentError(`${n}[${i}]`, 'a number', x);
      });
    },
  string:
    (expected: string): FieldCheck =>
    (n, v) => {
      if (typeof v !== 'string') throw argumentError(n, expected, v);
    },
  strings:
    (expected: string): FieldCheck =>
    (n, v) => {
      if (!Array.isArray(v)) throw argumentError(n, expected, v);
      v.forEach((x, i) => {
        if (typeof x !== 'string') throw argumentError(`${n}[${i}]`, 'a string', x);
      });
    },
  boolean: checkBoolean as FieldCheck,
  function: ((n, v) => checkFunction(n, v)) as FieldCheck,
  tensor: checkTensor as FieldCheck,
  object: ((n, v) => checkObject(n, v)) as FieldCheck,
  signal: ((n, v) => {
    if (!(v instanceof AbortSignal)) throw argumentError(n, 'an AbortSignal', v);
  }) as FieldCheck,
} as const;
