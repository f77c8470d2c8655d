/** The CLI's option-value parsers (src/cli/parse.ts): what each accepts and the message of each refusal. */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  knownName,
  listOf,
  nonNegativeNumber,
  oneOf,
  parseSeed,
  positiveNumber,
  wholeNumberFrom,
} from '../src/cli/parse.js';
import { InputError } from '../src/errors.js';
import { andList, orList } from '../src/report/prose.js';

const refusal = (parse: () => unknown) => {
  try {
    parse();
  } catch (error) {
    return error as Error;
  }
  throw new Error('not refused');
};

describe('option-value parsers', () => {
  it('oneOf offers the choices as a sentence', () => {
    expect(oneOf('--dtype', ['float32', 'float64'])('float64')).toBe('float64');
    const e = refusal(() => oneOf('--dtype', ['float32', 'float64'])('int8'));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe("--dtype must be float32 or float64, got 'int8'");
    expect(refusal(() => oneOf('--x', ['a', 'b', 'c'])('d')).message).toBe("--x must be a, b or c, got 'd'");
  });

  it('knownName inside listOf names the unknown item; an empty list is refused', () => {
    const methods = listOf('--methods', knownName('--methods', ['welford', 'two-pass'], 'method'));
    expect(methods(' welford, two-pass ')).toEqual(['welford', 'two-pass']);
    expect(refusal(() => methods('welford,magic')).message).toBe(
      "--methods: unknown method 'magic' (welford, two-pass)",
    );
    expect(refusal(() => methods(' ')).message).toBe('--methods: the list is empty');
  });

  it('wholeNumberFrom and parseSeed quote what was typed', () => {
    expect(wholeNumberFrom('--rows', 2)(' 8 ')).toBe(8);
    expect(refusal(() => wholeNumberFrom('--rows', 2)('1')).message).toBe(
      "--rows must be a whole number >= 2, got '1'",
    );
    expect(refusal(() => wholeNumberFrom('--rows', 2)('2.5')).message).toBe(
      "--rows must be a whole number >= 2, got '2.5'",
    );
    expect(parseSeed('0')).toBe(0);
    expect(refusal(() => parseSeed('-3')).message).toBe("--seed must be a whole number >= 0, got '-3'");
  });

  it("positiveNumber says when a typed number rounds to 0; nonNegativeNumber refuses text in commander's words", () => {
    expect(refusal(() => positiveNumber('--eps')('1e-400')).message).toBe(
      "--eps must be a number > 0, got '1e-400' (it rounds to 0 in float64)",
    );
    expect(nonNegativeNumber('--momentum')('0')).toBe(0);
    expect(refusal(() => nonNegativeNumber('--momentum')('-1')).message).toBe('--momentum must be >= 0, got -1');
    expect(refusal(() => nonNegativeNumber('--momentum')('fast'))).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('lists in prose', () => {
  it.each([
    [[], '', ''],
    [['a'], 'a', 'a'],
    [['a', 'b'], 'a and b', 'a or b'],
    [['a', 'b', 'c'], 'a, b and c', 'a, b or c'],
  ])('%j', (items, and, or) => {
    expect(andList(items)).toBe(and);
    expect(orList(items)).toBe(or);
  });
});
