/**
 * `--dtype float16|bfloat16` for run and compare: inputs stored in 16 bits (round to nearest
 * even), statistics from those values in float32 or wider, outputs rounded back; values a format
 * cannot hold are refused.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchNorm } from '../src/bn/batch-norm.js';
import { compareModes } from '../src/experiments/compare.js';
import { halfCountRows, precisionExperiment } from '../src/experiments/precision.js';
import { precisionJson } from '../src/report/json/precision-json.js';
import { halfCountsTable } from '../src/report/tables/precision-table.js';
import { runBatchNorm, storeInputsInHalf, storeOutputsInHalf } from '../src/experiments/run.js';
import { roundToHalf } from '../src/half/round.js';
import { toHalfStorage } from '../src/half/storage.js';
import { encodeNpy } from '../src/tensor/npy.js';
import { syntheticBatch } from '../src/tensor/synthetic.js';
import { runCli, tempDir } from './helpers.js';
import { writeFileSync } from 'node:fs';

describe('16-bit storage of tensors', () => {
  it('rounds each value to nearest even, in a Float32Array', () => {
    const t = toHalfStorage(
      { data: Float64Array.of(1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 1 + 2 ** -8 + 2 ** -30), shape: [4, 1] },
      'float16',
    );
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data.subarray(0, 3))).toEqual([1, 1 + 2 ** -9, 65504]);
    expect(toHalfStorage({ data: Float64Array.of(1 + 2 ** -8 + 2 ** -30), shape: [1, 1] }, 'bfloat16').data[0]).toBe(
      1 + 2 ** -7,
    );
  });
});

describe('run --dtype', () => {
  const x = syntheticBatch([6, 3, 2, 2], 4);
  const dy = syntheticBatch([6, 3, 2, 2], 5);

  it('normalizes the stored values and stores the output back: every value a float16, within half an ulp of exact BN of the stored input', () => {
    const inputs = storeInputsInHalf({ input: x, gradOutput: dy }, 'float16');
    const r = storeOutputsInHalf(runBatchNorm(inputs, { stats: 'welford', accumulator: 'float32' }), 'float16');
    expect(r.storage).toBe('float16');
    const exact = batchNorm(
      { data: Float64Array.from(inputs.input.data), shape: x.shape },
      { gradOutput: { data: Float64Array.from(inputs.gradOutput!.data), shape: x.shape } },
    );
    for (const [got, want] of [
      [r.result.output.data, exact.output.data],
      [r.result.gradInput!.data, exact.gradInput!.data],
    ] as const) {
      for (let i = 0; i < got.length; i++) {
        expect(roundToHalf(got[i], 'float16')).toBe(got[i]);
        expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(2 ** -11 * Math.max(Math.abs(want[i]), 2 ** -14) * 1.01);
      }
    }
    // The input changed: storage is not a no-op on these values.
    expect(Array.from(inputs.input.data)).not.toEqual(Array.from(x.data));
  });

  it('refuses a value float16 cannot hold', () => {
    expect(() => storeInputsInHalf({ input: { data: Float32Array.of(1, 70000), shape: [2, 1] } }, 'float16')).toThrow(
      /1 value of the input overflow float16 \(largest finite 65504\)/,
    );
    expect(
      storeInputsInHalf({ input: { data: Float32Array.of(1, 70000), shape: [2, 1] } }, 'bfloat16').input.data[1],
    ).toBe(70144);
  });

  it('the command: Welford in float32 by default, the storage in stats.json; a bad --dtype exits 2', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x.npy'), encodeNpy(x));
    const r = runCli([
      'run',
      '--input',
      join(dir, 'x.npy'),
      '--dtype',
      'bfloat16',
      '--out',
      join(dir, 'out'),
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const settings = JSON.parse(r.stdout).settings;
    expect(settings).toMatchObject({ stats: 'welford', accumulator: 'float32', storage: { dtype: 'bfloat16' } });
    const bad = runCli(['run', '--input', join(dir, 'x.npy'), '--dtype', 'float8', '--out', join(dir, 'out')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--dtype must be float16 or bfloat16, got 'float8'/);
  });
});

describe('compare --dtype', () => {
  it('stores batch and outputs in bfloat16: sync matches one device to the 16-bit rounding, local does not', async () => {
    const r = await compareModes({ devices: 2, shape: [8, 2, 2, 2], modes: ['sync', 'local'], storage: 'bfloat16' });
    expect(r.batch.dtype).toBe('bfloat16');
    const [sync, local] = r.modes;
    expect(sync.relDiffOutput!).toBeLessThanOrEqual(2 ** -8);
    expect(local.relDiffOutput!).toBeGreaterThan(2 ** -6);
  });
});

describe('precision --dtype float16|bfloat16', () => {
  it('stores the data in 16 bits, stops the sweep where float16 ends, and shows where half counts break', async () => {
    const r = await precisionExperiment({
      dtypes: ['float16'],
      rows: 32,
      channels: 2,
      devices: 2,
      trials: 1,
      methods: ['pytorch-roundtrip'],
    });
    expect(r.settings.ratios).toEqual([1, 1e2, 1e4]);
    const counts = r.halfCounts!;
    const at = (n: number) => counts.find((c) => c.count === n)!;
    expect(at(2048)).toMatchObject({ stored: 2048, exact: true });
    expect(at(2049)).toMatchObject({ stored: 2048, exact: false });
    expect(at(65504).exact).toBe(true);
    expect(at(65520).stored).toBe(Infinity);
    expect(at(100352).runningVarStored).toBeNaN();
    expect(at(100352).runningVarExact).toBeCloseTo(0.9 + 0.1 * (100352 / 100351), 15);
    expect(halfCountsTable(r)).toMatch(/100352 \(32x56x56\) +inf +NO/);
    const json = JSON.parse(JSON.stringify(precisionJson(r)));
    expect(json.half_counts.find((c: { count: number }) => c.count === 100352)).toMatchObject({
      stored: null,
      running_var_stored: null,
    });
    expect(json.rows[0].dtype).toBe('float16');
  });

  it('bfloat16 keeps 100,352 exactly (49 x 2^11) but not 2049; float16 refuses data past 65504', async () => {
    expect(halfCountRows(['bfloat16']).find((c) => c.count === 100352)!.exact).toBe(true);
    await expect(
      precisionExperiment({ dtypes: ['float16'], offset: 1e5, methods: ['pytorch-roundtrip'] }),
    ).rejects.toThrow(/does not fit float16/);
  });
});

describe('compare --dtype, bad input', () => {
  it('refuses an unknown format (exit 2, one line) and a batch float16 cannot hold (InputError)', async () => {
    const r = runCli(['compare', '--dtype', 'float8']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--dtype must be float16 or bfloat16, got 'float8'/);
    const big = { data: Float32Array.from({ length: 8 }, (_, i) => 7e4 + i), shape: [4, 2] };
    await expect(compareModes({ devices: 2, input: big, storage: 'float16' })).rejects.toThrow(
      /8 values of the input overflow float16/,
    );
  });
});
