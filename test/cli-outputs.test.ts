/**
 * Outputs of the CLI are all or nothing on every exit path: a target that is a directory or an
 * input is refused up front, Ctrl-C during the write and a target that changes under the write
 * leave no temporary file and the earlier files intact, and a directory never mixes two runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/tensor/npy.js';
import { CLI, runCli, tempDir } from './helpers.js';

let dir: string;
const path = (name: string) => join(dir, name);
const f32 = (shape: number[], fill: (i: number) => number) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return encodeNpy({ data: Float32Array.from({ length: n }, (_, i) => fill(i)), shape });
};
const listing = (d: string) => readdirSync(d).sort();
const temporaries = (d: string) => readdirSync(d).filter((f) => f.startsWith('.'));
const snapshot = (d: string) =>
  Object.fromEntries(listing(d).map((f) => [f, readFileSync(join(d, f)).toString('base64')]));
/** The same, for the regular files only (skipping directories and temporaries). */
const snapshotFiles = (d: string) =>
  Object.fromEntries(
    listing(d)
      .filter((f) => !f.startsWith('.') && !statSync(join(d, f)).isDirectory())
      .map((f) => [f, readFileSync(join(d, f)).toString('base64')]),
  );

const ALL_RUN_FILES = [
  'grad_bias.npy',
  'grad_input.npy',
  'grad_weight.npy',
  'output.npy',
  'running_mean.npy',
  'running_var.npy',
  'stats.json',
];

/** An output directory holding a complete earlier run with gradients (a copy of one made in beforeAll). */
function earlierRun(name: string): string {
  const out = path(name);
  cpSync(path('reference-run'), out, { recursive: true });
  return out;
}

/** Starts the CLI with the test pause of the write; resolves once it is paused after its first temporary file. */
function startPaused(
  args: string[],
  gate: string,
): { child: ChildProcess; paused: Promise<string>; exit: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', SYNCBN_TEST_WRITE_GATE: gate },
  });
  let stderr = '';
  let onPause: (line: string) => void = () => {};
  const paused = new Promise<string>((resolve) => (onPause = resolve));
  child.stderr!.on('data', (d) => {
    stderr += d;
    const m = /test hook: paused after writing (\S+)/.exec(stderr);
    if (m) onPause(m[1]);
  });
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  );
  return { child, paused, exit };
}

beforeAll(() => {
  dir = tempDir('syncbn-outputs-');
  writeFileSync(
    path('x.npy'),
    f32([6, 3, 2, 2], (i) => Math.sin(i)),
  );
  writeFileSync(
    path('dy.npy'),
    f32([6, 3, 2, 2], (i) => Math.cos(i)),
  );
  // A larger batch (4 MiB), so that the interrupted write is a real one.
  writeFileSync(
    path('big.npy'),
    f32([256, 16, 16, 16], (i) => Math.sin(i * 0.37)),
  );
  const r = runCli(['run', '--input', path('x.npy'), '--grad-output', path('dy.npy'), '--out', path('reference-run')]);
  expect(r.status).toBe(0);
  expect(listing(path('reference-run'))).toEqual(ALL_RUN_FILES);
});

