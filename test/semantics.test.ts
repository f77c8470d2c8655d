/**
 * Every framework's synchronized BN as data, run by one engine: hand-computed merges on a tiny
 * uneven batch, the computable error of an unweighted mean, and the table of cases (which rules
 * are exact to rounding where, and why not elsewhere).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { applyRule } from '../src/semantics/engine.js';
import { semanticsCase } from '../src/semantics/cases.js';
import { type SemanticsRow, runSemantics } from '../src/semantics/measure.js';
import { FRAMEWORK_NAMES, FRAMEWORK_RULES, type FrameworkName } from '../src/semantics/rules.js';

/** x = [0, 0 | 3] as [3, 1]: device 0 holds two zeros, device 1 a three. Exact mean 1, var 2. */
const shards = [
  { data: Float64Array.of(0, 0), shape: [2, 1] },
  { data: Float64Array.of(3), shape: [1, 1] },
];
const run = (name: FrameworkName) =>
  applyRule(FRAMEWORK_RULES[name], shards, { storage: 'float64', initialRunningVar: 0, eps: 1e-5 });

describe('the merges, by hand on [0, 0 | 3]', () => {
  it('count-weighted rules find the exact mean 1 and variance 2', () => {
    for (const name of ['pytorch', 'keras', 'detectron2-n'] as const) {
      for (const d of run(name).devices) {
        expect(d.mean[0], name).toBeCloseTo(1, 12);
        expect(d.var[0], name).toBeCloseTo(2, 9);
      }
    }
  });
  it('equal-weight rules find mean (0 + 3) / 2 = 1.5 and E[x^2] - mean^2 = (0 + 9) / 2 - 2.25 = 2.25', () => {
    for (const name of ['flax', 'horovod-tf', 'detectron2', 'apex'] as const) {
      for (const d of run(name).devices) {
        expect(d.mean[0], name).toBe(1.5);
        expect(d.var[0], name).toBe(2.25);
      }
    }
  });
  it('running variances: PyTorch unbiased over the whole count (2 x 3/2), Keras biased, Detectron2 biased', () => {
    expect(run('pytorch').devices.map((d) => d.runningVar[0])).toEqual(
      [0.1 * 3, 0.1 * 3].map((v) => expect.closeTo(v, 9)) as unknown as number[],
    );
    expect(run('keras').devices[0].runningVar[0]).toBeCloseTo(0.01 * 2, 12);
    expect(run('detectron2-n').devices[0].runningVar[0]).toBeCloseTo(0.1 * 2, 12);
  });
  it('Apex merges every rank with its own count: rank 0 (count 2) keeps 9/3, rank 1 (count 1) 4.5/1', () => {
    const apex = run('apex').devices;
    expect(apex[0].runningVar[0]).toBeCloseTo(0.1 * 3, 12);
    expect(apex[1].runningVar[0]).toBeCloseTo(0.1 * 4.5, 12);
  });
  it('an unweighted mean misses the exact one by sum_d (1/W - n_d/N) mean_d', () => {
    const c = semanticsCase('uneven');
    const means = c.shards.map((s) => {
      let sum = 0;
      for (let i = 0; i < s.data.length; i += 9 * 3) for (let k = 0; k < 9; k++) sum += Math.fround(s.data[i + k]);
      return sum / (s.shape[0] * 9);
    });
    const N = c.input.shape[0];
    const predicted = means.reduce((a, m, d) => a + (1 / 4 - c.shards[d].shape[0] / N) * m, 0);
    const exactMean = means.reduce((a, m, d) => a + (c.shards[d].shape[0] / N) * m, 0);
    const flax = applyRule(FRAMEWORK_RULES.flax, c.shards, { storage: 'float32' }).devices[0].mean[0];
    expect(Math.abs(predicted)).toBeGreaterThan(1e-3);
    expect(flax - exactMean).toBeCloseTo(predicted, 6);
  });
  it('refuses shards of different shapes', () => {
    expect(() =>
      applyRule(FRAMEWORK_RULES.pytorch, [
        { data: new Float64Array(2), shape: [1, 2] },
        { data: new Float64Array(3), shape: [1, 3] },
      ]),
    ).toThrow(InputError);
  });
});

