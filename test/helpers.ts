/** Shared test utilities: error measures, fixture loading, and running the built CLI. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpyFile } from '../src/tensor/npy.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { vi } from 'vitest';
import { main } from '../src/cli/program.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BN_FIXTURES = join(ROOT, 'test', 'fixtures', 'bn');
export const CLI = join(ROOT, 'dist', 'bin', 'syncbn-sim.js');

/** max |a - b| / max |b|: the error relative to the reference array's scale. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  if (Number.isNaN(diff)) return Infinity;
  return scale === 0 ? diff : diff / scale;
}

/** The tolerance the issue sets for each dtype. */
export function toleranceFor(dtype: string): number {
  return dtype === 'float64' ? 1e-10 : 1e-5;
}

export interface FixtureCase {
  name: string;
  dir: string;
  shape: number[];
  dtype: 'float32' | 'float64';
  training: boolean;
  momentum: number;
  eps: number;
  has_grad: boolean;
  affine_default: boolean;
  stats: { count: number; mean: number[]; var: number[] };
  load(file: string): Tensor;
}

export function fixtureCases(): FixtureCase[] {
  const manifest = JSON.parse(readFileSync(join(BN_FIXTURES, 'manifest.json'), 'utf8')) as { cases: string[] };
  return manifest.cases.map((name) => {
    const dir = join(BN_FIXTURES, name);
    const meta = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
    return { ...meta, dir, load: (file: string) => readNpyFile(join(dir, file)) };
  });
}

export function tempDir(prefix = 'syncbn-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (npm test builds it first) in a child process. */
export function runCli(
  args: readonly string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs the CLI's main() in this process, capturing what it writes: the same program as the built
 * CLI without a child process's second of start-up, for tests that run it many times. Tests in one
 * file run one at a time, so the captured streams are this call's own.
 */
export async function runMain(args: readonly string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const status = await main(['node', 'syncbn-sim', ...args]);
    return { status, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}
