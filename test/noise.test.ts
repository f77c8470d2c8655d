/** `noise`: measured statistic noise against i.i.d. theory, and the command's outputs and failures. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noiseTable } from '../src/report/tables/noise-table.js';
import { InputError } from '../src/errors.js';
import { noiseExperiment } from '../src/experiments/noise.js';
import { NOISE_COLUMNS } from '../src/report/tables/noise-columns.js';
import { DISTRIBUTION_NAMES, distributionByName, varianceOfSampleVariance } from '../src/tensor/distributions.js';
import { encodeNpy } from '../src/tensor/npy.js';
import { SeededRandom } from '../src/tensor/random.js';
import { syntheticBatch } from '../src/tensor/synthetic.js';
import { CLI, runCli, tempDir } from './helpers.js';

describe('distributions', () => {
  it.each(DISTRIBUTION_NAMES)('%s: sampled moments match the stated mean, variance and mu4', (name) => {
    const d = distributionByName(name);
    const rng = new SeededRandom(7);
    const n = 200_000;
    const xs = Float64Array.from({ length: n }, () => d.sample(rng));
    const mean = xs.reduce((a, v) => a + v, 0) / n;
    const variance = xs.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
    const mu4 = xs.reduce((a, v) => a + (v - mean) ** 4, 0) / n;
    expect(mean).toBeCloseTo(d.mean, 2);
    expect(variance / d.variance).toBeCloseTo(1, 1);
    expect(mu4 / d.mu4).toBeGreaterThan(0.9);
    expect(mu4 / d.mu4).toBeLessThan(1.1);
  });

  it('the variance of a sample variance reduces to 2 s^4/(n-1) for normal data', () => {
    for (const n of [2, 5, 40]) expect(varianceOfSampleVariance(4, 3 * 16, n)).toBeCloseTo((2 * 16) / (n - 1), 12);
  });
});

describe('noiseExperiment', () => {
  it('normal data: measured / theory close to 1 for local, group and sync, and noise falls as 1/n', async () => {
    const r = await noiseExperiment({ batchSizes: [2, 8], devices: 4, trials: 120, seed: 1 });
    expect(r.rows.map((row) => `${row.batch}/${row.mode}`)).toEqual([
      '2/local',
      '2/group:2',
      '2/sync',
      '8/local',
      '8/group:2',
      '8/sync',
    ]);
    for (const row of r.rows) {
      expect(row.meanRatio, `${row.batch} ${row.mode} mean`).toBeGreaterThan(0.85);
      expect(row.meanRatio, `${row.batch} ${row.mode} mean`).toBeLessThan(1.15);
      expect(row.varRatio, `${row.batch} ${row.mode} var`).toBeGreaterThan(0.8);
      expect(row.varRatio, `${row.batch} ${row.mode} var`).toBeLessThan(1.2);
      expect(row.meanNoiseTheory).toBeCloseTo(1 / row.valuesPerUnit, 12);
    }
    const local2 = r.rows[0];
    const sync2 = r.rows[2];
    expect(local2.meanNoise / sync2.meanNoise).toBeGreaterThan(2.5); // 4x fewer values: about 4x the noise
    expect(sync2.meanVsBatchRatio).toBeNull();
    expect(sync2.varVsBatchRms).toBeLessThan(1e-10);
  });

  it('heavy tails: Laplace variance noise follows the fourth-moment theory, not the normal one', async () => {
    const r = await noiseExperiment({ batchSizes: [8], devices: 4, trials: 150, dist: 'laplace', seed: 2 });
    const local = r.rows.find((row) => row.mode === 'local')!;
    const normalTheory = 2 / (local.valuesPerUnit - 1);
    expect(local.varNoiseTheory).toBeGreaterThan(1.5 * normalTheory);
    expect(local.varRatio).toBeGreaterThan(0.8);
    expect(local.varRatio).toBeLessThan(1.2);
  });

  it('draws from a user array, whose own moments are the population', async () => {
    const x = syntheticBatch([500, 3], 3, 'float64');
    const r = await noiseExperiment({ batchSizes: [4], devices: 2, trials: 200, input: x, seed: 3 });
    expect(r.source).toEqual({ kind: 'input', shape: [500, 3] });
    for (const row of r.rows) {
      expect(row.meanRatio).toBeGreaterThan(0.8);
      expect(row.meanRatio).toBeLessThan(1.2);
    }
  });

  it('skips modes whose units hold one value per channel, and refuses bad options', async () => {
    const r = await noiseExperiment({ batchSizes: [1], devices: 2, trials: 2 });
    expect(r.rows.map((row) => row.mode)).toEqual(['sync']);
    await expect(noiseExperiment({ batchSizes: [], devices: 2 })).rejects.toThrow(/at least one/);
    await expect(noiseExperiment({ batchSizes: [0], devices: 2 })).rejects.toThrow(/>= 1/);
    await expect(noiseExperiment({ batchSizes: [2], devices: 6, group: 4 })).rejects.toThrow(/must divide/);
    await expect(noiseExperiment({ batchSizes: [1], devices: 1, trials: 1 })).rejects.toThrow(/one value per channel/);
  });
});

describe('noise: inputs with NaN or infinity, and what the table says', () => {
  it('an input holding NaN or infinity is refused naming the value and where, not as "constant"', async () => {
    const data = Float32Array.from({ length: 8 }, (_, i) => i * i);
    data[5] = NaN;
    const nan = noiseExperiment({ batchSizes: [2], devices: 2, trials: 1, input: { data, shape: [4, 2] } });
    await expect(nan).rejects.toThrow(InputError);
    await expect(nan).rejects.toThrow('input holds NaN at flat index 5 [2,1]: noise needs finite values');
    const inf = Float64Array.from({ length: 16 }, (_, i) => i);
    inf[13] = -Infinity;
    await expect(
      noiseExperiment({ batchSizes: [2], devices: 2, trials: 1, input: { data: inf, shape: [2, 2, 2, 2] } }),
    ).rejects.toThrow('input holds -infinity at flat index 13 [1,1,0,1]');
  });

  it('the table footer says what every column is', async () => {
    const r = await noiseExperiment({ batchSizes: [2], devices: 4, trials: 3 });
    const text = noiseTable(r);
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('b  '))!;
    const columns = header.trim().split(/\s{2,}/);
    expect(columns).toEqual(NOISE_COLUMNS.map((c) => c.header));
    const footer = lines.slice(lines.indexOf('Columns:') + 1);
    expect(footer).toHaveLength(columns.length);
    columns.forEach((column, i) => {
      expect(footer[i].trim().startsWith(column)).toBe(true);
      expect(footer[i].trim().length).toBeGreaterThan(column.length + 10);
    });
    expect(text).toMatch(
      /vs batch mean: ratio\s+measured Var\(unit mean - whole-batch mean\) divided by its i\.i\.d\. theory s\^2 \(1\/n - 1\/N\)/,
    );
  });

  it('with --stats shifted-sums it says the shift is 0 (results exactly those of sums)', async () => {
    const shifted = await noiseExperiment({ batchSizes: [2], devices: 2, trials: 3, stats: 'shifted-sums', seed: 4 });
    const sums = await noiseExperiment({ batchSizes: [2], devices: 2, trials: 3, stats: 'sums', seed: 4 });
    expect(shifted.shift).toMatchObject({ by: 'the running mean', value: 0 });
    expect(sums.shift).toBeUndefined();
    expect(shifted.rows).toEqual(sums.rows);
    expect(noiseTable(shifted)).toMatch(
      /note: shifted-sums shifts by the running mean, which stays 0 here .*exactly those of sums/,
    );
  });
});

describe('syncbn-sim noise', () => {
  it('--help says what every column of the table is', () => {
    const r = runCli(['noise', '--help']);
    expect(r.status).toBe(0);
    for (const c of NOISE_COLUMNS) expect(r.stdout).toContain(`${c.header.padEnd(22)}  ${c.meaning}`);
  });

  it('--input with NaN: one line naming it and where, exit 2', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'nan.npy'),
      encodeNpy({ data: Float32Array.from({ length: 8 }, (_, i) => (i === 5 ? NaN : i * i)), shape: [4, 2] }),
    );
    const r = runCli(['noise', '--input', join(dir, 'nan.npy'), '--trials', '2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('syncbn-sim: error: input holds NaN at flat index 5 [2,1]: noise needs finite values\n');
  });

  it('--json rows carry batch, mode, mean_ratio and var_ratio; --csv and --plot work', () => {
    const dir = tempDir();
    const plot = join(dir, 'noise.svg');
    const r = runCli(['noise', '--batch-sizes', '2,4', '--devices', '2', '--trials', '5', '--json', '--plot', plot]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.rows[0]).toMatchObject({ batch: 2, mode: 'local' });
    expect(typeof report.rows[0].mean_ratio).toBe('number');
    expect(typeof report.rows[0].var_ratio).toBe('number');
    expect(readFileSync(plot, 'utf8')).toMatch(/^<svg/);
    expect(JSON.parse(readFileSync(join(dir, 'noise.vl.json'), 'utf8')).$schema).toMatch(/vega-lite/);
    const csv = runCli(['noise', '--batch-sizes', '2', '--devices', '2', '--trials', '3', '--csv']);
    expect(csv.stdout.split('\n')[0]).toMatch(/^batch,mode,values_per_unit,mean_ratio,var_ratio/);
  });

  it.each([
    [['--batch-sizes', ''], /empty/],
    [['--batch-sizes', '2,0'], /'0' is not a whole number >= 1/],
    [['--batch-sizes', '2,x'], /'x'/],
    [['--devices', '6', '--group', '4'], /K = 4 must divide/],
    [['--dist', 'cauchy'], /cauchy/],
    [['--input', '/nonexistent.npy'], /cannot read file/],
    [['--plot', 'out.png'], /\.svg/],
  ])('bad input %j: one line, exit 2', (args, message) => {
    const r = runCli(['noise', '--trials', '2', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a file that is not usable as a population', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'const.npy'), encodeNpy({ data: new Float32Array(12).fill(1), shape: [6, 2] }));
    const r = runCli(['noise', '--input', join(dir, 'const.npy'), '--trials', '2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/channel 0 is constant/);
  });

  it('Ctrl-C stops a long run cleanly: exit 130, workers ended, no plot written', async () => {
    const dir = tempDir();
    const plot = join(dir, 'never.svg');
    const child = spawn(process.execPath, [CLI, 'noise', '--trials', '100000', '--plot', plot], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(existsSync(plot)).toBe(false);
  });
});
