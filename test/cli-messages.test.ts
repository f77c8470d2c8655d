/**
 * Every usage error is one line, `syncbn-sim: error: ...`, exit code 2: commander's own errors,
 * unknown commands, contradictory flags, and numbers quoted as typed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeNpy } from '../src/tensor/npy.js';
import { runCli, runMain, tempDir } from './helpers.js';

let dir: string;
const path = (name: string) => join(dir, name);

beforeAll(() => {
  dir = tempDir('syncbn-messages-');
  writeFileSync(
    path('x.npy'),
    encodeNpy({ data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), shape: [6, 4] }),
  );
  writeFileSync(
    path('dy.npy'),
    encodeNpy({ data: Float32Array.from({ length: 24 }, (_, i) => Math.cos(i)), shape: [6, 4] }),
  );
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Checks a one-line usage error with exit code 2 and nothing on stdout; returns the line. */
function checkUsageError(r: { status: number | null; stdout: string; stderr: string }): string {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^syncbn-sim: error: /);
  return lines[0];
}

/**
 * Runs the CLI's main() in this process (these errors come before any work, and a child process
 * per case would cost a second of start-up each) and checks the usage error.
 */
async function usageError(args: string[]): Promise<string> {
  return checkUsageError(await runMain(args.map((a) => a.replace('$DIR', dir))));
}

describe("commander's errors in the CLI's voice", () => {
  it('through the built CLI: one line with the prefix, exit 2', () => {
    expect(checkUsageError(runCli(['run', '--input', path('x.npy'), '--out', path('o'), '--stats', 'magic']))).toMatch(
      /^syncbn-sim: error: option '--stats <method>' argument 'magic' is invalid\. Allowed choices are sums, welford, two-pass, shifted-sums\. \(see syncbn-sim run --help\)$/,
    );
  });

  it.each([
    [
      ['run', '--input', '$DIR/x.npy', '--out', '$DIR/o', '--bogus'],
      /unknown option '--bogus' \(see syncbn-sim run --help\)/,
    ],
    [['cost', '--devics', '4'], /unknown option '--devics' \(did you mean --devices\?\)/],
    [['run', '--input'], /option '--input <file>' argument missing/],
    [
      ['run', '--input', '$DIR/x.npy', '--out', '$DIR/o', '--stats', 'magic'],
      /argument 'magic' is invalid. Allowed choices are sums, welford/,
    ],
    [['noise', '--dist', 'cauchy'], /argument 'cauchy' is invalid/],
    [['run', '--out', '$DIR/o'], /required option '--input <file>' not specified/],
    [['--devices', 'many'], /'many' is not a whole number >= 1/],
  ])('%j', async (args, message) => {
    expect(await usageError(args)).toMatch(message);
  });

  it('--help and --version still print and exit 0 (through the built CLI)', () => {
    const help = runCli(['run', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: syncbn-sim run/);
    const version = runCli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe('0.1.0');
  });
});

describe('unknown commands (compare is the default command)', () => {
  it('a first word that is no command says so and lists the commands (through the built CLI)', () => {
    expect(checkUsageError(runCli(['frob']))).toBe(
      "syncbn-sim: error: unknown command 'frob' (commands: compare, run, noise, precision, cost, train, semantics, sweep, report, bench; with no command, syncbn-sim runs compare)",
    );
  });

  it('a stray word after options of the default command is named, with the commands', async () => {
    expect(await usageError(['--devices', '4', 'frob'])).toMatch(
      /compare takes no arguments, got 'frob' \(a command comes first: .*commands: compare, run, noise/,
    );
    expect(await usageError(['run', '--input', 'a.npy', '--out', 'o', 'x.npy'])).toMatch(
      /run takes no arguments, got 'x\.npy'/,
    );
  });
});

describe('contradictory flags are refused', () => {
  it.each([
    [['noise', '--json', '--csv'], /option '--json' cannot be used with option '--csv'/],
    [['precision', '--csv', '--json'], /option '--json' cannot be used with option '--csv'/],
    [['cost', '--json', '--csv'], /cannot be used with/],
    [['train', '--json', '--csv'], /cannot be used with/],
    [
      ['compare', '--input', '$DIR/x.npy', '--shape', '8,4'],
      /option '--shape <dims>' cannot be used with option '--input <file>'/,
    ],
    [['compare', '--json', '--channels', '2'], /option '--channels <k>' cannot be used with option '--json'/],
    [['compare', '--grad-output', '$DIR/dy.npy'], /--grad-output needs --input/],
    [
      ['compare', '--input', '$DIR/x.npy', '--grad-output', '$DIR/dy.npy', '--seed', '3'],
      /--seed has no effect with --input and --grad-output/,
    ],
    [
      ['noise', '--input', '$DIR/x.npy', '--dist', 'laplace'],
      /option '--dist <name>' cannot be used with option '--input <file>'/,
    ],
    [
      ['noise', '--input', '$DIR/x.npy', '--channels', '4'],
      /option '--channels <C>' cannot be used with option '--input <file>'/,
    ],
    [
      ['run', '--input', '$DIR/x.npy', '--out', '$DIR/o', '--eval', '--momentum', '0.5'],
      /option '--momentum <m>' cannot be used with option '--eval'/,
    ],
    [
      ['run', '--input', '$DIR/x.npy', '--out', '$DIR/o', '--eval', '--convention', 'keras'],
      /option '--convention <name>' cannot be used with option '--eval'/,
    ],
    [['train', '--data-dir', '$DIR'], /--data-dir is for --dataset fashion-mnist/],
    [['train', '--batch', '64', '--per-device-batch', '8'], /give --batch or --per-device-batch, not both/],
    [['cost', '--network', 'resnet50', '--channels', '64'], /--network and --channels exclude each other/],
  ])('%j', async (args, message) => {
    expect(await usageError(args)).toMatch(message);
  });
});

describe('numbers are quoted as typed', () => {
  it.each([
    [
      ['run', '--input', '$DIR/x.npy', '--out', '$DIR/o', '--eps', '1e-400'],
      "--eps must be a number > 0, got '1e-400' (it rounds to 0 in float64)",
    ],
    [['train', '--lr', '1e-400'], "--lr must be a number > 0, got '1e-400' (it rounds to 0 in float64)"],
    [['train', '--lr', '-1'], "--lr must be a number > 0, got '-1'"],
    [['precision', '--eps', '1e-400'], "--eps must be a number > 0, got '1e-400'"],
  ])('%j', async (args, message) => {
    expect(await usageError(args)).toContain(message);
  });
});

describe('precision refuses scales whose data cannot be represented', () => {
  it.each([
    [
      ['precision', '--scale', '1e-320'],
      /scale 1e-320 is too small for float32 data: its variance \(scale\^2 = 0\) is below the smallest normal float32/,
    ],
    [['precision', '--scale', '1e-320', '--dtype', 'float64'], /too small for float64 data/],
    [['precision', '--scale', '1e-30'], /too small for float32 data.*\(try --dtype float64\)/],
    [['precision', '--scale', '1e160', '--dtype', 'float64'], /the sum of squares of 256 rows overflows float64/],
  ])('%j', async (args, message) => {
    expect(await usageError(args)).toMatch(message);
  });

  it('a small scale that float64 holds runs', () => {
    const r = runCli([
      'precision',
      '--scale',
      '1e-30',
      '--dtype',
      'float64',
      '--trials',
      '1',
      '--devices',
      '2',
      '--methods',
      'two-pass',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const row of JSON.parse(r.stdout).rows) expect(row.rel_error).toBeLessThan(1e-6);
  });
});
