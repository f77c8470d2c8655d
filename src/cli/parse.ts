/**
 * Every option-value parser of the CLI. Two kinds: `parseX(value)` refuses a value in commander's
 * words (commander names the option: "option '--devices <W>' argument 'x' is invalid"), and
 * `x(flag)` returns a parser that refuses it as an InputError naming the flag and quoting the value
 * as typed (`--eps must be a number > 0, got '1e-400' (it rounds to 0 in float64)`).
 */
import { InvalidArgumentError, Option } from 'commander';
import { InputError } from '../errors.js';
import { orList } from '../report/prose.js';
import { IOFFE_SCHEDULE, type RenormSchedule } from '../norm/batch-renorm.js';
import { type ModelNorm, parseModelNorm } from '../train/model-norm.js';

/** A commander option-value parser: the typed text in, the value out (or a thrown refusal). */
export type ValueParser<T> = (value: string) => T;

/**
 * A finite number, in commander's words.
 * @param value - the text typed.
 * @returns the number.
 * @throws InvalidArgumentError when it is empty or not a finite number.
 */
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

/**
 * A finite number for `flag`.
 * @param flag - the option, as messages name it (`--offset`).
 * @returns a parser refusing, as an InputError quoting what was typed, what is not a finite number.
 */
export function finiteNumber(flag: string): ValueParser<number> {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n))
      throw new InputError(`${flag} must be a finite number, got '${value}'`);
    return n;
  };
}

/**
 * A finite number > 0 for `flag`; '1e-400' is refused as typed, with a note that it rounds to 0.
 * @param flag - the option, as messages name it (`--eps`).
 * @returns a parser refusing, as an InputError, what is not a finite number > 0.
 */
export function positiveNumber(flag: string): ValueParser<number> {
  return (value) => {
    const n = finiteNumber(flag)(value);
    if (n <= 0) throw new InputError(`${flag} must be a number > 0, got '${value}'${rounding(value, n)}`);
    return n;
  };
}

/**
 * A finite number >= 0 for `flag` (SGD momentum, weight decay).
 * @param flag - the option, as messages name it.
 * @returns a parser refusing a non-number in commander's words and a negative one as an InputError.
 */
export function nonNegativeNumber(flag: string): ValueParser<number> {
  return (value) => {
    const n = parseFiniteNumber(value);
    if (n < 0) throw new InputError(`${flag} must be >= 0, got ${value}`);
    return n;
  };
}

/**
 * A finite number in [min, max] for `flag`.
 * @param flag - the option, as messages name it (`--momentum`).
 * @param min - the smallest value allowed.
 * @param max - the largest value allowed.
 * @returns a parser refusing, as an InputError quoting what was typed, anything else.
 */
export function numberInRange(flag: string, min: number, max: number): ValueParser<number> {
  return (value) => {
    const n = finiteNumber(flag)(value);
    if (n < min || n > max) throw new InputError(`${flag} must lie in [${min}, ${max}], got '${value}'`);
    return n;
  };
}

/**
 * A whole number >= 1, in commander's words (`--devices`, `--epochs`, `--reps`).
 * @param value - the text typed.
 * @returns the number.
 * @throws InvalidArgumentError when it is not a whole number >= 1 (safe integers only).
 */
export function parsePositiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`'${value}' is not a whole number >= 1.`);
  }
  return n;
}

/**
 * A whole number >= 1 for `flag`, refused with the flag first (`--subset: '0' is not a whole
 * number >= 1`), as list items are.
 * @param flag - the option, as messages name it.
 * @returns a parser refusing, as an InputError, anything else.
 */
export function wholeNumber(flag: string): ValueParser<number> {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1)
      throw new InputError(`${flag}: '${value}' is not a whole number >= 1`);
    return Number(value);
  };
}

/**
 * A whole number >= `min` for `flag` (safe integers only; spaces around it are ignored).
 * @param flag - the option, as messages name it (`--rows`).
 * @param min - the smallest value allowed.
 * @returns a parser refusing, as an InputError quoting what was typed, anything else.
 */
export function wholeNumberFrom(flag: string, min: number): ValueParser<number> {
  return (value) => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min)
      throw new InputError(`${flag} must be a whole number >= ${min}, got '${value}'`);
    return n;
  };
}

/**
 * `--seed`: a whole number >= 0.
 * @param value - the text typed.
 * @returns the seed.
 * @throws InputError when it is not a whole number >= 0.
 */
export function parseSeed(value: string): number {
  return wholeNumberFrom('--seed', 0)(value);
}

/**
 * One of a fixed set of names for `flag` (`--dtype must be float32 or float64, got 'int8'`).
 * @param flag - the option, as messages name it.
 * @param choices - the names allowed.
 * @returns a parser refusing, as an InputError, any other name.
 */
export function oneOf<T extends string>(flag: string, choices: readonly T[]): ValueParser<T> {
  return (value) => {
    if (!(choices as readonly string[]).includes(value))
      throw new InputError(`${flag} must be ${orList(choices)}, got '${value}'`);
    return value as T;
  };
}

/**
 * One of a fixed set of names, as an item of a list for `flag` (`--methods: unknown method 'x' (a, b)`).
 * @param flag - the option, as messages name it.
 * @param choices - the names allowed.
 * @param noun - what a name is, for the message ("method").
 * @returns a parser refusing, as an InputError, any other name.
 */
export function knownName<T extends string>(flag: string, choices: readonly T[], noun: string): ValueParser<T> {
  return (value) => {
    if (!(choices as readonly string[]).includes(value))
      throw new InputError(`${flag}: unknown ${noun} '${value}' (${choices.join(', ')})`);
    return value as T;
  };
}

