/**
 * The cluster benchmark on a tiny batch, with real worker threads: every documented figure is
 * there and is a finite positive number, `bench --json` prints the keys it always has, and bad options are refused before anything starts.
 * No timing is asserted: a test never judges speed.
 */
import { Command, CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ALGORITHM_NAMES } from '../src/collectives/algorithms/index.js';
import { addBenchCommand } from '../src/cli/bench-command.js';
import { benchTables } from '../src/report/tables/bench-table.js';
import { parseShape } from '../src/cli/parse.js';
import { type ClusterBenchReport, benchmarkCluster } from '../src/experiments/bench.js';
import { type ClusterBenchJson, clusterBenchJson } from '../src/report/json/bench-json.js';
import { quantile } from '../src/summary-stats.js';
import { InputError } from '../src/errors.js';
import { CLUSTER_BENCH_KEYS, keyPaths } from './json-keys.js';

const TINY = {
  shape: [16, 4, 2, 2],
  devices: 2,
  reps: 2,
  allreduceReps: 5,
  startDevices: 4,
  startReps: 1,
  torch: false,
} as const;

function expectPositive(value: unknown, name: string): void {
  expect(typeof value, name).toBe('number');
  expect(Number.isFinite(value as number) && (value as number) > 0, `${name} = ${value}`).toBe(true);
}

function expectReportShape(r: ClusterBenchReport, devices: number, channels: number): void {
  for (const key of [
    'syncStepMs',
    'localStepMs',
    'singleStepMs',
    'singleKernelsStepMs',
    'syncOverLocal',
    'syncOverSingle',
    'syncOverSingleKernels',
    'allreduceUs',
    'probeMs',
  ] as const) {
    expectPositive(r[key], key);
  }
  expect(r.syncOverLocal).toBeCloseTo(r.syncStepMs / r.localStepMs, 12);
  expect(r.syncOverSingle).toBeCloseTo(r.syncStepMs / r.singleStepMs, 12);
  expect(r.allreduceValues).toBe(2 * channels + 1);
  expect(r.allreduce.map((a) => a.algorithm)).toEqual([...ALGORITHM_NAMES]);
  for (const a of r.allreduce) {
    for (const key of ['medianUs', 'p10Us', 'p90Us'] as const) expectPositive(a[key], `${a.algorithm} ${key}`);
    expect(a.p10Us).toBeLessThanOrEqual(a.medianUs);
    expect(a.medianUs).toBeLessThanOrEqual(a.p90Us);
  }
  expect(r.allreduceUs).toBe(r.allreduce.find((a) => a.algorithm === r.algorithm)!.medianUs);
  expect(r.devices).toBe(devices);
  expectPositive(r.startStop.startReadyCloseMs, 'startReadyCloseMs');
  expectPositive(r.startStop.startFirstStepCloseMs, 'startFirstStepCloseMs');
  expect(r.goals.length).toBeGreaterThanOrEqual(3);
  for (const g of r.goals) expect(g.met).toBe(g.figure <= g.goal);
}

describe('benchmarkCluster', () => {
  it('returns every documented figure as a finite positive number', async () => {
    const r = await benchmarkCluster(TINY);
    expectReportShape(r, 2, 4);
    expect(r.reps).toEqual({ steps: 2, allreduce: 5, start: 1 });
    expect(r.startStop.devices).toBe(4);
    expect(r.allreduce.every((a) => a.samples === 5)).toBe(true);
    expect(r.pytorch).toBeUndefined();
    expect(r.pytorchNote).toMatch(/not run/);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // plain data
    expect(keyPaths(clusterBenchJson(r))).toEqual(CLUSTER_BENCH_KEYS(false));
    expect(benchTables(r)).toMatch(/sync \/ local/);
  });

  it.each([
    [{ shape: [16, 4, 2] }, /2-D .* or 4-D/],
    [{ shape: [16, 0, 2, 2] }, /whole numbers >= 1/],
    [{ shape: [16.5, 4] }, /whole numbers >= 1/],
    [{ shape: [1, 4] }, /1 value per channel/],
    [{ devices: 0 }, /devices must be a whole number from 1 to 4096/],
    [{ devices: 4097 }, /devices/],
    [{ devices: 2.5 }, /devices/],
    [{ reps: 0 }, /reps/],
    [{ startDevices: 5000 }, /start devices/],
    [{ algorithm: 'butterfly' as never }, /unknown algorithm 'butterfly'/],
  ])('refuses %j with an InputError', async (bad, message) => {
    const run = benchmarkCluster({ ...TINY, ...bad });
    await expect(run).rejects.toBeInstanceOf(InputError);
    await expect(run).rejects.toThrow(message);
  });
});

