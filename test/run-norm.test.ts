/**
 * `run --norm`: group norm, layer norm and instance norm on a user's arrays match PyTorch's
 * fixtures (test/fixtures/norm, scripts/make_norm_fixtures.py) to 1e-10 in float64 and 1e-5 in
 * float32, forward and backward; split over W devices in any mode they give bitwise the same
 * output and input gradient as one device.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunInputs } from '../src/experiments/run.js';
import { runNorm } from '../src/experiments/run-norm.js';
import { readNpyFile } from '../src/tensor/npy.js';
import { ROOT, relativeError, runCli, tempDir, toleranceFor } from './helpers.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'norm');
interface NormCase {
  name: string;
  norm: 'group' | 'layer' | 'instance';
  dtype: string;
  eps: number;
  groups?: number;
}
const cases: NormCase[] = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')).cases.map((name: string) =>
  JSON.parse(readFileSync(join(FIXTURES, name, 'case.json'), 'utf8')),
);
const normName = (c: NormCase) => (c.norm === 'group' ? `group-norm:${c.groups}` : `${c.norm}-norm`);
const paths = (c: NormCase) => {
  const f = (file: string) => join(FIXTURES, c.name, file);
  return { input: f('input.npy'), gradOutput: f('grad_output.npy'), weight: f('weight.npy'), bias: f('bias.npy') };
};
const load = (c: NormCase, file: string) => readNpyFile(join(FIXTURES, c.name, file)).data;

describe('run --norm against PyTorch', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const r = runNorm(loadRunInputs(paths(c), { anyAffineShape: true }), { norm: normName(c), eps: c.eps });
    const tol = toleranceFor(c.dtype);
    expect(relativeError(r.output.data, load(c, 'output.npy'))).toBeLessThan(tol);
    expect(relativeError(r.gradInput!.data, load(c, 'grad_input.npy'))).toBeLessThan(tol);
    expect(relativeError(r.gradWeight!, load(c, 'grad_weight.npy'))).toBeLessThan(tol);
    expect(relativeError(r.gradBias!, load(c, 'grad_bias.npy'))).toBeLessThan(tol);
    expect(r.output.data.constructor.name).toBe(c.dtype === 'float64' ? 'Float64Array' : 'Float32Array');
  });
});

describe('run --norm on devices', () => {
  const picked = ['group_4x6x3x5_g3_f64', 'layer_3x4x5x5_f32', 'instance_3x4x5x6_f64'].map(
    (n) => cases.find((c) => c.name === n)!,
  );
  it.each(picked.map((c) => [c.name, c] as const))(
    '%s: bitwise one device in every mode, empty shards included',
    (_, c) => {
      const inputs = loadRunInputs(paths(c), { anyAffineShape: true });
      const one = runNorm(inputs, { norm: normName(c), eps: c.eps });
      const N = inputs.input.shape[0];
      for (const [devices, mode] of [
        [2, 'local'],
        [3, 'sync'],
        [N + 2, 'sync'],
        [4, 'group:2'],
        [2, 'ghost:1'],
      ] as const) {
        const r = runNorm(inputs, { norm: normName(c), eps: c.eps }, { devices, mode });
        expect(Array.from(r.output.data), `${devices} ${mode}`).toEqual(Array.from(one.output.data));
        expect(Array.from(r.gradInput!.data), `${devices} ${mode}`).toEqual(Array.from(one.gradInput!.data));
        // Parameter gradients: each device's sum, then the devices' sums in rank order (DDP).
        expect(relativeError(r.gradWeight!, one.gradWeight!)).toBeLessThan(c.dtype === 'float64' ? 1e-13 : 1e-6);
        expect(relativeError(r.gradBias!, one.gradBias!)).toBeLessThan(c.dtype === 'float64' ? 1e-13 : 1e-6);
        expect(r.cluster!.pieces.every((p) => p.rows[1] > p.rows[0])).toBe(true);
      }
    },
  );

  it('refuses what a batch-independent normalization has no use for, and a misshapen layer-norm affine', () => {
    const c = picked[1];
    const inputs = loadRunInputs(paths(c), { anyAffineShape: true });
    expect(() => runNorm(inputs, { norm: 'batch-renorm' })).toThrow(/group-norm:G, layer-norm or instance-norm/);
    expect(() =>
      runNorm({ ...inputs, runningMean: { data: new Float32Array(4), shape: [4] } }, { norm: 'layer-norm' }),
    ).toThrow(/keeps no running statistics/);
    expect(() =>
      runNorm({ ...inputs, weight: { data: new Float32Array(4).fill(1), shape: [4] } }, { norm: 'layer-norm' }),
    ).toThrow(/shape of one example \[4,5,5\]/);
    expect(() => runNorm(inputs, { norm: 'group-norm:3' })).toThrow(/must divide/);
  });
});

describe('syncbn-sim run --norm', () => {
  it('writes the files PyTorch gave, on 3 devices in ghost mode', () => {
    const c = cases.find((k) => k.name === 'group_4x6x3x5_g3_f32')!;
    const out = tempDir();
    const p = paths(c);
    const r = runCli([
      'run',
      '--norm',
      normName(c),
      '--input',
      p.input,
      '--grad-output',
      p.gradOutput,
      '--weight',
      p.weight,
      '--bias',
      p.bias,
      '--devices',
      '3',
      '--mode',
      'ghost:1',
      '--out',
      out,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ norm: 'group-norm:3', devices: 3, mode_across_devices: 'ghost:1' });
    for (const file of ['output.npy', 'grad_input.npy', 'grad_weight.npy', 'grad_bias.npy']) {
      expect(relativeError(readNpyFile(join(out, file)).data, load(c, file)), file).toBeLessThan(1e-5);
    }
  });

  it.each([
    [['--norm', 'frn'], /--norm: run --norm takes group-norm:G, layer-norm or instance-norm/],
    [['--norm', 'layer-norm', '--momentum', '0.1'], /--momentum is for batch norm/],
  ])('bad input %j: one line, exit 2', (args, message) => {
    const c = cases[0];
    const r = runCli(['run', '--input', paths(c).input, '--out', tempDir(), ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
