/**
 * The precision experiment: PyTorch's mean/invstd round trip on hand-sized cases, the sweep's
 * invariants on the real cluster (small batches, 4 devices), bad input, Ctrl-C, and the CLI
 * command in-process.
 */
import { Command } from 'commander';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { addPrecisionCommand } from '../src/cli/precision-command.js';
import { type PrecisionJson, precisionRowJson } from '../src/report/json/precision-json.js';
import { formatError, precisionTable } from '../src/report/tables/precision-table.js';
import {
  pytorchRoundTrip,
  torchBatchNormStats,
  torchGatherStatsWithCounts,
  torchNormalize,
} from '../src/bn/pytorch-roundtrip.js';
import { shardRows } from '../src/tensor/sharding.js';
import { InputError } from '../src/errors.js';
import { InterruptedError } from '../src/experiments/interrupt.js';
import {
  DEFAULT_RATIOS,
  PRECISION_METHODS,
  type PrecisionReport,
  type PrecisionRow,
  exactMoments,
  precisionExperiment,
} from '../src/experiments/precision.js';
import { renderSvg } from '../src/report/plot.js';
import { precisionPlot } from '../src/report/plots/precision-plot.js';
import { SeededRandom } from '../src/tensor/random.js';

const ROW_FIELDS = [
  'method',
  'dtype',
  'ratio',
  'offset',
  'scale',
  'rel_error',
  'median_rel_error',
  'negative_count',
  'nan_count',
  'channel_trials',
  'constant_channels',
  'output_max_abs_error',
  'rounds',
  'values_per_allreduce',
  'values_formula',
  'bytes_per_device',
];

/** Biased variance and mean of plain numbers, in float64 (fine for the well-conditioned cases here). */
function moments(values: readonly number[]): { mean: number; var: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, var: values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length };
}

function normalData(
  n: number,
  offset: number,
  scale: number,
  seed: number,
  float32: boolean,
): Float32Array | Float64Array {
  const rng = new SeededRandom(seed);
  const out = float32 ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + scale * rng.normal();
  return out;
}

const shardsOf = (rows: number, devices: number) =>
  Array.from({ length: devices }, (_, r) => shardRows(rows, devices, r));

