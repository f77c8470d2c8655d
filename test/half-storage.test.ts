/**
 * `--dtype float16|bfloat16` for run and compare: inputs stored in 16 bits (round to nearest
 * even), statistics from those values in float32 or wider, outputs rounded back; values a format
 * cannot hold are refused.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchNorm } from '../src/bn/batch-norm.js';
import { compareModes } from '../src/experiments/compare.js';
import { runBatchNorm, storeInputsInHalf, storeOutputsInHalf } from '../src/experiments/run.js';
import { roundToHalf } from '../src/half/round.js';
import { toHalfStorage } from '../src/half/storage.js';
import { encodeNpy } from '../src/tensor/npy.js';
import { syntheticBatch } from '../src/tensor/synthetic.js';
import { runCli, tempDir } from './helpers.js';
import { writeFileSync } from 'node:fs';

describe('16-bit storage of tensors', () => {
  it('rounds each value to nearest even, in a Float32Array', () => {
    const t = toHalfStorage({ data: Float64Array.of(1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 1 + 2 ** -8 + 2 ** -30), shape: [4, 1] }, 'float16');
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data.subarray(0, 3))).toEqual([1, 1 + 2 ** -9, 65504]);
    expect(toHalfStorage({ data: Float64Array.of(1 + 2 ** -8 + 2 ** -30), shape: [1, 1] }, 'bfloat16').data[0]).toBe(1 + 2 ** -7);
  });
});

describe('run --dtype', () => {
  const x = syntheticBatch([6, 3, 2, 2], 4);
  const dy = syntheticBatch([6, 3, 2, 2], 5);

  it('normalizes the stored values and stores the output back: every value a float16, within half an ulp of exact BN of the stored input', () => {
    const inputs = storeInputsInHalf({ input: x, gradOutput: dy }, 'float16');
    const r = storeOutputsInHalf(runBatchNorm(inputs, { stats: 'welford', accumulator: 'float32' }), 'float16');
    expect(r.storage).toBe('float16');
    const exact = batchNorm({ data: Float64Array.from(inputs.input.data), shape: x.shape }, { gradOutput: { data: Float64Array.from(inputs.gradOutput!.data), shape: x.shape } });
    for (const [got, want] of [[r.result.output.data, exact.output.data], [r.result.gradInput!.data, exact.gradInput!.data]] as const) {
      for (let i = 0; i < got.length; i++) {
        expect(roundToHalf(got[i], 'float16')).toBe(got[i]);
        expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(2 ** -11 * Math.max(Math.abs(want[i]), 2 ** -14) * 1.01);
      }
    }
    // The input changed: storage is not a no-op on these values.
    expect(Array.from(inputs.input.data)).not.toEqual(Array.from(x.data));
  });

  it('refuses a value float16 cannot hold', () => {
    expect(() => storeInputsInHalf({ input: { data: Float32Array.of(1, 70000), shape: [2, 1] } }, 'float16')).toThrow(/1 value of the input overflow float16 \(largest finite 65504\)/);
    expect(storeInputsInHalf({ input: { data: Float32Array.of(1, 70000), shape: [2, 1] } }, 'bfloat16').input.data[1]).toBe(70144);
  });

  it('the command: Welford in float32 by default, the storage in stats.json; a bad --dtype exits 2', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x.npy'), encodeNpy(x));
    const r = runCli(['run', '--input', join(dir, 'x.npy'), '--dtype', 'bfloat16', '--out', join(dir, 'out'), '--json']);
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
