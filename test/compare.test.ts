/** `compare`, the default command: the report's invariants, and the CLI on good and bad input. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareModes, defaultModes } from '../src/experiments/compare.js';
import { encodeNpy } from '../src/tensor/npy.js';
import { syntheticBatch } from '../src/tensor/synthetic.js';
import { runCli, tempDir } from './helpers.js';

describe('compareModes', () => {
  it('sync matches single-device BN to float rounding, other modes do not, and every algorithm agrees bitwise', async () => {
    const r = await compareModes({ devices: 4, shape: [16, 5, 3, 3], seed: 3 });
    expect(r.modes.map((m) => m.mode)).toEqual(['local', 'sync', 'group:2', 'ghost:2']);
    const byMode = Object.fromEntries(r.modes.map((m) => [m.mode, m]));
    expect(byMode.sync.max_abs_diff_output).toBeLessThan(1e-5);
    expect(byMode.sync.max_abs_diff_grad_input).toBeLessThan(1e-5);
    expect(byMode.local.max_abs_diff_output).toBeGreaterThan(1e-2);
    expect(byMode.local.messages).toBe(0);
    expect(byMode['ghost:2'].messages).toBe(0);
    // allgather, W = 4, forward and backward: 2 * 4 * 3 messages of 2C + 1 = 11 values.
    expect(byMode.sync.messages).toBe(24);
    expect(byMode.sync.bytes).toBe(24 * 11 * 8);
    for (const a of r.algorithms) {
      expect(a.identical_on_all_ranks).toBe(true);
      expect(a.max_abs_diff_output).toBeLessThan(1e-5);
    }
    expect(r.per_device).toHaveLength(4);
    expect(r.per_device.map((d) => d.count)).toEqual([36, 36, 36, 36]);
    expect(r.summary.rms_mean_shift_in_std).toBeGreaterThan(0);
  });

  it('the per-device statistics average back to the global ones', async () => {
    const r = await compareModes({ devices: 3, shape: [10, 4], seed: 5, modes: ['sync'] });
    const total = r.per_device.reduce((a, d) => a + d.count, 0);
    expect(total).toBe(r.global.count);
    for (let c = 0; c < 4; c++) {
      const mean = r.per_device.reduce((a, d) => a + d.count * d.mean[c], 0) / total;
      expect(mean).toBeCloseTo(r.global.mean[c], 10);
    }
  });

  it('chooses group and ghost sizes that make sense for W and the shard', () => {
    expect(defaultModes(8, 32, 16)).toEqual(['local', 'sync', 'group:2', 'ghost:2']);
    expect(defaultModes(9, 36, 1)).toEqual(['local', 'sync', 'group:3', 'ghost:2']);
    expect(defaultModes(7, 14, 1)).toEqual(['local', 'sync']);
    expect(defaultModes(1, 8, 1)).toEqual(['local', 'sync', 'ghost:4']);
  });
});

describe('syncbn-sim compare (the default command)', () => {
  it('runs with no arguments on the built-in batch and prints every table', () => {
    const r = runCli([]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/synthetic batch \(seed 0\) \[32,8,4,4\] float32 over 8 devices, 4 rows each/);
    for (const mode of ['local', 'sync', 'group:2', 'ghost:2']) expect(r.stdout).toContain(mode);
    for (const algorithm of ['ring', 'tree', 'recursive-doubling', 'allgather', 'central']) expect(r.stdout).toContain(algorithm);
  });

  it('--json gives the same data, and the same seed gives the same numbers', () => {
    const a = runCli(['compare', '--devices', '4', '--json']);
    const b = runCli(['compare', '--devices', '4', '--json']);
    expect(a.status).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const report = JSON.parse(a.stdout);
    expect(report.devices).toBe(4);
    expect(report.global.mean).toHaveLength(8);
    expect(report.modes.length).toBeGreaterThan(1);
  });

  it('runs on the user data given with --input', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x.npy'), encodeNpy(syntheticBatch([12, 3], 7, 'float64')));
    const r = runCli(['compare', '--input', join(dir, 'x.npy'), '--devices', '3', '--json']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout);
    expect(report.batch).toEqual({ shape: [12, 3], dtype: 'float64', source: 'input' });
  });

  it.each([
    [['--devices', '0'], /not a whole number >= 1/],
    [['--devices', '4', '--modes', 'group:3'], /K = 3 must divide the number of devices \(4\)/],
    [['--modes', 'everything'], /unknown mode 'everything'/],
    [['--shape', '4,0'], /dimension below 1/],
    [['--shape', '4,3,2'], /2-D \[N,C\] or 4-D/],
    [['--shape', '100000,1000,100,100'], /limited to/],
    [['--input', '/nonexistent/x.npy'], /cannot read file/],
    [['--seed', '-3'], /seed/],
    [['--devices', '8', '--shape', '8,3', '--modes', 'local'], /more than 1 value per channel/],
  ])('bad input %j: one line, exit 2', (args, message) => {
    const r = runCli(['compare', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