describe('pytorch round trip (mean, invstd, count all-gathered)', () => {
  it('merges two devices to the whole batch when var >> eps (float64)', () => {
    // Two channels, [N=8, C=2]: channel 0 is 1..8, channel 1 is 10, 20, ..., 80.
    const x = new Float64Array(16);
    for (let r = 0; r < 8; r++) {
      x[2 * r] = r + 1;
      x[2 * r + 1] = 10 * (r + 1);
    }
    const rt = pytorchRoundTrip(
      x,
      { rows: 8, channels: 2, inner: 1 },
      [
        [0, 4],
        [4, 8],
      ],
      1e-5,
    );
    expect(rt.count).toBe(8);
    expect(rt.mean[0]).toBeCloseTo(4.5, 14);
    expect(rt.mean[1]).toBeCloseTo(45, 12);
    expect(Math.abs(rt.var[0] - 5.25) / 5.25).toBeLessThan(1e-13);
    expect(Math.abs(rt.var[1] - 525) / 525).toBeLessThan(1e-13);
    expect(rt.invstd[0]).toBeCloseTo(1 / Math.sqrt(5.25 + 1e-5), 13);
    expect(rt.devices.map((d) => d.count)).toEqual([4, 4]);
    // Each device's invstd is 1/sqrt(var + eps) of its own half.
    expect(rt.devices[0].mean[0]).toBeCloseTo(2.5, 14);
    expect(rt.devices[0].invstd[0]).toBeCloseTo(1 / Math.sqrt(1.25 + 1e-5), 13);
  });

  it('matches the direct merge formula on hand-made gathered stats', () => {
    const eps = 1e-3;
    const devices = [
      { count: 3, mean: 2, var: 0.5 },
      { count: 5, mean: -1, var: 4 },
      { count: 2, mean: 7, var: 1e-2 },
    ];
    const gathered = devices.map((d) => ({
      count: d.count,
      mean: Float64Array.of(d.mean),
      invstd: Float64Array.of(1 / Math.sqrt(d.var + eps)),
    }));
    const got = torchGatherStatsWithCounts(gathered, eps, 'float64');
    const n = devices.reduce((a, d) => a + d.count, 0);
    const mean = devices.reduce((a, d) => a + d.count * d.mean, 0) / n;
    const variance = devices.reduce((a, d) => a + d.count * (d.var + (d.mean - mean) ** 2), 0) / n;
    expect(got.count).toBe(10);
    expect(got.mean[0]).toBeCloseTo(mean, 13);
    expect(Math.abs(got.var[0] - variance) / variance).toBeLessThan(1e-13);
    expect(got.invstd[0]).toBeCloseTo(1 / Math.sqrt(variance + eps), 12);
  });

  it('skips empty shards, as PyTorch masks counts below 1', () => {
    const x = normalData(6 * 3, 2, 3, 1, false);
    const layout = { rows: 6, channels: 3, inner: 1 };
    const withEmpty = pytorchRoundTrip(
      x,
      layout,
      [
        [0, 3],
        [3, 3],
        [3, 6],
      ],
      1e-5,
    );
    const without = pytorchRoundTrip(
      x,
      layout,
      [
        [0, 3],
        [3, 6],
      ],
      1e-5,
    );
    expect(Array.from(withEmpty.mean)).toEqual(Array.from(without.mean));
    expect(Array.from(withEmpty.var)).toEqual(Array.from(without.var));
    expect(withEmpty.count).toBe(6);
  });

  it('loses the variance in eps when var << eps in float32, not in float64', () => {
    // std 1e-4: var 1e-8, a thousandth of eps; |mean|/std = 1e4 would blur the effect, so mean 0.
    const rows = 64;
    const layout = { rows, channels: 1, inner: 1 };
    const x32 = normalData(rows, 0, 1e-4, 3, true);
    const x64 = Float64Array.from(x32);
    const ref = moments(Array.from(x64)).var;
    const rel = (v: number) => Math.abs(v - ref) / ref;
    const e32 = rel(pytorchRoundTrip(x32, layout, shardsOf(rows, 4), 1e-5).var[0]);
    const e64 = rel(pytorchRoundTrip(x64, layout, shardsOf(rows, 4), 1e-5).var[0]);
    // The round trip costs up to about 2u (1 + eps/var): u = 6e-8 gives up to ~1e-4 in float32.
    expect(e32).toBeGreaterThan(1e-6);
    expect(e32).toBeLessThan(1e-2);
    expect(e64).toBeLessThan(1e-11);
    // With var >> eps (std 1) float32 is back to its usual ~1e-7.
    const wide = normalData(rows, 0, 1, 3, true);
    const refWide = moments(Array.from(wide)).var;
    expect(Math.abs(pytorchRoundTrip(wide, layout, shardsOf(rows, 4), 1e-5).var[0] - refWide) / refWide).toBeLessThan(
      1e-5,
    );
  });

  it('rounds every float32 result to float32, as the float kernels do', () => {
    const x = normalData(40 * 2, 1e3, 1, 4, true);
    const layout = { rows: 40, channels: 2, inner: 1 };
    const local = torchBatchNormStats(x, layout, 1e-5);
    const merged = pytorchRoundTrip(x, layout, shardsOf(40, 3), 1e-5);
    for (const v of [...local.mean, ...local.invstd, ...merged.mean, ...merged.var, ...merged.invstd])
      expect(Math.fround(v)).toBe(v);
    const y = new Float32Array(x.length);
    torchNormalize(x, layout, merged.mean, merged.invstd, y);
    const ref = exactMoments(x, layout);
    for (let i = 0; i < x.length; i++)
      expect(y[i]).toBeCloseTo((x[i] - ref.mean[i % 2]) / Math.sqrt(ref.var[i % 2] + 1e-5), 2);
  });

  it('a constant batch comes back with a var within float32 rounding of 0 (possibly negative)', () => {
    const x = new Float32Array(16).fill(1e8);
    const rt = pytorchRoundTrip(x, { rows: 16, channels: 1, inner: 1 }, shardsOf(16, 2), 1e-5);
    expect(Math.abs(rt.var[0])).toBeLessThan(1e-10);
    expect(rt.var[0]).toBeLessThan(0); // 1/invstd^2 - eps rounds below zero here
    expect(Math.abs(rt.devices[0].invstd[0] - 1 / Math.sqrt(1e-5))).toBeLessThan(1e-4);
  });

  it('merges equal float32 means inexactly: n*f*avg + count*f*m is not avg when f = 1/(n+count) rounds', () => {
    // A constant batch of 1e8 (float32 spacing 8) over 8 devices: every device says mean 1e8, var 0.
    const x = new Float32Array(256).fill(1e8);
    const rt = pytorchRoundTrip(x, { rows: 256, channels: 1, inner: 1 }, shardsOf(256, 8), 1e-5);
    expect(rt.devices.every((d) => d.mean[0] === 1e8)).toBe(true);
    expect(rt.mean[0]).toBe(1e8 + 8); // one float32 step off
    expect(rt.var[0]).toBeGreaterThan(1); // the step, squared and weighted, becomes variance
    // In float64 the same merge is exact.
    const rt64 = pytorchRoundTrip(Float64Array.from(x), { rows: 256, channels: 1, inner: 1 }, shardsOf(256, 8), 1e-5);
    expect(rt64.mean[0]).toBe(1e8);
    expect(Math.abs(rt64.var[0])).toBeLessThan(1e-15);
  });
});

