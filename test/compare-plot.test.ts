/**
 * `compare --plot/--html/--png`, on a synthetic batch and on captured activations (.npz): every
 * file written and said, the page holding the table the command prints, and bad targets refused
 * before any work with one line and exit 2. The figures themselves are checked in plots.test.ts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/tensor/npy.js';
import { syntheticBatch } from '../src/tensor/synthetic.js';
import { ROOT, runMain, tempDir } from './helpers.js';

const ACTS = join(ROOT, 'test', 'fixtures', 'npz', 'acts-deflated.npz');
const SMALL = ['--devices', '4', '--shape', '16,3,2,2', '--threads', '1'];

/** The three outputs in a fresh directory. */
function targets(): { html: string; png: string; svg: string; args: string[] } {
  const dir = tempDir('syncbn-compare-plot-');
  const html = join(dir, 'report.html');
  const png = join(dir, 'figure.png');
  const svg = join(dir, 'figure.svg');
  return { html, png, svg, args: ['--html', html, '--png', png, '--plot', svg] };
}

/** Checks the files are there and sane: the page holds the plot's title and the table printed. */
function checkWritten(t: ReturnType<typeof targets>, stdout: string, title: string, tableLine: string): void {
  expect(stdout).toContain(`plot written to ${t.svg} and ${t.svg.replace(/\.svg$/, '.vl.json')}`);
  expect(stdout).toContain(`report written to ${t.html}`);
  expect(stdout).toContain(`image written to ${t.png}`);
  const page = readFileSync(t.html, 'utf8');
  expect(page).toContain(title);
  expect(stdout).toContain(tableLine);
  expect(page).toContain(tableLine);
  expect(readFileSync(t.svg, 'utf8')).toMatch(/^<svg/);
  expect(JSON.parse(readFileSync(t.svg.replace(/\.svg$/, '.vl.json'), 'utf8')).title.text).toContain(title);
  expect(PNG.sync.read(readFileSync(t.png)).width).toBeGreaterThan(600);
}

describe('compare --plot, --html, --png', () => {
  it('on a synthetic batch: writes all three and says so after the tables', async () => {
    const t = targets();
    const r = await runMain(['compare', ...SMALL, ...t.args]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const table = r.stdout.split('\n').find((l) => l.startsWith('ghost:2'))!;
    expect(table).toBeDefined();
    checkWritten(t, r.stdout, 'compare: one batch split over 4 devices', table);
    expect(r.stdout.indexOf(table)).toBeLessThan(r.stdout.indexOf('plot written to'));
  });

  it('with --json: stdout is the JSON alone, the files are still written', async () => {
    const t = targets();
    const r = await runMain(['compare', ...SMALL, '--json', '--png', t.png]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).devices).toBe(4);
    expect(existsSync(t.png)).toBe(true);
  });

  it('on captured activations (--input acts.npz): the per-layer plot', async () => {
    const t = targets();
    const r = await runMain(['compare', '--input', ACTS, '--devices', '4', ...t.args]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const table = r.stdout.split('\n').find((l) => l.startsWith('bn1 '))!;
    expect(table).toBeDefined();
    checkWritten(t, r.stdout, 'Stray of the device means in each captured layer', table);
  });

  it('refuses a target of the wrong kind, or one that would overwrite an input, before any work: one line, exit 2', async () => {
    const dir = tempDir('syncbn-compare-plot-');
    // Inputs named like outputs: the .npy reader does not mind the name, the output check must.
    const x = join(dir, 'x.svg');
    const dy = join(dir, 'dy.png');
    const spec = join(dir, 'y.vl.json');
    writeFileSync(x, encodeNpy(syntheticBatch([8, 2], 1, 'float32')));
    writeFileSync(dy, encodeNpy(syntheticBatch([8, 2], 2, 'float32')));
    writeFileSync(spec, encodeNpy(syntheticBatch([8, 2], 1, 'float32')));
    const cases: [string[], RegExp][] = [
      [['--html', join(dir, 'x.htm')], /^syncbn-sim: error: --html must name an \.html file, got '.*x\.htm'$/],
      [['--input', ACTS, '--html', join(dir, 'x.htm')], /--html must name an \.html file/],
      [['--png', join(dir, 'x.jpg')], /--png must name a \.png file, got '.*x\.jpg'/],
      [['--plot', join(dir, 'x.png')], /--plot must name an \.svg file/],
      [['--input', x, '--plot', x], /output .*x\.svg is the --input file .*x\.svg/],
      [['--input', spec, '--plot', join(dir, 'y.svg')], /output .*y\.vl\.json is the --input file/],
      [['--input', x, '--grad-output', dy, '--png', dy], /output .*dy\.png is the --grad-output file/],
    ];
    for (const [args, message] of cases) {
      const r = await runMain(['compare', '--devices', '2', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
    for (const f of [x, dy, spec]) expect(readFileSync(f).subarray(1, 6).toString('latin1')).toBe('NUMPY');
  });
});

describe('constant channels and arrays with no scale are said, not dropped in silence', () => {
  it('a constant channel: no point, named in the subtitle, and the summary is over the channels that vary', async () => {
    const dir = tempDir('syncbn-compare-const-');
    const shape = [16, 3, 2, 2];
    // Channel 1 is 5 everywhere; the others vary.
    const data = Float32Array.from({ length: 16 * 12 }, (_, i) => (Math.floor(i / 4) % 3 === 1 ? 5 : Math.sin(i)));
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ data, shape }));
    const svg = join(dir, 'x.svg');
    const r = await runMain(['compare', '--input', join(dir, 'x.npy'), '--devices', '4', '--plot', svg]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Over the 2 of 3 channels that vary (a constant channel has no std to measure in)');
    const spec = readFileSync(svg.replace(/\.svg$/, '.vl.json'), 'utf8');
    expect(spec).toContain('no point for channel 1: constant over the batch (no std to measure in)');
    expect(spec).not.toContain('"channel": "channel 1"');
  });

  it('every channel constant: said in the table, no channel legend, and the arrays that are all zeros named', async () => {
    const dir = tempDir('syncbn-compare-const-');
    writeFileSync(join(dir, 'x.npy'), encodeNpy({ data: new Float32Array(16 * 12).fill(5), shape: [16, 3, 2, 2] }));
    const svg = join(dir, 'x.svg');
    const r = await runMain(['compare', '--input', join(dir, 'x.npy'), '--devices', '4', '--plot', svg]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'Every channel is constant over the batch: there is no std for device means to stray in.',
    );
    const spec = JSON.parse(readFileSync(svg.replace(/\.svg$/, '.vl.json'), 'utf8'));
    const text = JSON.stringify(spec);
    expect(text).toContain('no point for channel 0, channel 1, channel 2: constant over the batch');
    expect(text).toMatch(/no point for output y, grad gamma dL\/dgamma: zero everywhere in single-device BN/);
    expect(text).toContain('"legend":null');
  });
});
