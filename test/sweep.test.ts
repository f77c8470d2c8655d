/**
 * `sweep`: Student's t against closed forms and published tables, the sweep's summaries against
 * the runs it made (and against trainExperiment run on its own), resuming, Ctrl-C, and bad input.
 * Runs are tiny (the MLP, 64 examples, a few steps): the point is the bookkeeping, not accuracy.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { type SweepOptions, sweepExperiment } from '../src/experiments/sweep.js';
import { trainExperiment } from '../src/experiments/train.js';
import { sweepJson } from '../src/report/json/sweep-json.js';
import { sweepPlot } from '../src/report/plots/sweep-plot.js';
import { sweepTable } from '../src/report/tables/sweep-table.js';
import { meanCi95, studentTCdf, studentTQuantile } from '../src/summary-stats.js';
import { CLI, runMain, tempDir } from './helpers.js';

describe("Student's t", () => {
  it('matches the closed forms for 1 and 2 degrees of freedom', () => {
    for (const p of [0.6, 0.9, 0.975, 0.995]) {
      expect(studentTQuantile(p, 1)).toBeCloseTo(Math.tan(Math.PI * (p - 0.5)), 6);
      expect(studentTQuantile(p, 2)).toBeCloseTo((2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 8);
    }
    expect(studentTCdf(0, 7)).toBe(0.5);
    expect(studentTCdf(-studentTQuantile(0.975, 7), 7)).toBeCloseTo(0.025, 10);
  });

  it('matches published two-sided 95% critical values, and the normal 1.959964 for large df', () => {
    // Critical values t(0.975, df), as printed in standard tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
    const table: [number, number][] = [
      [3, 3.182],
      [4, 2.776],
      [5, 2.571],
      [9, 2.262],
      [10, 2.228],
      [19, 2.093],
      [29, 2.045],
      [30, 2.042],
      [60, 2.0],
      [100, 1.984],
    ];
    for (const [df, t] of table) expect(Math.abs(studentTQuantile(0.975, df) - t)).toBeLessThan(6e-4);
    expect(studentTQuantile(0.975, 1e7)).toBeCloseTo(1.959964, 5);
  });

  it('gives a mean and a half-width, none for one value', () => {
    const r = meanCi95([1, 2, 3, 4]);
    expect(r.mean).toBe(2.5);
    expect(r.ci95).toBeCloseTo((studentTQuantile(0.975, 3) * Math.sqrt(5 / 3)) / 2, 12);
    expect(meanCi95([0.7])).toEqual({ mean: 0.7, ci95: null });
    expect(meanCi95([0.5, 0.5, 0.5]).ci95).toBe(0);
  });
});

const TINY: SweepOptions = {
  perDeviceBatches: [2],
  bn: ['local', 'sync'],
  devices: [2],
  seeds: 2,
  steps: 3,
  model: 'mlp',
  subset: 64,
  preciseBatches: 1,
  jobs: 2,
};

describe('sweep', () => {
  it('summarizes each configuration over its seeds from the runs train makes, and resumes them', async () => {
    const dir = tempDir('syncbn-sweep-');
    const seen: string[] = [];
    const first = await sweepExperiment({
      ...TINY,
      resumeDir: dir,
      onRun: (r) => seen.push(`${r.config.bn}/${r.config.seed}/${r.reused}`),
    });
    expect(seen.sort()).toEqual(['local/0/false', 'local/1/false', 'sync/0/false', 'sync/1/false']);
    expect(first.trained).toBe(4);
    expect(first.rows.map((r) => [r.bn, r.norm, r.perDeviceBatch, r.devices, r.seeds])).toEqual([
      ['local', 'batch', 2, 2, 2],
      ['sync', 'batch', 2, 2, 2],
    ]);
    for (const row of first.rows) {
      const [a, b] = row.testAccBySeed as number[];
      expect(row.diverged).toBe(0);
      expect(row.testAccMean).toBeCloseTo((a + b) / 2, 15);
      expect(row.testAccCi95).toBeCloseTo(
        (studentTQuantile(0.975, 1) * Math.abs(a - b)) / Math.sqrt(2) / Math.sqrt(2),
        12,
      );
    }
    const [local, sync] = first.rows;
    expect(sync.gapVsSync).toBe(0);
    expect(local.gapVsSync).toBeCloseTo((local.testAccMean as number) - (sync.testAccMean as number), 15);

    // The sweep's run is train's run: the same final epoch, bit for bit.
    const alone = await trainExperiment({
      model: 'mlp',
      subset: 64,
      devices: 2,
      perDeviceBatches: [2],
      bn: ['sync'],
      steps: 3,
      seed: 1,
      preciseBatches: 1,
      threads: 1,
    });
    const finalEpoch = alone.runs[0].epochs[alone.runs[0].epochs.length - 1];
    expect(sync.testAccBySeed[1]).toBe(finalEpoch.testAcc);

    // Every run is on disk, whole; a second sweep reuses all of them and reports the same.
    expect(readdirSync(dir).sort()).toEqual([
      'run_batch_local_W2_b2_lr-none_seed0.json',
      'run_batch_local_W2_b2_lr-none_seed1.json',
      'run_batch_sync_W2_b2_lr-none_seed0.json',
      'run_batch_sync_W2_b2_lr-none_seed1.json',
    ]);
    const again = await sweepExperiment({ ...TINY, resumeDir: dir });
    expect(again.trained).toBe(0);
    expect(again.reused).toBe(4);
    expect(again.rows).toEqual(first.rows);

    // Runs of other settings are refused, naming what differs.
    await expect(sweepExperiment({ ...TINY, steps: 4, resumeDir: dir })).rejects.toThrow(
      /trained with other settings \(steps 3, now 4\)/,
    );
    writeFileSync(join(dir, 'run_batch_local_W2_b2_lr-none_seed0.json'), '{"version": 1, "sett');
    await expect(sweepExperiment({ ...TINY, resumeDir: dir })).rejects.toThrow(/not a sweep run file/);

    // The JSON keys the issue asks for, first and in its order; the plot has a band per mode.
    const json = sweepJson(first);
    expect(Object.keys(json.rows[0]).slice(0, 10)).toEqual([
      'bn',
      'norm',
      'per_device_batch',
      'devices',
      'seeds',
      'train_acc_mean',
      'train_acc_ci95',
      'test_acc_mean',
      'test_acc_ci95',
      'gap_vs_sync',
    ]);
    const spec = JSON.stringify(sweepPlot(first));
    expect(spec).toContain('"type":"area"');
    expect(spec).toContain('"bind":"legend"');
  });

  it('runs a normalization that does not use the batch once, whatever the BN modes, against sync batch norm', async () => {
    const r = await sweepExperiment({ ...TINY, norms: ['group-norm:2'], seeds: 1, steps: 1 });
    expect(r.trained).toBe(1);
    expect(r.rows.map((row) => [row.norm, row.bn, row.gapVsSync])).toEqual([['group-norm:2', 'none', null]]);
  });

  it.each([
    [{ seeds: 0 }, 'seeds must be a whole number from 1 to 100'],
    [{ epochs: 1 }, 'give a budget of --epochs or of --steps, not both'],
    [{ norms: ['batch', 'batch'] }, '--norm: a normalization is given twice'],
    [{ norms: ['frob'] }, 'frob'],
    [{ perDeviceBatches: [2, 2] }, 'per-device batch: a value is given twice'],
    [{ bn: ['sync', 'frob'] }, 'frob'],
    [{ perDeviceBatches: [] }, 'give at least one per-device batch size'],
  ] as [Partial<SweepOptions>, string][])('refuses %j before any run', async (change, message) => {
    let error: unknown;
    try {
      await sweepExperiment({ ...TINY, ...change });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(message);
  });
});

describe('sweep: a run that diverges is a result', () => {
  // lr 3000 diverges sync BN at b = 2 on 2 devices; the linear rule scales it to 3000 x 4 / 256.
  const STEEP: SweepOptions = {
    ...TINY,
    bn: ['sync'],
    lr: 3000,
    lrScaling: ['none', 'linear'],
    steps: undefined,
    epochs: 1,
  };

  it('is recorded, left out of the means, kept in the resume directory and reused', async () => {
    const dir = tempDir('syncbn-sweep-div-');
    const lines: string[] = [];
    const r = await sweepExperiment({
      ...STEEP,
      resumeDir: dir,
      onRun: (x) => lines.push(x.diverged ? 'diverged' : 'ran'),
    });
    const [none, linear] = r.rows;
    expect([none.lrScaling, none.diverged, none.testAccMean, none.testAccCi95, none.testAccBySeed]).toEqual([
      'none',
      2,
      null,
      null,
      [null, null],
    ]);
    expect(none.lr).toBe(3000);
    expect(none.gapVsSync).toBeNull();
    expect([linear.lrScaling, linear.diverged, linear.lr]).toEqual(['linear', 0, (3000 * 4) / 256]);
    expect(linear.testAccMean).toBeGreaterThan(0);
    expect(lines.filter((l) => l === 'diverged')).toHaveLength(2);
    const again = await sweepExperiment({ ...STEEP, resumeDir: dir });
    expect([again.trained, again.reused]).toEqual([0, 4]);
    expect(again.rows).toEqual(r.rows);
    // The JSON keeps the nulls and counts the diverged seeds; the plot leaves the row out and says so.
    const json = sweepJson(r);
    expect(json.rows[0]).toMatchObject({ test_acc_mean: null, diverged: 2, test_acc_by_seed: [null, null] });
    const table = sweepTable(r);
    expect(table).toMatch(
      /^sync\s+batch\s+2\s+2\s+none\s+2\s+diverged\s+diverged\s+diverged\s+diverged\s+-\s+2 of 2$/m,
    );
    expect(table).toContain('diverged: seeds whose loss or weights became NaN or infinite');
    const subtitle = (sweepPlot(r) as unknown as { title: { subtitle: string[] } }).title.subtitle;
    expect(subtitle.join(' ')).toContain('diverged seeds left out: sync b=2 W=2 none: 2 of 2');
  }, 60_000);

  it('some seeds diverged: the means are over the others', async () => {
    const dir = tempDir('syncbn-sweep-div-');
    // A diverged run file for seed 1, as a sweep writes one; seed 0 trains.
    const config = { bn: 'sync', norm: 'batch', perDeviceBatch: 2, devices: 2, lrScaling: 'none', seed: 1 };
    const settings = {
      model: 'mlp',
      dataset: 'synthetic',
      subset: 64,
      epochs: null,
      steps: 3,
      lr: 1,
      momentum: 0,
      weightDecay: 0,
      stats: 'sums',
      evalStats: 'rank0',
      preciseBatches: 1,
    };
    const diverged = { epoch: 1, step: 2, what: 'loss NaN', lr: 1 };
    writeFileSync(
      join(dir, 'run_batch_sync_W2_b2_lr-none_seed1.json'),
      JSON.stringify({ version: 1, settings, config, diverged }),
    );
    const r = await sweepExperiment({ ...TINY, bn: ['sync'], resumeDir: dir });
    expect([r.trained, r.reused]).toEqual([1, 1]);
    const [row] = r.rows;
    expect(row.diverged).toBe(1);
    const [first, second] = row.testAccBySeed;
    expect(second).toBeNull();
    expect(row.testAccMean).toBe(first);
    expect(row.testAccCi95).toBeNull();
  }, 60_000);
});

describe('CLI: sweep', () => {
  it('stops cleanly on Ctrl-C, keeping the finished runs, and the same command goes on from there', async () => {
    const dir = tempDir('syncbn-sweep-cli-');
    const args = [
      CLI,
      'sweep',
      '--model',
      'mlp',
      '--subset',
      '64',
      '--per-device-batch',
      '2',
      '--devices',
      '2',
      '--bn',
      'local,sync',
      '--seeds',
      '6',
      '--steps',
      '40',
      '--precise-batches',
      '1',
      '--jobs',
      '1',
      '--resume',
      dir,
    ];
    const child = spawn(process.execPath, args, { env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Interrupt once the first run is on disk (polling a fact, not a time).
    while (readdirSync(dir).filter((f) => f.endsWith('.json')).length === 0)
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const files = readdirSync(dir);
    expect(files.every((f) => f.startsWith('run_') && f.endsWith('.json'))).toBe(true);
    expect(files.length).toBeGreaterThan(0);
    expect(files.length).toBeLessThan(12);
    for (const f of files) expect(JSON.parse(readFileSync(join(dir, f), 'utf8')).run.epochs.length).toBeGreaterThan(0);
    expect(stderr).toContain(`runs finished in this sweep are kept in ${dir}; the same command goes on from there`);
    expect(stderr).toContain('interrupted');

    // Going on: only the first seeds are needed to see the reuse (a smaller grid over the same files).
    // With one job, local seed 0 is the first run to finish.
    expect(files).toContain('run_batch_local_W2_b2_lr-none_seed0.json');
    const r = await runMain([
      'sweep',
      '--model',
      'mlp',
      '--subset',
      '64',
      '--per-device-batch',
      '2',
      '--devices',
      '2',
      '--bn',
      'local',
      '--seeds',
      '1',
      '--steps',
      '40',
      '--precise-batches',
      '1',
      '--resume',
      dir,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('run 1/1 (reused): local W=2 b=2 lr-scaling none seed 0');
    expect(r.stdout).toContain('0 runs trained, 1 reused from the resume directory');
    expect(existsSync(dir)).toBe(true);
  });

  it.each([
    [['sweep', '--epochs', '1', '--steps', '2'], "option '--epochs <E>' cannot be used with option '--steps <S>'"],
    [['sweep', '--lr-scaling', 'cubic'], "--lr-scaling must be none or linear, got 'cubic'"],
    [['sweep', '--per-device-batch', '0'], "--per-device-batch: '0' is not a whole number >= 1"],
    [['sweep', '--seeds', '0'], "'0' is not a whole number >= 1"],
    [['sweep', '--data-dir', '/tmp'], '--data-dir is for --dataset fashion-mnist'],
    [['sweep', '--steps', '1', '--resume', CLI], 'not a directory'],
  ])('exits 2 with one line: %j', async (args, message) => {
    const r = await runMain(args);
    expect(r.stderr).toContain(message);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