describe('exactMoments', () => {
  it('is exact on an ill-conditioned float64 case where E[x^2] - E[x]^2 fails', () => {
    const x = Float64Array.of(1e12, 1e12 + 1, 1e12 + 2, 1e12 + 3);
    const m = exactMoments(x, { rows: 4, channels: 1, inner: 1 });
    expect(m.mean[0]).toBe(1e12 + 1.5);
    expect(m.var[0]).toBe(1.25);
  });
});

describe('precisionExperiment on the cluster (small sweep, 4 devices)', () => {
  const C = 4;
  const W = 4;
  const T = 2;
  let report: PrecisionReport;
  const progress: [number, number][] = [];
  beforeAll(async () => {
    report = await precisionExperiment({
      rows: 64,
      channels: C,
      devices: W,
      trials: T,
      seed: 7,
      onProgress: (d, t) => progress.push([d, t]),
    });
  });
  const row = (method: string, dtype: string, ratio: number): PrecisionRow =>
    report.rows.find((r) => r.method === method && r.dtype === dtype && r.ratio === ratio)!;
  const firstBreak = (method: string, dtype: string) =>
    DEFAULT_RATIOS.find((ratio) => {
      const r = row(method, dtype, ratio);
      return !(r.relError <= 1e-3) || r.negativeCount > 0;
    }) ?? Infinity;

  it('has a row with the documented fields for every method, dtype and ratio', () => {
    expect(report.rows).toHaveLength(PRECISION_METHODS.length * 2 * DEFAULT_RATIOS.length);
    for (const r of report.rows) {
      expect(Object.keys(precisionRowJson(r)).sort()).toEqual([...ROW_FIELDS].sort());
      expect(r.channelTrials).toBe(C * T);
      expect(r.nanCount).toBe(0);
      expect(Number.isFinite(r.relError)).toBe(true);
      expect(r.medianRelError).toBeLessThanOrEqual(r.relError);
    }
    expect(report.settings).toMatchObject({
      rows: 64,
      channels: C,
      devices: W,
      trials: T,
      seed: 7,
      offset: null,
      algorithm: 'allgather',
    });
    expect(JSON.parse(JSON.stringify(report))).toEqual(report); // plain data
    expect(progress.at(-1)).toEqual([
      PRECISION_METHODS.length * 2 * DEFAULT_RATIOS.length * T,
      PRECISION_METHODS.length * 2 * DEFAULT_RATIOS.length * T,
    ]);
  });

  it('two-pass, welford and shifted sums stay within 1e-6 in float64 at |mean|/std = 1e8', () => {
    for (const m of ['two-pass', 'welford', 'shifted-sums']) {
      const r = row(m, 'float64', 1e8);
      expect(r.relError, m).toBeLessThanOrEqual(1e-6);
      expect(r.negativeCount, m).toBe(0);
      expect(r.outputMaxAbsError, m).toBeLessThan(1e-6);
    }
  });

  it('E[x^2] - E[x]^2 breaks at high ratio with float64 sums, and much earlier with float32 sums', () => {
    const r = row('sums-float64', 'float64', 1e8);
    expect(r.relError > 1e-3 || r.negativeCount > 0).toBe(true);
    expect(row('sums-float64', 'float64', 1).relError).toBeLessThan(1e-12);
    const f32 = firstBreak('sums-float32', 'float64');
    const f64 = firstBreak('sums-float64', 'float64');
    expect(f32).toBeLessThanOrEqual(1e4);
    expect(f64).toBeGreaterThanOrEqual(1e6);
    expect(f64 / f32).toBeGreaterThanOrEqual(1e2);
    // Its error grows with the ratio.
    expect(row('sums-float32', 'float32', 1e4).relError).toBeGreaterThan(
      row('sums-float32', 'float32', 1).relError * 1e4,
    );
  });

  it('a negative variance shows in the normalized output', () => {
    const neg = report.rows.filter((r) => r.negativeCount > 0);
    expect(neg.length).toBeGreaterThan(0);
    // Normalized by sqrt(eps) instead of std ~ 1: off by far more than 1.
    expect(Math.max(...neg.map((r) => r.outputMaxAbsError))).toBeGreaterThan(10);
  });

  it('float32 at 1e8 cannot hold the spread: stored channels are constant', () => {
    expect(row('two-pass', 'float32', 1e8).constantChannels).toBeGreaterThan(0);
    expect(row('two-pass', 'float64', 1e8).constantChannels).toBe(0);
  });

  it('reports the communication cost of each method', () => {
    const cost = (m: string, dtype = 'float64') => row(m, dtype, 1);
    expect(cost('two-pass')).toMatchObject({
      rounds: 2,
      valuesPerAllreduce: [C + 1, C],
      valuesFormula: 'C+1, C',
      bytesPerDevice: (W - 1) * (2 * C + 1) * 8,
    });
    expect(cost('welford')).toMatchObject({
      rounds: 1,
      valuesPerAllreduce: [3 * C],
      bytesPerDevice: (W - 1) * 3 * C * 8,
    });
    expect(cost('sums-float64')).toMatchObject({
      rounds: 1,
      valuesPerAllreduce: [2 * C + 1],
      bytesPerDevice: (W - 1) * (2 * C + 1) * 8,
    });
    expect(cost('sums-float32')).toMatchObject({ rounds: 1, bytesPerDevice: (W - 1) * (2 * C + 1) * 4 });
    expect(cost('shifted-sums')).toMatchObject({ rounds: 1, valuesPerAllreduce: [2 * C + 1] });
    expect(cost('pytorch-roundtrip', 'float32')).toMatchObject({
      rounds: 1,
      valuesPerAllreduce: [2 * C + 1],
      bytesPerDevice: (W - 1) * (2 * C + 1) * 4,
    });
    expect(cost('pytorch-roundtrip', 'float64').bytesPerDevice).toBe((W - 1) * (2 * C + 1) * 8);
  });

  it('prints tables that say where E[x^2] - E[x]^2 breaks, and draws a log-log plot', async () => {
    const text = precisionTable(report);
    expect(text).toMatch(/float32 data: max relative error/);
    expect(text).toMatch(/float64 data: E\[x\^2\] - E\[x\]\^2 breaks .* at 1e2 with float32 sums/);
    expect(text).toMatch(/Within 1e-6 at every ratio up to 1e8: .*two-pass/);
    expect(text).toMatch(/NEG \d+\/8/);
    expect(text).toMatch(/cannot hold the spread: its spacing near 1e8 is 8/);
    expect(text).toMatch(/two-pass\s+2\s+C\+1, C = 5, 4/);
    const spec = precisionPlot(report) as { data: { values: { rel_error: number }[] } };
    expect(spec.data.values.every((v) => v.rel_error >= 1e-17)).toBe(true);
    expect(await renderSvg(precisionPlot(report))).toMatch(/^<svg/);
  });
});