describe('the records', () => {
  it('cover every framework, each citing the file its rule was read from', () => {
    expect(Object.keys(FRAMEWORK_RULES).sort()).toEqual([...FRAMEWORK_NAMES].sort());
    for (const rule of Object.values(FRAMEWORK_RULES)) {
      expect(rule.sources.length).toBeGreaterThan(0);
      for (const s of rule.sources) expect(s).toMatch(/^[\w-]+\/[\w-]+: [\w/.-]+\.(py|cuh|cu) \(/);
      expect(rule.half.source.length).toBeGreaterThan(10);
    }
  });
});

describe('every framework on every case', () => {
  let rows: SemanticsRow[];
  let bf16: SemanticsRow[];
  beforeAll(() => {
    rows = runSemantics();
    bf16 = runSemantics({ cases: ['half'], half: 'bfloat16' });
  });
  const row = (table: SemanticsRow[], c: string, f: FrameworkName) =>
    table.find((r) => r.case === c && r.framework === f)!;
  const exactIn = (c: string) => FRAMEWORK_NAMES.filter((f) => row(rows, c, f).exact);

  it('even shards: every rule exact, except Detectron2 folding a biased variance into the running one', () => {
    expect(exactIn('even')).toEqual(['pytorch', 'keras', 'flax', 'horovod-tf', 'apex']);
    const d2 = row(rows, 'even', 'detectron2');
    expect(d2.varError).toBeLessThan(1e-6);
    expect(d2.runningVarError).toBeCloseTo(1 / 143, 4); // n / (n - 1) with n = 16 x 9
  });
  it('uneven shards: only count-weighted merges are exact', () => {
    expect(exactIn('uneven')).toEqual(['pytorch', 'keras']);
    for (const f of ['flax', 'horovod-tf', 'detectron2', 'apex'] as const)
      expect(row(rows, 'uneven', f).meanError).toBeGreaterThan(1e-2);
    expect(row(rows, 'uneven', 'detectron2-n').meanError).toBeLessThan(1e-6);
  });
  it('an empty rank: masked or zero sums are fine, a NaN mean poisons every device, Detectron2 "" refuses', () => {
    expect(exactIn('empty')).toEqual(['pytorch', 'keras']);
    expect(row(rows, 'empty', 'detectron2-n').varError).toBeLessThan(1e-6);
    expect(row(rows, 'empty', 'detectron2').note).toMatch(/does not support zero batch size/);
    for (const f of ['flax', 'horovod-tf', 'apex'] as const) expect(row(rows, 'empty', f).note).toMatch(/non-finite/);
  });
  it('|mean| / std = 1e4: Welford merges stay exact, E[x^2] - E[x]^2 in float32 loses everything', () => {
    expect(exactIn('offset')).toEqual(['pytorch', 'apex']);
    for (const f of ['keras', 'flax', 'horovod-tf', 'detectron2', 'detectron2-n'] as const)
      expect(row(rows, 'offset', f).varError).toBeGreaterThan(1);
  });
  it('float16 input: every framework promotes its statistics to float32', () => {
    expect(exactIn('half')).toEqual(['pytorch', 'keras', 'flax', 'horovod-tf', 'apex']);
    expect(row(rows, 'half', 'pytorch').outputError).toBeGreaterThan(1e-5); // the float16 output itself
  });
  it('bfloat16 input: Detectron2 and Apex keep their statistics in bfloat16', () => {
    for (const f of ['detectron2', 'detectron2-n', 'apex'] as const) {
      expect(row(bf16, 'half', f).exact).toBe(false);
      expect(row(bf16, 'half', f).meanError).toBeGreaterThan(1e-4);
    }
    expect(row(bf16, 'half', 'pytorch').exact).toBe(true);
  });
  it('float16 counts of 100,352 overflow: PyTorch with model.half() gets NaN statistics and running variance', () => {
    const pt = row(rows, 'half-counts', 'pytorch');
    expect(pt.exact).toBe(false);
    expect(pt.note).toMatch(/non-finite/);
    expect(row(rows, 'half-counts', 'keras').exact).toBe(true);
  });
});
