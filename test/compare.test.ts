/** `compare`, the default command: the report's invariants, and the CLI on good and bad input. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchNorm } from '../src/bn/batch-norm.js';
import { type CompareReport, compareModes, defaultModes } from '../src/experiments/compare.js';
import { compareTables, describeMode } from '../src/report/tables/compare-table.js';
import { encodeNpy } from '../src/tensor/npy.js';
import { syntheticBatch, syntheticGradient } from '../src/tensor/synthetic.js';
import { runCli, tempDir } from './helpers.js';

describe('compareModes', () => {
  it('sync matches single-device BN to float rounding, other modes do not, and every algorithm agrees bitwise', async () => {
    const r = await compareModes({ devices: 4, shape: [16, 5, 3, 3], seed: 3 });
    expect(r.modes.map((m) => m.mode)).toEqual(['local', 'sync', 'group:2', 'ghost:2']);
    const byMode = Object.fromEntries(r.modes.map((m) => [m.mode, m]));
    expect(byMode.sync.maxAbsDiffOutput).toBeLessThan(1e-5);
    expect(byMode.sync.maxAbsDiffGradInput).toBeLessThan(1e-5);
    expect(byMode.local.maxAbsDiffOutput).toBeGreaterThan(1e-2);
    expect(byMode.local.messages).toBe(0);
    expect(byMode['ghost:2'].messages).toBe(0);
    // allgather, W = 4, forward and backward: 2 * 4 * 3 messages of 2C + 1 = 11 values.
    expect(byMode.sync.messages).toBe(24);
    expect(byMode.sync.bytes).toBe(24 * 11 * 8);
    for (const a of r.algorithms) {
      expect(a.identicalOnAllRanks).toBe(true);
      expect(a.maxAbsDiffOutput).toBeLessThan(1e-5);
    }
    expect(r.perDevice).toHaveLength(4);
    expect(r.perDevice.map((d) => d.count)).toEqual([36, 36, 36, 36]);
    expect(r.summary.rmsMeanShiftInStd).toBeGreaterThan(0);
  });

  it('the per-device statistics average back to the global ones', async () => {
    const r = await compareModes({ devices: 3, shape: [10, 4], seed: 5, modes: ['sync'] });
    const total = r.perDevice.reduce((a, d) => a + d.count, 0);
    expect(total).toBe(r.global.count);
    for (let c = 0; c < 4; c++) {
      const mean = r.perDevice.reduce((a, d) => a + d.count * d.mean[c], 0) / total;
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

describe('compareModes: figures that can be judged', () => {
  const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

  it('gives each difference relative to the scale of the single-device array, and the settings used', async () => {
    const x = syntheticBatch([12, 3, 2, 2], 9, 'float64');
    const dy = syntheticGradient(x.shape, 10, 'float64');
    const r = await compareModes({ input: x, gradOutput: dy, devices: 3, modes: ['local', 'sync'] });
    const single = batchNorm(x, { gradOutput: dy });
    expect(r.scale.output).toBe(maxAbs(single.output.data));
    expect(r.scale.gradInput).toBe(maxAbs(single.gradInput!.data));
    expect(r.scale.gradWeight).toBe(maxAbs(single.gradWeight!));
    for (const m of r.modes) {
      expect(m.relDiffOutput).toBe(m.maxAbsDiffOutput / r.scale.output);
      expect(m.relDiffGradInput).toBe(m.maxAbsDiffGradInput / r.scale.gradInput);
      expect(m.relDiffGradWeight).toBe(m.maxAbsDiffGradWeight / r.scale.gradWeight);
    }
    expect(r.modes[1].relDiffGradWeight!).toBeLessThan(1e-12);
    expect(r.modes[0].relDiffOutput!).toBeGreaterThan(1e-3);
    expect(r.gradOutput).toEqual({ source: 'input' });
    expect(r.settings).toEqual({ eps: 1e-5, accumulator: 'float64', algorithm: 'allgather', momentum: 0 });
  });

  it('uses the gradient given: grad gamma equals single-device BN with that gradient', async () => {
    const x = syntheticBatch([8, 2], 1, 'float64');
    const dy = { data: Float64Array.from({ length: 16 }, (_, i) => (i % 3) - 1), shape: [8, 2] };
    const r = await compareModes({ input: x, gradOutput: dy, devices: 2, modes: ['sync'] });
    expect(r.scale.gradWeight).toBe(maxAbs(batchNorm(x, { gradOutput: dy }).gradWeight!));
    const synthetic = await compareModes({ input: x, devices: 2, modes: ['sync'] });
    expect(synthetic.scale.gradWeight).not.toBe(r.scale.gradWeight);
    await expect(
      compareModes({ input: x, gradOutput: { data: new Float32Array(16), shape: [8, 2] }, devices: 2 }),
    ).rejects.toThrow(/grad output must have the input's dtype/);
    await expect(
      compareModes({ input: x, gradOutput: { data: new Float64Array(8), shape: [4, 2] }, devices: 2 }),
    ).rejects.toThrow(/grad output must have the input's shape/);
  });

  it("prints the i.i.d. expectation of the device means' stray beside the measured one", async () => {
    // 10 rows over 4 devices: 3, 3, 2, 2 rows of 4 values; N = 40.
    const r = await compareModes({ shape: [10, 3, 2, 2], devices: 4, modes: ['sync'] });
    const N = 40;
    const expected = Math.sqrt(([12, 12, 8, 8].reduce((a, n) => a + (1 / n - 1 / N), 0) / 4) * (N / (N - 1)));
    expect(r.summary.iidRmsMeanShiftInStd).toBeCloseTo(expected, 14);
    // Random-looking synthetic data strays about as i.i.d. values would.
    expect(r.summary.rmsMeanShiftInStd / expected).toBeGreaterThan(0.3);
    expect(r.summary.rmsMeanShiftInStd / expected).toBeLessThan(3);
  });

  it('with shifted-sums the shift is the zero running mean: it says so, and the rows are those of sums', async () => {
    const shifted = await compareModes({ shape: [8, 2, 2, 2], devices: 2, stats: 'shifted-sums', seed: 2 });
    const sums = await compareModes({ shape: [8, 2, 2, 2], devices: 2, stats: 'sums', seed: 2 });
    expect(shifted.settings.shift).toMatchObject({ by: 'the running mean', value: 0 });
    expect(sums.settings.shift).toBeUndefined();
    expect(shifted.modes).toEqual(sums.modes);
    expect(compareTables(shifted, 2)).toMatch(
      /^note: shifted-sums shifts by the running mean, which is 0 in every row here/m,
    );
  });

  it('says how many rows each normalizing unit holds: exactly when they are equal, as a range when not', () => {
    const report = (rows: number, devices: number) => ({ devices, batch: { shape: [rows, 2] } }) as CompareReport;
    const even = report(32, 8);
    expect(describeMode('local', even)).toBe("each device's own shard (4 rows)");
    expect(describeMode('group:2', even)).toBe('groups of 2 devices (8 rows)');
    expect(describeMode('ghost:3', even)).toBe('chunks of 3 rows within each shard (the last of a shard smaller)');
    expect(describeMode('ghost:2', even)).toBe('chunks of 2 rows within each shard');
    const uneven = report(10, 4);
    expect(describeMode('local', uneven)).toBe("each device's own shard (2 to 3 rows)");
    expect(describeMode('group:2', uneven)).toBe('groups of 2 devices (4 to 6 rows)');
    expect(describeMode('sync', uneven)).toBe('the whole batch (10 rows)');
  });
});

describe('syncbn-sim compare (the default command)', () => {
  it('runs with no arguments on the built-in batch and prints every table', () => {
    const r = runCli([]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/synthetic batch \(seed 0\) \[32,8,4,4\] float32 over 8 devices, 4 rows each/);
    for (const mode of ['local', 'sync', 'group:2', 'ghost:2']) expect(r.stdout).toContain(mode);
    for (const algorithm of ['ring', 'tree', 'recursive-doubling', 'allgather', 'central'])
      expect(r.stdout).toContain(algorithm);
    expect(r.stdout).toMatch(/group:2 +groups of 2 devices \(8 rows\)/);
    expect(r.stdout).toMatch(/max \|diff\| output +rel +max \|diff\| grad input +rel +max \|diff\| grad gamma +rel/);
    expect(r.stdout).toMatch(/i\.i\.d\. values would stray by \d/);
    expect(r.stdout).toMatch(
      /^rel: max \|diff\| divided by the scale of the single-device array, max \|value\| over it: /m,
    );
    expect(r.stdout).toMatch(/^i\.i\.d\. stray: .*sqrt\(\(1\/n - 1\/N\) N\/\(N-1\)\)/m);
  });

  it('--grad-output FILE with --input uses that gradient', () => {
    const dir = tempDir();
    const x = syntheticBatch([8, 2], 4, 'float32');
    const dy = syntheticGradient(x.shape, 99, 'float32');
    writeFileSync(join(dir, 'x.npy'), encodeNpy(x));
    writeFileSync(join(dir, 'dy.npy'), encodeNpy(dy));
    const r = runCli([
      'compare',
      '--input',
      join(dir, 'x.npy'),
      '--grad-output',
      join(dir, 'dy.npy'),
      '--devices',
      '2',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout);
    expect(report.grad_output).toEqual({ source: 'input' });
    const gradGamma = batchNorm(x, { gradOutput: dy }).gradWeight!;
    expect(report.scale.grad_weight).toBeCloseTo(Math.max(...Array.from(gradGamma, Math.abs)), 6);
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
