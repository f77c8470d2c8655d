/**
 * Group norm, layer norm and instance norm held to PyTorch (nn.GroupNorm, nn.LayerNorm over
 * [C,H,W], nn.InstanceNorm2d(affine=True)) on the fixtures of scripts/make_norm_fixtures.py:
 * 1e-10 relative in float64 and 1e-5 in float32, forward and backward.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupNorm } from '../src/norm/group-norm.js';
import { instanceNorm } from '../src/norm/instance-norm.js';
import { layerNorm } from '../src/norm/layer-norm.js';
import type { NormResult } from '../src/norm/operator.js';
import { readNpyFile } from '../src/tensor/npy.js';
import { dtypeOf } from '../src/tensor/tensor.js';
import { ROOT, relativeError, toleranceFor } from './helpers.js';

const DIR = join(ROOT, 'test', 'fixtures', 'norm');

interface NormCase {
  name: string;
  norm: 'group' | 'layer' | 'instance';
  shape: number[];
  dtype: 'float32' | 'float64';
  eps: number;
  groups?: number;
}

const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { cases: string[] };
const cases: NormCase[] = manifest.cases.map((name) => JSON.parse(readFileSync(join(DIR, name, 'case.json'), 'utf8')));
const load = (c: NormCase, file: string) => readNpyFile(join(DIR, c.name, file));

function run(c: NormCase): NormResult {
  const input = load(c, 'input.npy');
  const options = {
    eps: c.eps,
    weight: load(c, 'weight.npy').data,
    bias: load(c, 'bias.npy').data,
    gradOutput: load(c, 'grad_output.npy'),
  };
  if (c.norm === 'group') return groupNorm(input, { ...options, groups: c.groups! });
  if (c.norm === 'layer') return layerNorm(input, options);
  return instanceNorm(input, options);
}

describe('the fixtures cover what the issue asks for', () => {
  it('has each norm in both dtypes, [N,C] and [N,C,H,W], odd H and W, non-default eps, G = 1 and G = C', () => {
    for (const norm of ['group', 'layer', 'instance']) {
      expect(new Set(cases.filter((c) => c.norm === norm).map((c) => c.dtype))).toEqual(
        new Set(['float32', 'float64']),
      );
    }
    expect(cases.some((c) => c.shape.length === 2)).toBe(true);
    expect(cases.some((c) => c.shape.length === 4 && c.shape[2] % 2 === 1 && c.shape[3] % 2 === 1)).toBe(true);
    expect(cases.some((c) => c.eps !== 1e-5)).toBe(true);
    expect(cases.some((c) => c.groups === 1)).toBe(true);
    expect(cases.some((c) => c.groups === c.shape[1])).toBe(true);
  });
});

describe.each(cases.map((c) => [c.name, c] as const))('%s vs PyTorch', (_name, c) => {
  it('forward and backward agree within the dtype tolerance', () => {
    const r = run(c);
    const tol = toleranceFor(c.dtype);
    expect(dtypeOf(r.output.data)).toBe(c.dtype);
    expect(relativeError(r.output.data, load(c, 'output.npy').data), 'output').toBeLessThan(tol);
    expect(relativeError(r.gradInput!.data, load(c, 'grad_input.npy').data), 'grad_input').toBeLessThan(tol);
    expect(relativeError(r.gradWeight!, load(c, 'grad_weight.npy').data), 'grad_weight').toBeLessThan(tol);
    expect(relativeError(r.gradBias!, load(c, 'grad_bias.npy').data), 'grad_bias').toBeLessThan(tol);
  });
});
