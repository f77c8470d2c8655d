/** The experiment commands end to end through the built CLI: flags and JSON that scripts rely on. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

describe('syncbn-sim cost', () => {
  it('--devices 8,64,1024 --json prints rows of devices, algorithm and seconds', () => {
    const r = runCli(['cost', '--devices', '8,64,1024', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(new Set(report.rows.map((row: { devices: number }) => row.devices))).toEqual(new Set([8, 64, 1024]));
    for (const row of report.rows) {
      expect(typeof row.algorithm).toBe('string');
      expect(row.seconds).toBeGreaterThan(0);
    }
  });

  it('prints a table by default, CSV on request, and a plot with its spec', () => {
    const dir = tempDir();
    const table = runCli(['cost', '--devices', '2,8', '--plot', join(dir, 'cost.svg')]);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/recursive-doubling/);
    expect(readFileSync(join(dir, 'cost.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(dir, 'cost.vl.json'), 'utf8')).toMatch(/vega-lite/);
    const csv = runCli(['cost', '--devices', '8', '--csv']);
    expect(csv.stdout.split('\n')[0]).toMatch(/^devices,algorithm,seconds/);
  });

  it.each([
    [['--devices', ''], /--devices: empty list/],
    [['--devices', '8,x'], /'x'/],
    [['--link', 'carrier-pigeon'], /unknown link/],
    [['--alpha', '-1'], /alpha/],
    [['--channels', ''], /channels/],
  ])('bad input %j: one line, exit 2', (args, message) => {
    const r = runCli(['cost', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('syncbn-sim precision', () => {
  it('--offset --scale --dtype --json prints rows of method, rel_error and negative_count', () => {
    const r = runCli([
      'precision',
      '--offset',
      '1e6',
      '--scale',
      '1',
      '--dtype',
      'float32',
      '--devices',
      '4',
      '--trials',
      '1',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout).rows as { method: string; rel_error: number; negative_count: number }[];
    expect(rows.map((row) => row.method).sort()).toEqual([
      'pytorch-roundtrip',
      'shifted-sums',
      'sums-float32',
      'sums-float64',
      'two-pass',
      'welford',
    ]);
    const byMethod = Object.fromEntries(rows.map((row) => [row.method, row]));
    // Where E[x^2] - E[x]^2 breaks and where the stable methods stay exact.
    expect(byMethod['sums-float32'].rel_error).toBeGreaterThan(1);
    expect(byMethod['two-pass'].rel_error).toBeLessThan(1e-6);
    expect(byMethod.welford.rel_error).toBeLessThan(1e-6);
    expect(typeof byMethod['sums-float32'].negative_count).toBe('number');
  });

  it.each([
    [['--scale', '0'], /--scale must be a number > 0/],
    [['--rows', '1'], /rows/],
    [['--methods', 'welford,magic'], /unknown method 'magic'/],
    [['--dtype', 'float8'], /--dtype must be float32, float64, float16 or bfloat16, got 'float8'/],
  ])('bad input %j: one line, exit 2', (args, message) => {
    const r = runCli(['precision', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
