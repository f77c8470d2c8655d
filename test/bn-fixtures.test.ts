/** The operator and the `run` command held to PyTorch's BatchNorm on the committed fixtures. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { batchNorm } from '../src/bn/batch-norm.js';
import { STATS_METHODS } from '../src/bn/batch-moments.js';
import { KERNEL_BACKENDS, kernelBackend, useKernels } from '../src/kernels/backend.js';
import { readNpyFile } from '../src/tensor/npy.js';
import { dtypeOf } from '../src/tensor/tensor.js';
import { type FixtureCase, fixtureCases, relativeError, runMain, tempDir, toleranceFor } from './helpers.js';

const cases = fixtureCases();

function operatorOn(fixture: FixtureCase, stats: (typeof STATS_METHODS)[number] = 'sums') {
  return batchNorm(fixture.load('input.npy'), {
    training: fixture.training,
    momentum: fixture.momentum,
    eps: fixture.eps,
    stats,
    weight: fixture.load('weight.npy').data,
    bias: fixture.load('bias.npy').data,
    runningMean: fixture.load('running_mean.npy').data,
    runningVar: fixture.load('running_var.npy').data,
    gradOutput: fixture.has_grad ? fixture.load('grad_output.npy') : undefined,
  });
}

afterEach(() => useKernels('wasm'));

describe('fixtures cover what the issue asks for', () => {
  it('are checked on the default kernels, WebAssembly (and on the JavaScript reference beside them)', () => {
    expect(process.env.SYNCBN_KERNELS ?? '').toBe('');
    expect(kernelBackend()).toBe('wasm');
  });

  it('has [N,C] and [N,C,H,W], C=1, N=2, odd H and W, both dtypes, train and eval, grads, non-default momentum and eps', () => {
    expect(cases.some((c) => c.shape.length === 2)).toBe(true);
    expect(
      cases.some((c) => c.shape.length === 4 && c.shape[2] % 2 === 1 && c.shape[3] % 2 === 1 && c.shape[2] > 1),
    ).toBe(true);
    expect(cases.some((c) => c.shape[1] === 1)).toBe(true);
    expect(cases.some((c) => c.shape[0] === 2)).toBe(true);
    expect(new Set(cases.map((c) => c.dtype))).toEqual(new Set(['float32', 'float64']));
    expect(cases.some((c) => !c.training && c.has_grad)).toBe(true);
    expect(cases.some((c) => c.momentum !== 0.1)).toBe(true);
    expect(cases.some((c) => c.eps !== 1e-5)).toBe(true);
  });
});

describe.each(cases.map((c) => [c.name, c] as const))('operator vs PyTorch: %s', (_name, fixture) => {
  const tol = toleranceFor(fixture.dtype);
  const check = (actual: ArrayLike<number>, file: string) =>
    expect(relativeError(actual, fixture.load(file).data), file).toBeLessThan(tol);

  it.each(STATS_METHODS.flatMap((m) => KERNEL_BACKENDS.map((b) => [m, b] as const)))(
    'forward, running stats and gradients with %s statistics on the %s kernels',
    (method, backend) => {
      useKernels(backend);
      const r = operatorOn(fixture, method);
      expect(dtypeOf(r.output.data)).toBe(fixture.dtype);
      check(r.output.data, 'output.npy');
      check(r.runningMean, 'running_mean_out.npy');
      check(r.runningVar, 'running_var_out.npy');
      if (fixture.training) {
        expect(r.stats.count).toBe(fixture.stats.count);
        expect(relativeError(r.stats.mean, fixture.stats.mean)).toBeLessThan(1e-10);
        expect(relativeError(r.stats.var, fixture.stats.var)).toBeLessThan(fixture.dtype === 'float64' ? 1e-10 : 1e-6);
      }
      if (fixture.has_grad) {
        check(r.gradInput!.data, 'grad_input.npy');
        check(r.gradWeight!, 'grad_weight.npy');
        check(r.gradBias!, 'grad_bias.npy');
      }
    },
  );

  it.each([[undefined], ['3'], ['8']])(
    'the run command writes the same arrays (devices: %s, sync BN)',
    async (devices) => {
      const out = tempDir();
      const args = ['run', '--input', join(fixture.dir, 'input.npy'), '--eps', String(fixture.eps), '--out', out];
      // Eval mode updates no running statistics: run refuses --momentum there as doing nothing.
      if (fixture.training) args.push('--momentum', String(fixture.momentum));
      if (devices) args.push('--devices', devices, '--algorithm', devices === '3' ? 'ring' : 'recursive-doubling');
      if (!fixture.affine_default) {
        for (const [flag, file] of [
          ['--weight', 'weight'],
          ['--bias', 'bias'],
          ['--running-mean', 'running_mean'],
          ['--running-var', 'running_var'],
        ]) {
          args.push(flag, join(fixture.dir, `${file}.npy`));
        }
      }
      if (fixture.has_grad) args.push('--grad-output', join(fixture.dir, 'grad_output.npy'));
      if (!fixture.training) args.push('--eval');
      const result = await runMain(args);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const written = (name: string) => readNpyFile(join(out, name)).data;
      const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
      expect(stats.global.count).toBe(fixture.stats.count);
      expect(relativeError(stats.global.mean, fixture.stats.mean)).toBeLessThan(1e-10);
      expect(relativeError(stats.global.var, fixture.stats.var)).toBeLessThan(
        fixture.dtype === 'float64' ? 1e-10 : 1e-6,
      );
      check(written('output.npy'), 'output.npy');
      if (fixture.has_grad) {
        check(written('grad_input.npy'), 'grad_input.npy');
        check(written('grad_weight.npy'), 'grad_weight.npy');
        check(written('grad_bias.npy'), 'grad_bias.npy');
      } else {
        expect(existsSync(join(out, 'grad_input.npy'))).toBe(false);
      }
      if (fixture.training) {
        check(written('running_mean.npy'), 'running_mean_out.npy');
        check(written('running_var.npy'), 'running_var_out.npy');
      } else {
        expect(existsSync(join(out, 'running_mean.npy'))).toBe(false);
      }
    },
  );
});
