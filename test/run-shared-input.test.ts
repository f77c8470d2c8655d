/**
 * `run` on simulated devices reads its input straight into shared memory and reports the whole
 * batch's statistics without a single-device forward and backward: the same figures as that
 * computation gives, in train and eval mode.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchNorm } from '../src/bn/batch-norm.js';
import { InputError } from '../src/errors.js';
import { loadRunInputs, runOnCluster } from '../src/experiments/run.js';
import { encodeNpy, parseNpy } from '../src/tensor/npy.js';
import { syntheticBatch, syntheticGradient } from '../src/tensor/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'run-shared-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseNpy into a given array', () => {
  const x = syntheticBatch([3, 2], 1, 'float64');
  const bytes = encodeNpy(x);

  it('puts the values in the array the allocator returns', () => {
    const target = new Float64Array(new SharedArrayBuffer(6 * 8));
    const t = parseNpy(bytes, 'x', { allocate: () => target });
    expect(t.data).toBe(target);
    expect(Array.from(target)).toEqual(Array.from(x.data));
  });

  it('refuses an allocation of the wrong type or length', () => {
    expect(() => parseNpy(bytes, 'x', { allocate: () => new Float32Array(6) })).toThrow(InputError);
    expect(() => parseNpy(bytes, 'x', { allocate: () => new Float64Array(5) })).toThrow(/float64 array of 6 elements/);
  });
});

describe('a run on devices', () => {
  const x = syntheticBatch([12, 3, 2, 2], 7);
  const dy = syntheticGradient([12, 3, 2, 2], 8);
  writeFileSync(join(dir, 'x.npy'), encodeNpy(x));
  writeFileSync(join(dir, 'dy.npy'), encodeNpy(dy));

  it('loads the input and the gradient into shared memory, per-channel files not', () => {
    const rm = join(dir, 'rm.npy');
    writeFileSync(rm, encodeNpy({ data: new Float32Array([0.1, 0.2, 0.3]), shape: [3] }));
    const inputs = loadRunInputs(
      { input: join(dir, 'x.npy'), gradOutput: join(dir, 'dy.npy'), runningMean: rm },
      { shared: true },
    );
    expect(inputs.input.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(inputs.gradOutput!.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(inputs.runningMean!.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(inputs.input.data)).toEqual(Array.from(x.data));
    expect(loadRunInputs({ input: join(dir, 'x.npy') }).input.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it.each([true, false])(
    'reports the statistics the single-device operator reports (training %s)',
    async (training) => {
      const inputs = loadRunInputs({ input: join(dir, 'x.npy'), gradOutput: join(dir, 'dy.npy') }, { shared: true });
      const report = await runOnCluster(inputs, { training }, { devices: 3, threads: 1 });
      const single = batchNorm(x, { training, gradOutput: dy });
      expect(report.result.stats.count).toBe(single.stats.count);
      for (let c = 0; c < 3; c++) {
        expect(report.result.stats.mean[c]).toBeCloseTo(single.stats.mean[c], 12);
        expect(report.result.stats.var[c]).toBeCloseTo(single.stats.var[c], 12);
      }
      const batch = batchNorm(x).stats; // the whole batch's, whatever the mode
      expect(report.global.count).toBe(48);
      for (let c = 0; c < 3; c++) {
        expect(report.global.mean[c]).toBeCloseTo(batch.mean[c], 12);
        expect(report.global.var[c]).toBeCloseTo(batch.var[c], 12);
      }
    },
  );

  it('still refuses bad input before any device starts', async () => {
    const inputs = loadRunInputs({ input: join(dir, 'x.npy') }, { shared: true });
    await expect(runOnCluster(inputs, { eps: -1 }, { devices: 2 })).rejects.toThrow(/eps/);
    inputs.input.data[5] = Number.NaN;
    await expect(runOnCluster(inputs, {}, { devices: 2 })).rejects.toThrow(/input contains NaN at flat index 5/);
  });
});
