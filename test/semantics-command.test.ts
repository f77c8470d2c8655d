/**
 * `syncbn-sim semantics`: the experiment's settings, its documented JSON (exactly seven keys a
 * row), its table and plot, --dtype, and bad input.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { semanticsExperiment } from '../src/experiments/semantics.js';
import { renderSvg } from '../src/report/plot.js';
import { semanticsJson } from '../src/report/json/semantics-json.js';
import { semanticsPlot } from '../src/report/plots/semantics-plot.js';
import { semanticsTable } from '../src/report/tables/semantics-table.js';
import { runCli, tempDir } from './helpers.js';

describe('semanticsExperiment', () => {
  it('runs the chosen frameworks on the chosen cases, cases outer; the half cases take a 16-bit --dtype', () => {
    const r = semanticsExperiment({ frameworks: ['pytorch', 'flax'], cases: ['uneven', 'half'], dtype: 'bfloat16' });
    expect(r.half).toBe('bfloat16');
    expect(r.rows.map((row) => `${row.case}/${row.framework}`)).toEqual([
      'uneven/pytorch',
      'uneven/flax',
      'half/pytorch',
      'half/flax',
    ]);
    // PyTorch weights ranks by count, Flax does not: on uneven shards only PyTorch is exact.
    expect(r.rows[0].exact).toBe(true);
    expect(r.rows[1].exact).toBe(false);
    expect(r.rows[1].meanError).toBeGreaterThan(1e-3);
  });

  it('--dtype stores every case in it: bfloat16 outputs are rounded to 2^-8, float32 ones far finer', () => {
    const f32 = semanticsExperiment({ frameworks: ['pytorch'], cases: ['even'] });
    const bf16 = semanticsExperiment({ frameworks: ['pytorch'], cases: ['even'], dtype: 'bfloat16' });
    expect(f32.half).toBe('float16');
    expect(f32.rows[0].outputError).toBeLessThan(1e-6);
    expect(bf16.rows[0].outputError).toBeGreaterThan(1e-4);
    expect(bf16.rows[0].outputError).toBeLessThan(2 ** -7);
    expect(bf16.rows[0].exact).toBe(true);
  });

  it('refuses unknown names and empty lists', () => {
    expect(() => semanticsExperiment({ frameworks: ['torch' as never] })).toThrow(/frameworks\[0\]/);
    expect(() => semanticsExperiment({ cases: [] })).toThrow(/must not be empty/);
    expect(() => semanticsExperiment({ dtype: 'float8' as never })).toThrow(/dtype/);
  });
});

describe('the report', () => {
  const r = semanticsExperiment({ cases: ['empty', 'half-counts'] });

  it('JSON: exactly {"rows": [...]}, seven keys a row in the documented order, refusals as null', () => {
    const json = JSON.parse(JSON.stringify(semanticsJson(r)));
    expect(Object.keys(json)).toEqual(['rows']);
    for (const row of json.rows)
      expect(Object.keys(row)).toEqual([
        'framework',
        'case',
        'mean_error',
        'var_error',
        'output_error',
        'running_var_error',
        'exact',
      ]);
    const refused = json.rows.find(
      (row: { framework: string; case: string }) => row.framework === 'detectron2' && row.case === 'empty',
    );
    expect(refused).toMatchObject({ mean_error: null, var_error: null, exact: false });
    // PyTorch keeps the counts of a .half() model in float16: 100,352 overflows, NaN everywhere.
    const counts = json.rows.find(
      (row: { framework: string; case: string }) => row.framework === 'pytorch' && row.case === 'half-counts',
    );
    expect(counts).toMatchObject({ running_var_error: null, exact: false });
  });

  it('the table names every case and framework, and says why a row has no numbers', () => {
    const text = semanticsTable(r);
    expect(text).toMatch(/empty: 3 rows over 4 devices/);
    expect(text).toMatch(/detectron2 .*does not support zero batch size/);
    expect(text).toMatch(/pytorch .*non-finite statistics/);
  });

  it('the plot has a panel per case and names the rows it cannot draw', async () => {
    const spec = semanticsPlot(r) as { facet: { column: { sort: string[] } }; title: { subtitle: string[] } };
    expect(spec.facet.column.sort).toEqual(['empty', 'half-counts']);
    expect(spec.title.subtitle[1]).toMatch(/pytorch on half-counts/);
    expect(await renderSvg(semanticsPlot(r))).toMatch(/^<svg/);
  });
});

describe('syncbn-sim semantics', () => {
  it('--json --plot: the documented JSON on stdout, the SVG and its spec on disk', () => {
    const dir = tempDir();
    const plot = join(dir, 's.svg');
    const r = runCli([
      'semantics',
      '--frameworks',
      'pytorch,keras',
      '--cases',
      'even,offset',
      '--json',
      '--plot',
      plot,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).rows).toHaveLength(4);
    expect(existsSync(plot)).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 's.vl.json'), 'utf8')).facet.column.sort).toEqual(['even', 'offset']);
  });

  it.each([
    [['--frameworks', 'pytorch,torch'], /--frameworks: unknown framework 'torch'/],
    [['--dtype', 'float8'], /--dtype must be/],
  ])('bad input %j: one line, exit 2', (args, message) => {
    const r = runCli(['semantics', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
