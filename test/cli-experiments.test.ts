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
