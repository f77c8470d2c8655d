/**
 * `syncbn-sim cost --collective` and `--model` end to end: the JSON shapes scripts rely on, the
 * table, and bad input (one line, exit 2). The usage errors run main() in this process (they come
 * before any work); two cases go through the built CLI.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/program.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers.js';

async function inProcess(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const status = await main(['node', 'syncbn-sim', 'cost', ...args]);
  vi.restoreAllMocks();
  return { status, stdout, stderr };
}

afterEach(() => vi.restoreAllMocks());

describe('cost --collective', () => {
  it('--json: kind, bytes, ranks, a row per algorithm and protocol with algbw and busbw in bytes/s, and the best', async () => {
    const r = await inProcess([
      '--collective',
      'all-reduce',
      '--bytes',
      '65536',
      '--nodes',
      '2',
      '--gpus-per-node',
      '4',
      '--json',
    ]);
    expect(r.status).toBe(0);
    const { collective } = JSON.parse(r.stdout);
    expect(Object.keys(collective)).toEqual(['kind', 'bytes', 'ranks', 'rows', 'best']);
    expect(collective).toMatchObject({ kind: 'all-reduce', bytes: 65536, ranks: 8 });
    expect(collective.rows).toHaveLength(7 * 3);
    for (const row of collective.rows) {
      expect(Object.keys(row)).toEqual(['algorithm', 'protocol', 'seconds', 'algbw', 'busbw']);
      expect(row.algbw).toBeCloseTo(65536 / row.seconds, 3);
      expect(row.busbw).toBeCloseTo((row.algbw * 2 * 7) / 8, 3);
    }
    expect(Object.keys(collective.best)).toEqual(['algorithm', 'protocol', 'seconds']);
    expect(collective.best.seconds).toBe(Math.min(...collective.rows.map((x: { seconds: number }) => x.seconds)));
  });

  it('a flat network: --link with one --devices count; the table marks auto', async () => {
    const r = await inProcess(['--collective', 'all-gather', '--bytes', '4096', '--link', 'ib-edr', '--devices', '4']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/all-gather of 4096 bytes \(float32\) on 4 nodes x 1 GPU/);
    expect(r.stdout).toMatch(/<- auto/);
  });
});

describe('cost --model', () => {
  it('--json: compute, gradient all-reduce and a row per BN mode with its share of the iteration', async () => {
    const r = await inProcess(['--model', 'resnet50', '--per-gpu-batch', '32', '--nodes', '4', '--json']);
    expect(r.status).toBe(0);
    const document = JSON.parse(r.stdout);
    const { iteration } = document;
    // The settings the table names, so that `syncbn-sim report` can draw the page again.
    expect(Object.keys(document)).toEqual(['iteration', 'network', 'compute', 'pattern', 'per_gpu_batch']);
    expect(document.per_gpu_batch).toBe(32);
    expect(iteration.compute_seconds).toBeCloseTo(32 / 2470, 12);
    expect(iteration.grad_allreduce_seconds).toBeGreaterThan(0);
    expect(iteration.rows.map((row: { bn: string }) => row.bn)).toEqual(['sync', 'group:8', 'local']);
    for (const row of iteration.rows) {
      for (const key of ['bn', 'pattern', 'seconds', 'share_of_iteration']) expect(row).toHaveProperty(key);
      expect(row.pattern).toBe('pytorch');
    }
  });

  it('--simulate adds simulated: seconds, analytic_seconds and wait_seconds (executed equals analytic without jitter)', () => {
    const args = [
      'cost',
      '--channels',
      '8,16,8',
      '--params',
      '1000',
      '--per-gpu-batch',
      '4',
      '--step-ms',
      '1',
      '--nodes',
      '2',
      '--gpus-per-node',
      '4',
      '--simulate',
      '--pattern',
      'keras',
      '--json',
    ];
    const r = runCli(args);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Without jitter nobody waits: the table says 0, not the rounding of the timeline's sums.
    const table = runCli(args.filter((a) => a !== '--json'));
    for (const line of table.stdout.split('\n').filter((l) => /^8 {2}2x4/.test(l))) expect(line).toMatch(/ 0$/);
    const { iteration, simulation } = JSON.parse(r.stdout);
    expect(simulation).toEqual({ jitter_ms: 0, straggler: null, seed: 0 });
    for (const row of iteration.rows) {
      expect(Object.keys(row.simulated)).toEqual(
        expect.arrayContaining(['seconds', 'analytic_seconds', 'wait_seconds']),
      );
      expect(Math.abs(row.simulated.seconds / row.simulated.analytic_seconds - 1)).toBeLessThan(0.01);
    }
  });

  it('--plot draws BN time and share against W, and writes its spec beside it', () => {
    const dir = tempDir('syncbn-cost-plot-');
    const r = runCli([
      'cost',
      '--model',
      'resnet50',
      '--per-gpu-batch',
      '32',
      '--nodes',
      '1,4,16',
      '--plot',
      join(dir, 'bn.svg'),
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/plot written to/);
    expect(readFileSync(join(dir, 'bn.svg'), 'utf8')).toMatch(/^<svg/);
    const spec = JSON.parse(readFileSync(join(dir, 'bn.vl.json'), 'utf8'));
    expect(spec.data.values.map((v: { devices: number }) => v.devices)).toEqual([8, 8, 8, 32, 32, 32, 128, 128, 128]);
    // --html: one page with the table and the plot.
    const html = runCli([
      'cost',
      '--model',
      'lenet-bn',
      '--per-gpu-batch',
      '8',
      '--step-ms',
      '1',
      '--nodes',
      '1,2',
      '--html',
      join(dir, 'bn.html'),
    ]);
    expect(html.status).toBe(0);
    expect(readFileSync(join(dir, 'bn.html'), 'utf8')).toMatch(/<!DOCTYPE html>[\s\S]*group:8/);
  });

  it('a sweep over --nodes: one entry per node count', async () => {
    const r = await inProcess([
      '--model',
      'lenet-bn',
      '--per-gpu-batch',
      '8',
      '--step-ms',
      '0.5',
      '--nodes',
      '1,2,4',
      '--json',
    ]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).sweep.map((s: { devices: number }) => s.devices)).toEqual([8, 16, 32]);
  });
});

describe('bad input: one line, exit 2', () => {
  it.each([
    [['--collective', 'all-reduce'], /--collective needs --bytes/],
    [
      ['--collective', 'reduce-scatter', '--bytes', '8'],
      /--collective must be all-reduce or all-gather, got 'reduce-scatter'/,
    ],
    [['--collective', 'all-reduce', '--bytes', '0'], /--bytes must be a whole number >= 1, got '0'/],
    [['--collective', 'all-reduce', '--bytes', '8', '--nodes', '0'], /--nodes: 0 is out of range/],
    [['--collective', 'all-reduce', '--bytes', '8', '--model', 'resnet50'], /exclude each other/],
    [['--collective', 'all-reduce', '--bytes', '8', '--alpha', '1e-6'], /--alpha belongs to the flat model/],
    [['--collective', 'all-reduce', '--bytes', '8', '--intra', 'nvlink-b200'], /unknown link 'nvlink-b200'/],
    [['--collective', 'all-reduce', '--bytes', '8', '--inter', 'pcie4'], /--inter pcie4: pcie4 joins GPUs of one node/],
    [['--collective', 'all-reduce', '--bytes', '8', '--inter-beta', '0'], /--inter-beta must be a number > 0/],
    [
      ['--collective', 'all-reduce', '--bytes', '8', '--nics-per-node', '0'],
      /--nics-per-node must be a whole number >= 1/,
    ],
    [['--collective', 'all-reduce', '--bytes', '8', '--gpus-per-node', '1000'], /--gpus-per-node must be at most 256/],
    [
      ['--collective', 'all-reduce', '--bytes', '8', '--nodes', '2', '--intra-alpha', '-1'],
      /--intra-alpha must be >= 0/,
    ],
    [['--collective', 'all-reduce', '--bytes', '8', '--link', 'ib-hdr'], /needs one --devices count/],
    [
      ['--collective', 'all-reduce', '--bytes', '8', '--link', 'ib-hdr', '--devices', '4', '--nodes', '2'],
      /--link .* and --nodes exclude each other/,
    ],
    [['--model', 'resnet50'], /needs --per-gpu-batch/],
    [['--model', 'resnet50', '--per-gpu-batch', '8', '--gpu', 'h100'], /give --step-ms/],
    [['--model', 'resnet50', '--per-gpu-batch', '8', '--bn', 'group:3'], /group:3: K must divide the 256 devices/],
    [['--model', 'resnet50', '--per-gpu-batch', '8', '--bn', 'ghost:2'], /unknown mode 'ghost:2'/],
    [['--model', 'resnet50', '--per-gpu-batch', '8', '--jitter-ms', '1'], /need --simulate/],
    [['--model', 'resnet50', '--per-gpu-batch', '8', '--simulate', '--straggler', 'x'], /--straggler must be RANK:MS/],
    [
      ['--model', 'resnet50', '--per-gpu-batch', '8', '--simulate', '--straggler', '999:1'],
      /rank 999 is not among the 256 devices/,
    ],
    [['--model', 'resnet50', '--per-gpu-batch', '8', '--simulate'], /MiB of vectors/],
    [['--model', 'resnet50', '--per-gpu-batch', '8', '--csv'], /prints a table or --json \(and --plot\)/],
    [['--per-gpu-batch', '8', '--channels', '4'], /--model, or --channels and --params/],
    [['--nodes', '4'], /--nodes needs --collective or --model/],
    [['--collective', 'all-reduce', '--bytes', '8', '--html', 'x.html'], /--collective prints a table or --json/],
  ])('%j', async (args, message) => {
    const r = await inProcess(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^syncbn-sim: error: /);
    expect(lines[0]).toMatch(message);
  });

  it('through the built CLI too', () => {
    const r = runCli(['cost', '--collective', 'all-reduce', '--bytes', '2']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'syncbn-sim: error: --bytes 2 is less than one float32 value (4 bytes)',
    ]);
  });
});