/**
 * A comma-separated, non-empty list for `flag`, each item trimmed and parsed by `item`.
 * @param flag - the option, as messages name it.
 * @param item - the parser of one item.
 * @returns a parser refusing an empty list as an InputError (items refuse as `item` does).
 */
export function listOf<T>(flag: string, item: ValueParser<T>): ValueParser<T[]> {
  return (value) => {
    if (value.trim() === '') throw new InputError(`${flag}: the list is empty`);
    return value.split(',').map((v) => item(v.trim()));
  };
}

/**
 * `--inject-fault`: `crash:RANK`, `hang:RANK` or `skip:RANK`.
 * @param value - the text typed.
 * @returns the fault (its rank is checked against the devices later, by the cluster).
 * @throws InvalidArgumentError when it has another form.
 */
export function parseFault(value: string): { kind: 'crash' | 'hang' | 'skip'; rank: number } {
  const match = /^(crash|hang|skip):(\d+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`'${value}' is not crash:RANK, hang:RANK or skip:RANK.`);
  return { kind: match[1] as 'crash' | 'hang' | 'skip', rank: Number(match[2]) };
}

/**
 * `--timeout-ms`: a finite number of milliseconds > 0, refused with a message quoting what was
 * typed. Any length works (the cluster times long waits in slices below Node's timer limit), so a
 * huge value means "wait as long as it takes".
 * @param value - the text typed.
 * @returns the timeout in milliseconds.
 * @throws InputError when it is not a finite number > 0.
 */
export function parseTimeoutMs(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InputError(`--timeout-ms must be a number > 0, got '${value}'`);
  return n;
}

/**
 * A tensor shape such as `64,64,32,32`: comma-separated whole numbers >= 1.
 * @param value - the text typed.
 * @returns the dimensions.
 * @throws InvalidArgumentError when it is not such a list.
 */
export function parseShape(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  if (value.trim() === '' || parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidArgumentError(`'${value}' is not a shape (comma-separated whole numbers, e.g. 64,64,32,32).`);
  }
  const dims = parts.map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 1))
    throw new InvalidArgumentError(`'${value}' has a dimension below 1 or too large.`);
  return dims;
}

/**
 * The `--threads T` option of every command that runs devices: W devices are hosted on T worker
 * threads (1 to W; default min(W, cores)); results are bitwise the same for every T.
 * @returns the option, to add to a command.
 */
export function threadsOption(): Option {
  return new Option(
    '--threads <T>',
    'worker threads hosting the devices, 1 to W (default: min(W, cores); results do not depend on it)',
  ).argParser(wholeNumber('--threads'));
}

/**
 * `--straggler`: `RANK:MS`, one device that computes MS milliseconds longer per iteration.
 * @param value - the text typed.
 * @returns the rank and the delay in seconds (the rank is checked against the devices later).
 * @throws InputError when it has another form.
 */
export function parseStraggler(value: string): { rank: number; seconds: number } {
  const m = /^(\d+):([0-9.eE+-]+)$/.exec(value.trim());
  const ms = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isFinite(ms) || ms < 0 || !Number.isSafeInteger(Number(m[1]))) {
    throw new InputError(`--straggler must be RANK:MS (a rank and milliseconds >= 0), got '${value}'`);
  }
  return { rank: Number(m[1]), seconds: ms / 1000 };
}

/**
 * `--norm`'s items: `batch`, `batch-renorm`, `group-norm:G`, `layer-norm`, `instance-norm` or `frn`.
 * @param flag - the option, as messages name it.
 * @param allowed - the kinds this command accepts (default all).
 * @returns a parser refusing, as an InputError naming the flag, any other name or a bad G.
 */
export function normName(flag: string, allowed?: readonly string[]): ValueParser<string> {
  return (value) => {
    let norm: ModelNorm;
    try {
      norm = parseModelNorm(value);
    } catch (error) {
      throw new InputError(`${flag}: ${(error as Error).message}`);
    }
    if (allowed && !allowed.includes(norm.kind))
      throw new InputError(
        `${flag}: ${value} is not available here (${allowed.map((k) => (k === 'group-norm' ? 'group-norm:G' : k)).join(', ')})`,
      );
    return value;
  };
}

/**
 * `--renorm-schedule WARMUP,R_STEPS,D_STEPS`: Batch Renorm's warm-up in steps (r_max = 1 and
 * d_max = 0 until WARMUP, then linear to r_max 3 at R_STEPS and d_max 5 at D_STEPS, Ioffe 2017).
 * @param value - the text typed.
 * @returns the schedule.
 * @throws InputError when it is not three whole numbers with WARMUP <= R_STEPS and WARMUP <= D_STEPS.
 */
export function parseRenormSchedule(value: string): RenormSchedule {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length !== 3 || parts.some((p) => !/^\d+$/.test(p)))
    throw new InputError(
      `--renorm-schedule must be WARMUP,R_STEPS,D_STEPS (three whole numbers of steps), got '${value}'`,
    );
  const [warmupSteps, rMaxSteps, dMaxSteps] = parts.map(Number);
  if (rMaxSteps < warmupSteps || dMaxSteps < warmupSteps)
    throw new InputError(`--renorm-schedule: R_STEPS and D_STEPS must not come before WARMUP, got '${value}'`);
  return { ...IOFFE_SCHEDULE, warmupSteps, rMaxSteps, dMaxSteps };
}