describe('precisionExperiment input and interruption', () => {
  it('gives the same rows for the same seed (no cluster: pytorch-roundtrip only)', async () => {
    const options = { offset: 1e4, rows: 32, channels: 2, devices: 4, trials: 2, methods: ['pytorch-roundtrip'] };
    const a = await precisionExperiment(options);
    const b = await precisionExperiment(options);
    expect(a.rows).toEqual(b.rows);
    expect(a.rows.map((r) => r.dtype)).toEqual(['float32', 'float64']);
    expect(a.rows[0].ratio).toBe(1e4);
  });

  it.each([
    [{ scale: 0 }, /scale must be a finite number > 0/],
    [{ scale: -1 }, /scale/],
    [{ scale: NaN }, /scale/],
    [{ rows: 1 }, /rows must be a whole number >= 2/],
    [{ rows: 2.5 }, /rows/],
    [{ channels: 0 }, /channels/],
    [{ methods: ['sums', 'welford'] }, /unknown method 'sums'/],
    [{ dtypes: ['float8' as never] }, /unknown dtype 'float8'/],
    [{ offset: Infinity }, /offset must be a finite number/],
    [{ offset: NaN }, /offset/],
    [{ offset: 1e39, dtypes: ['float32' as const] }, /does not fit float32/],
    [{ devices: 0 }, /devices must be a whole number from 1 to 4096/],
    [{ trials: 0 }, /trials must be a whole number >= 1/],
    [{ eps: 0 }, /eps/],
    [{ seed: -1 }, /seed/],
  ])('refuses %j with an InputError', async (bad, message) => {
    const run = precisionExperiment(bad);
    await expect(run).rejects.toBeInstanceOf(InputError);
    await expect(run).rejects.toThrow(message);
  });

  it('stops with InterruptedError when the signal trips, closing its cluster', async () => {
    const already = new AbortController();
    already.abort();
    await expect(precisionExperiment({ signal: already.signal })).rejects.toBeInstanceOf(InterruptedError);
    const controller = new AbortController();
    const run = precisionExperiment({
      rows: 32,
      channels: 2,
      devices: 2,
      trials: 2,
      signal: controller.signal,
      onProgress: (done) => {
        if (done >= 3) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(InterruptedError);
    await expect(run).rejects.toMatchObject({ code: 'E_INTERRUPTED' });
  });
});

describe('precision command', () => {
  afterEach(() => vi.restoreAllMocks());

  function program(): Command {
    const p = new Command('syncbn-sim').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    addPrecisionCommand(p);
    return p;
  }
  const argv = (...args: string[]) => ['node', 'syncbn-sim', 'precision', ...args];

  it('--offset 1e6 --scale 1 --dtype float32 --json prints {"rows": [...]}', async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    await program().parseAsync(
      argv(
        '--offset',
        '1e6',
        '--scale',
        '1',
        '--dtype',
        'float32',
        '--json',
        '--rows',
        '64',
        '--devices',
        '4',
        '--trials',
        '2',
      ),
    );
    vi.restoreAllMocks();
    const report = JSON.parse(out) as PrecisionJson;
    expect(report.rows.map((r) => r.method)).toEqual([...PRECISION_METHODS]);
    for (const r of report.rows) {
      expect(r).toMatchObject({ dtype: 'float32', ratio: 1e6, offset: 1e6, scale: 1 });
      expect(typeof r.rel_error).toBe('number');
      expect(typeof r.negative_count).toBe('number');
    }
    expect(report.rows.find((r) => r.method === 'two-pass')!.rel_error).toBeLessThanOrEqual(1e-6);
    expect(report.rows.find((r) => r.method === 'sums-float32')!.rel_error).toBeGreaterThan(1);
  });

  it('takes a negative offset', async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    await program().parseAsync(
      argv(
        '--offset',
        '-1e4',
        '--methods',
        'pytorch-roundtrip',
        '--dtype',
        'float64',
        '--rows',
        '16',
        '--trials',
        '1',
        '--csv',
      ),
    );
    vi.restoreAllMocks();
    const [header, line] = out.trim().split('\n');
    expect(header.split(',').slice(0, 3)).toEqual(['method', 'dtype', 'ratio']);
    expect(line).toMatch(/^pytorch-roundtrip,float64,10000,-10000,1,/);
  });

  it.each([
    [['--scale', '0'], /--scale must be a number > 0/],
    [['--scale', '-2'], /--scale/],
    [['--rows', '1'], /--rows must be a whole number >= 2/],
    [['--methods', 'sums,welford'], /unknown method 'sums'/],
    [['--dtype', 'float8'], /--dtype must be float32, float64, float16 or bfloat16, got 'float8'/],
    [['--offset', 'NaN'], /--offset must be a finite number/],
    [['--offset', 'Infinity'], /--offset/],
    [['--devices', '0'], /--devices must be a whole number >= 1/],
    [['--trials', '0'], /--trials/],
    [['--eps', '0'], /--eps/],
    [['--devices', '5000'], /devices must be a whole number from 1 to 4096/],
    [['--plot', 'out.png'], /--plot must name an .svg file/],
  ])('refuses %j with an InputError (exit 2)', async (args, message) => {
    const run = program().parseAsync(argv(...args));
    await expect(run).rejects.toBeInstanceOf(InputError);
    await expect(run).rejects.toThrow(message);
  });

  it('formats errors in one significant digit', () => {
    expect(formatError(3.2e-7)).toBe('3e-7');
    expect(formatError(41)).toBe('4e1');
    expect(formatError(0)).toBe('0');
    expect(formatError(NaN)).toBe('NaN');
  });
});