describe('quantile', () => {
  it('interpolates between neighbours', () => {
    expect(quantile([4, 1, 3, 2], 0)).toBe(1);
    expect(quantile([4, 1, 3, 2], 1)).toBe(4);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([10, 20], 0.1)).toBeCloseTo(11, 12);
  });
});

describe('parseShape', () => {
  it('reads comma-separated dimensions', () => {
    expect(parseShape('64,64,32,32')).toEqual([64, 64, 32, 32]);
    expect(parseShape(' 8, 3 ')).toEqual([8, 3]);
  });
  it.each(['', '8,,3', '8,x', '8,-3', '8,3.5', '8,0'])('refuses %j', (value) => {
    expect(() => parseShape(value)).toThrow(/shape|dimension/);
  });
});

describe('bench command', () => {
  afterEach(() => vi.restoreAllMocks());

  function program(): Command {
    const p = new Command('syncbn-sim').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    addBenchCommand(p);
    return p;
  }
  const argv = (...args: string[]) => ['node', 'syncbn-sim', 'bench', ...args];

  it('prints one JSON object with the medians', async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    await program().parseAsync(
      argv(
        '--shape',
        '16,4,2,2',
        '--devices',
        '2',
        '--reps',
        '2',
        '--allreduce-reps',
        '5',
        '--start-devices',
        '4',
        '--no-torch',
        '--json',
      ),
    );
    vi.restoreAllMocks();
    const json = JSON.parse(out) as ClusterBenchJson;
    expect(keyPaths(json)).toEqual(CLUSTER_BENCH_KEYS(false));
    for (const key of [
      'sync_step_ms',
      'local_step_ms',
      'single_step_ms',
      'single_kernels_step_ms',
      'sync_over_local',
      'sync_over_single',
      'allreduce_us',
      'probe_ms',
    ] as const) {
      expectPositive(json[key], key);
    }
    expect(json.allreduce_values).toBe(9);
    expect(json.allreduce_us).toBe(json.allreduce.find((a) => a.algorithm === json.algorithm)!.median_us);
    expect(json.shape).toEqual([16, 4, 2, 2]);
    expect(json.pytorch_note).toMatch(/not run/);
  });

  it.each([
    [['--devices', 'many'], 'commander.invalidArgument'],
    [['--devices', '0'], 'commander.invalidArgument'],
    [['--shape', '16,x'], 'commander.invalidArgument'],
    [['--reps', '-1'], 'commander.invalidArgument'],
    [['--algorithm', 'butterfly'], 'commander.invalidArgument'],
  ])('refuses %j as bad usage', async (args, code) => {
    const run = program().parseAsync(argv(...args, '--no-torch'));
    await expect(run).rejects.toBeInstanceOf(CommanderError);
    await expect(run).rejects.toMatchObject({ code });
  });

  it.each([[['--shape', '16,4,2']], [['--devices', '5000']]])(
    'refuses %j with an InputError (exit 2)',
    async (args) => {
      await expect(program().parseAsync(argv(...args, '--no-torch'))).rejects.toBeInstanceOf(InputError);
    },
  );
});
