/**
 * Every command refuses sizes it cannot finish (memory or time) up front: exit 2, one line naming
 * the limit, before any thread starts or any large array is allocated.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeNpy } from '../src/tensor/npy.js';
import { runCli, runMain, tempDir } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs main() in this process (these refusals come before any work) and returns exit code and stderr. */
const cli = runMain;

const many = (item: string, n: number) => Array.from({ length: n }, () => item).join(',');

describe('size caps: exit 2 naming the limit', () => {
  it.each([
    // noise had none: an "Invalid typed array length" crash, 6 GB of memory, or a run until killed.
    [
      ['noise', '--batch-sizes', '1000000000', '--trials', '1'],
      /per-device batch size 1000000000 over 8 devices .* the limit is 16777216/,
    ],
    [['noise', '--batch-sizes', '2000000', '--trials', '1'], /draws 256000000 values a batch; the limit is 16777216/],
    [['noise', '--trials', '1000000000000'], /trials must be at most 1000000, got 1000000000000/],
    [
      ['noise', '--batch-sizes', '1000', '--trials', '200000'],
      /draw 25600000000 values in all; the limit is 17179869184/,
    ],
    [['noise', '--devices', '5000'], /devices must be at most 4096/],
    // precision: trials and total work.
    [['precision', '--trials', '1000000000000'], /trials must be at most 100000/],
    [
      ['precision', '--trials', '100000', '--rows', '100000', '--channels', '100'],
      /values in all; the limit is 17179869184/,
    ],
    [['precision', '--rows', '100000', '--channels', '1000'], /rows x channels is 100000000; at most 16777216/],
    [['precision', '--devices', '5000'], /devices must be a whole number from 1 to 4096/],
    // compare
    [['compare', '--shape', '100000,1000,100,100'], /limited to 134217728/],
    [['compare', '--devices', '2', '--modes', many('local', 65)], /modes: 65 given; the limit is 64/],
    // train
    [['train', '--epochs', '100000'], /epochs must be at most 1000, got 100000/],
    [['train', '--devices', '5000'], /devices must be a whole number from 1 to 4096, got 5000/],
    [['train', '--devices', '2', '--bn', many('local', 65)], /65 runs; the limit is 64/],
    // cost
    [
      ['cost', '--devices', Array.from({ length: 1025 }, (_, i) => i + 1).join(',')],
      /devices: 1025 device counts; the limit is 1024/,
    ],
    [['cost', '--devices', '2000000'], /out of range \(1 to 1048576\)/],
    [['cost', '--channels', '20000000'], /out of range \(1 to 16777216\)/],
    // bench
    [['bench', '--shape', '1024,1024,16,16'], /has 268435456 elements; the benchmark takes at most 134217728/],
    [['bench', '--reps', '1000000'], /reps must be a whole number from 1 to 100000/],
    [['bench', '--devices', '5000'], /devices must be a whole number from 1 to 4096/],
  ])('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^syncbn-sim: error: /);
    expect(r.stderr).toMatch(message);
  });

  it('run and compare: more devices than a cluster may have (compare through the built CLI)', async () => {
    const r = runCli(['--devices', '5000']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/devices must be a whole number from 1 to 4096, got 5000/);
    const dir = tempDir();
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ data: new Float32Array(12).map((_, i) => i), shape: [6, 2] }));
    const run = await cli(['run', '--input', join(dir, 'x.npy'), '--out', join(dir, 'out'), '--devices', '5000']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/devices must be a whole number from 1 to 4096, got 5000/);
    expect(() => readdirSync(join(dir, 'out'))).toThrow();
  });
});