describe('run: targets refused up front', () => {
  it('an output name that is a directory: exit 2, one line, nothing written', () => {
    const out = path('out-dir-target');
    mkdirSync(join(out, 'stats.json'), { recursive: true });
    const r = runCli(['run', '--input', path('x.npy'), '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^syncbn-sim: error: output .*stats\.json is a directory/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(listing(out)).toEqual(['stats.json']);
    expect(readdirSync(join(out, 'stats.json'))).toEqual([]);
  });

  it('an input stored where an output goes (--input OUT/output.npy): exit 2, the input untouched', () => {
    const out = earlierRun('out-input-inside');
    writeFileSync(join(out, 'output.npy'), readFileSync(path('x.npy')));
    const before = snapshot(out);
    const r = runCli(['run', '--input', join(out, 'output.npy'), '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/output .*output\.npy is the --input file/);
    expect(snapshot(out)).toEqual(before);
  });

  it('an input that a rerun would remove as stale (--weight OUT/grad_bias.npy without --grad-output) is refused too', () => {
    const out = earlierRun('out-input-stale');
    const before = snapshot(out);
    const r = runCli(['run', '--input', path('x.npy'), '--weight', join(out, 'grad_bias.npy'), '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/grad_bias\.npy is the --weight file/);
    expect(snapshot(out)).toEqual(before);
  });
});

describe('run: a directory never holds files of two runs', () => {
  it('a rerun without --grad-output removes the earlier grad_*.npy, and says so', () => {
    const out = earlierRun('out-rerun');
    const r = runCli(['run', '--input', path('x.npy'), '--out', out]);
    expect(r.status).toBe(0);
    expect(listing(out)).toEqual(['output.npy', 'running_mean.npy', 'running_var.npy', 'stats.json']);
    expect(r.stdout).toMatch(/removed grad_input\.npy, grad_weight\.npy, grad_bias\.npy of an earlier run/);
    const json = runCli(['run', '--input', path('x.npy'), '--eval', '--out', out, '--json']);
    expect(JSON.parse(json.stdout).removed).toEqual(['running_mean.npy', 'running_var.npy']);
    expect(listing(out)).toEqual(['output.npy', 'stats.json']);
  });

  it('files of other names are left alone', () => {
    const out = earlierRun('out-other-files');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    runCli(['run', '--input', path('x.npy'), '--out', out]);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe('run: interrupted or failing writes leave the earlier run whole', () => {
  it('Ctrl-C during the write of a large result: exit 130, no temporary file, the earlier files intact', async () => {
    const out = earlierRun('out-sigint');
    const before = snapshot(out);
    const gate = path('gate-sigint');
    const run = startPaused(['run', '--input', path('big.npy'), '--out', out], gate);
    const temporary = await run.paused;
    // The signal lands during the write: a temporary file of the new run is on disk.
    expect(temporaries(out)).toEqual([temporary.split('/').pop()]);
    run.child.kill('SIGINT');
    const { code, stderr } = await run.exit;
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted: .*nothing was written/);
    expect(temporaries(out)).toEqual([]);
    expect(snapshot(out)).toEqual(before);
  });

  it('Ctrl-C during the write into a new directory leaves no directory behind', async () => {
    const out = path('out-sigint-new');
    const run = startPaused(['run', '--input', path('big.npy'), '--out', out], path('gate-sigint-new'));
    await run.paused;
    run.child.kill('SIGINT');
    expect((await run.exit).code).toBe(130);
    expect(() => readdirSync(out)).toThrow();
  });

  it('a target that turns into a directory during the write: exit 2, no temporary, the earlier files intact', async () => {
    const out = earlierRun('out-race');
    const gate = path('gate-race');
    // Another eps: the new run's files would differ from the earlier ones.
    const run = startPaused(
      ['run', '--input', path('x.npy'), '--grad-output', path('dy.npy'), '--eps', '0.5', '--out', out],
      gate,
    );
    await run.paused;
    rmSync(join(out, 'stats.json'));
    mkdirSync(join(out, 'stats.json'));
    const before = snapshotFiles(out);
    writeFileSync(gate, '');
    const { code, stderr } = await run.exit;
    expect(code).toBe(2);
    expect(stderr).toMatch(/stats\.json is a directory/);
    expect(temporaries(out)).toEqual([]);
    expect(listing(out)).toEqual(ALL_RUN_FILES);
    expect(snapshotFiles(out)).toEqual(before);
  });
});

describe('--plot: all or nothing', () => {
  it('a plot path that is a directory is refused before any work: exit 2, no temporary file', () => {
    const plots = path('plots-dir');
    mkdirSync(join(plots, 'd.svg'), { recursive: true });
    const r = runCli(['cost', '--devices', '2,8', '--plot', join(plots, 'd.svg')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/d\.svg is a directory/);
    expect(r.stdout).toBe('');
    expect(listing(plots)).toEqual(['d.svg']);
  });

  it('the spec beside the plot may not be the input either', () => {
    const plots = path('plots-input');
    mkdirSync(plots);
    writeFileSync(join(plots, 'p.vl.json'), readFileSync(path('x.npy')));
    const r = runCli(['noise', '--input', join(plots, 'p.vl.json'), '--trials', '2', '--plot', join(plots, 'p.svg')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/p\.vl\.json is the --input file/);
  });

  it('Ctrl-C while the plot is written: exit 130, neither file nor any temporary', async () => {
    const plots = path('plots-sigint');
    mkdirSync(plots);
    const run = startPaused(['cost', '--devices', '2,8', '--plot', join(plots, 'c.svg')], path('gate-plot'));
    await run.paused;
    expect(temporaries(plots)).toHaveLength(1);
    run.child.kill('SIGINT');
    expect((await run.exit).code).toBe(130);
    expect(readdirSync(plots)).toEqual([]);
  });

  it('--plot, --html and --png in three directories are one commit: Ctrl-C at the first file leaves none', async () => {
    const dirs = ['svg', 'html', 'png'].map((d) => path(`three-sigint-${d}`));
    for (const d of dirs) mkdirSync(d);
    const run = startPaused(
      [
        ...['cost', '--devices', '2,8', '--plot', join(dirs[0], 'c.svg')],
        ...['--html', join(dirs[1], 'c.html'), '--png', join(dirs[2], 'c.png')],
      ],
      path('gate-three'),
    );
    await run.paused;
    run.child.kill('SIGINT');
    expect((await run.exit).code).toBe(130);
    for (const d of dirs) expect(readdirSync(d)).toEqual([]);
  });

  it('a failure at the last of three directories leaves the first two as they were', async () => {
    const dirs = ['svg', 'html', 'png'].map((d) => path(`three-fail-${d}`));
    for (const d of dirs) mkdirSync(d);
    writeFileSync(join(dirs[0], 'c.svg'), 'the earlier plot');
    const gate = path('gate-three-fail');
    const run = startPaused(
      [
        ...['cost', '--devices', '2,8', '--plot', join(dirs[0], 'c.svg')],
        ...['--html', join(dirs[1], 'c.html'), '--png', join(dirs[2], 'c.png')],
      ],
      gate,
    );
    await run.paused;
    mkdirSync(join(dirs[2], 'c.png'));
    writeFileSync(gate, '');
    const { code, stderr } = await run.exit;
    expect(code).toBe(2);
    expect(stderr).toMatch(/c\.png is a directory/);
    expect(listing(dirs[0])).toEqual(['c.svg']);
    expect(readFileSync(join(dirs[0], 'c.svg'), 'utf8')).toBe('the earlier plot');
    expect(listing(dirs[1])).toEqual([]);
    expect(listing(dirs[2])).toEqual(['c.png']);
  });
});
