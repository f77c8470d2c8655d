/** `syncbn-sim run` end to end: outputs, stats.json, and every kind of bad input. */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/tensor/npy.js';
import { readNpyFile } from '../src/tensor/npy.js';
import { runCli, runMain, tempDir } from './helpers.js';

/** A raw .npy v1.0 file with any descr, for dtypes the writer refuses to produce. */
function rawNpy(descr: string, shape: number[], dataBytes: number, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header = `${header + ' '.repeat((64 - (total % 64)) % 64)}\n`;
  const bytes = new Uint8Array(10 + header.length + dataBytes);
  bytes.set([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  bytes.set(Buffer.from(header, 'latin1'), 10);
  return bytes;
}

let dir: string;
const path = (name: string) => join(dir, name);
const f32 = (shape: number[], fill: (i: number) => number = (i) => Math.sin(i)) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return encodeNpy({ data: Float32Array.from({ length: n }, (_, i) => fill(i)), shape });
};

beforeAll(() => {
  dir = tempDir('syncbn-cli-');
  writeFileSync(path('x.npy'), f32([6, 3, 2, 2]));
  writeFileSync(
    path('dy.npy'),
    f32([6, 3, 2, 2], (i) => Math.cos(i)),
  );
  writeFileSync(
    path('gamma3.npy'),
    f32([3], () => 2),
  );
  writeFileSync(
    path('gamma4.npy'),
    f32([4], () => 2),
  );
  writeFileSync(
    path('gamma2d.npy'),
    f32([3, 1], () => 2),
  );
  writeFileSync(path('dy-wrong.npy'), f32([6, 3, 4]));
  writeFileSync(path('x3d.npy'), f32([6, 3, 4]));
  writeFileSync(path('x-2d.npy'), f32([6, 3]));
  writeFileSync(path('x-zero-c.npy'), f32([6, 0]));
  writeFileSync(path('x-one-row.npy'), f32([1, 3]));
  writeFileSync(
    path('x-nan.npy'),
    f32([4, 2], (i) => (i === 5 ? NaN : i)),
  );
  writeFileSync(
    path('x-inf.npy'),
    f32([4, 2], (i) => (i === 2 ? -Infinity : i)),
  );
  writeFileSync(path('x-int.npy'), rawNpy('<i4', [4, 2], 32));
  writeFileSync(path('x-fortran.npy'), rawNpy('<f4', [4, 2], 32, true));
  writeFileSync(path('not-npy.npy'), 'hello, this is text\n');
  const whole = f32([6, 3]);
  writeFileSync(path('truncated.npy'), whole.subarray(0, whole.length - 8));
  writeFileSync(path('a-file'), 'x');
  mkdirSync(path('a-dir'));
});

describe('run writes what it promises', () => {
  it('train mode with gradients: arrays, running stats and stats.json', async () => {
    const out = path('out-train');
    const r = runCli(['run', '--input', path('x.npy'), '--grad-output', path('dy.npy'), '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'grad_bias.npy',
      'grad_input.npy',
      'grad_weight.npy',
      'output.npy',
      'running_mean.npy',
      'running_var.npy',
      'stats.json',
    ]);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(stats.global.count).toBe(24);
    expect(stats.global.mean).toHaveLength(3);
    // Normalized output has zero mean and unit (biased) variance up to eps, per channel.
    const y = readNpyFile(join(out, 'output.npy'));
    expect(y.shape).toEqual([6, 3, 2, 2]);
    let s = 0;
    for (let n = 0; n < 6; n++) for (let i = 0; i < 4; i++) s += y.data[n * 12 + i];
    expect(Math.abs(s / 24)).toBeLessThan(1e-6);
    const rm = readNpyFile(join(out, 'running_mean.npy')).data;
    expect(rm[0]).toBeCloseTo(0.1 * stats.global.mean[0], 6);
  });

  it('eval mode writes no running statistics and normalizes with the given ones', async () => {
    const out = path('out-eval');
    const r = await runMain([
      'run',
      '--input',
      path('x.npy'),
      '--eval',
      '--weight',
      path('gamma3.npy'),
      '--out',
      out,
      '--json',
    ]);
    expect(r.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['output.npy', 'stats.json']);
    const printed = JSON.parse(r.stdout);
    expect(printed.mode).toBe('eval');
    const x = readNpyFile(path('x.npy')).data;
    const y = readNpyFile(join(out, 'output.npy')).data;
    expect(y[7]).toBeCloseTo((2 * x[7]) / Math.sqrt(1 + 1e-5), 6);
  });

  it('prints a readable table by default', async () => {
    const r = await runMain(['run', '--input', path('x.npy'), '--out', path('out-table')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/batch mean/);
    expect(r.stdout).toMatch(/wrote 4 files/);
  });
});

describe('bad input: one clear line, exit code 2, no output files', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['missing file', () => ['--input', path('nope.npy')], /nope\.npy.*(no such file|not found|does not exist)/i],
    ['a directory as input', () => ['--input', path('a-dir')], /a-dir/],
    ['not an .npy', () => ['--input', path('not-npy.npy')], /not-npy\.npy.*(magic|not a \.npy)/i],
    ['truncated data', () => ['--input', path('truncated.npy')], /truncated/i],
    ['unsupported dtype', () => ['--input', path('x-int.npy')], /dtype/i],
    ['Fortran order', () => ['--input', path('x-fortran.npy')], /fortran/i],
    ['3-D input', () => ['--input', path('x3d.npy')], /2-D \[N,C\] or 4-D/],
    ['zero channels', () => ['--input', path('x-zero-c.npy')], /zero channels/],
    [
      'one value per channel in train mode',
      () => ['--input', path('x-one-row.npy')],
      /more than 1 value per channel when training/,
    ],
    [
      'weight of the wrong length',
      () => ['--input', path('x.npy'), '--weight', path('gamma4.npy')],
      /weight must have shape \[3\]/,
    ],
    ['weight that is not 1-D', () => ['--input', path('x.npy'), '--weight', path('gamma2d.npy')], /weight.*1-D/],
    [
      'bias of the wrong length',
      () => ['--input', path('x.npy'), '--bias', path('gamma4.npy')],
      /bias must have shape \[3\]/,
    ],
    [
      'running mean of the wrong length',
      () => ['--input', path('x.npy'), '--running-mean', path('gamma4.npy')],
      /running mean must have shape \[3\]/,
    ],
    [
      'running var of the wrong length',
      () => ['--input', path('x.npy'), '--running-var', path('gamma4.npy')],
      /running var must have shape \[3\]/,
    ],
    [
      'grad output of another shape',
      () => ['--input', path('x.npy'), '--grad-output', path('dy-wrong.npy')],
      /grad output must have the input's shape/,
    ],
    ['NaN in the input', () => ['--input', path('x-nan.npy')], /NaN/],
    ['infinity in the input', () => ['--input', path('x-inf.npy')], /-Infinity/],
    ['eps = 0', () => ['--input', path('x.npy'), '--eps', '0'], /--eps must be a number > 0, got '0'/],
    ['eps < 0', () => ['--input', path('x.npy'), '--eps', '-1e-5'], /--eps must be a number > 0, got '-1e-5'/],
    [
      'eps that rounds to 0',
      () => ['--input', path('x.npy'), '--eps', '1e-400'],
      /--eps must be a number > 0, got '1e-400' \(it rounds to 0/,
    ],
    [
      'momentum > 1',
      () => ['--input', path('x.npy'), '--momentum', '1.5'],
      /--momentum must lie in \[0, 1\], got '1.5'/,
    ],
    [
      'momentum < 0',
      () => ['--input', path('x.npy'), '--momentum', '-0.1'],
      /--momentum must lie in \[0, 1\], got '-0.1'/,
    ],
    [
      'momentum not a number',
      () => ['--input', path('x.npy'), '--momentum', 'fast'],
      /--momentum must be a finite number, got 'fast'/,
    ],
    ['unknown stats method', () => ['--input', path('x.npy'), '--stats', 'magic'], /stats.*magic/],
  ];

  it.each(cases)('%s', async (_what, args, message) => {
    const out = path(`out-bad-${Math.random().toString(36).slice(2)}`);
    const r = await runMain(['run', ...args(), '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stderr.trim().split('\n')[0]).toMatch(message);
    let written: string[] = [];
    try {
      written = readdirSync(out);
    } catch {
      // the directory was never created: nothing written
    }
    expect(written).toEqual([]);
  });

  it('an output directory that cannot be written', async () => {
    const r = await runMain(['run', '--input', path('x.npy'), '--out', join(path('a-file'), 'sub')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot create output directory/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a missing required option', async () => {
    const r = await runMain(['run', '--out', path('out-x')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--input/);
  });
});

describe('run on simulated devices', () => {
  it('stats.json gains every device and the traffic', async () => {
    const out = path('out-devices');
    const r = await runMain([
      'run',
      '--input',
      path('x.npy'),
      '--grad-output',
      path('dy.npy'),
      '--devices',
      '4',
      '--mode',
      'local',
      '--out',
      out,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(stats.devices).toHaveLength(4);
    expect(stats.devices.map((d: { rank: number }) => d.rank)).toEqual([0, 1, 2, 3]);
    // 6 rows over 4 devices: 2, 2, 1, 1 rows of 4 values per channel.
    expect(stats.devices.map((d: { count: number }) => d.count)).toEqual([8, 8, 4, 4]);
    expect(stats.comm).toEqual({ algorithm: 'allgather', messages: 0, bytes: 0 });
    // Local mode: the .npy running statistics are rank 0's.
    const rm = readNpyFile(join(out, 'running_mean.npy')).data;
    expect(rm[1]).toBeCloseTo(stats.devices[0].running.mean[1], 6);
    expect(stats.devices[0].running.mean[1]).not.toBeCloseTo(stats.devices[3].running.mean[1], 6);
  });

  it('sync mode reports its messages and bytes', async () => {
    const r = await runMain([
      'run',
      '--input',
      path('x.npy'),
      '--devices',
      '4',
      '--algorithm',
      'allgather',
      '--out',
      path('out-sync'),
      '--json',
    ]);
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.comm).toEqual({ algorithm: 'allgather', messages: 12, bytes: 12 * 7 * 8 });
  });

  it.each([
    ['crash:1', /device rank 1 crashed in phase 'forward: all-reduce'/],
    ['hang:2', /device rank 2 stopped responding in phase 'forward: all-reduce'/],
    ['skip:3', /device rank 3 never joined the collective in phase 'forward: all-reduce'/],
  ])(
    '--inject-fault %s fails with exit 1, names rank and phase, writes nothing, leaves no thread',
    async (fault, message) => {
      const out = path(`out-fault-${fault.replace(':', '-')}`);
      const r = runCli(
        [
          'run',
          '--input',
          path('x.npy'),
          '--devices',
          '4',
          '--inject-fault',
          fault,
          '--timeout-ms',
          '1000',
          '--out',
          out,
        ],
        { timeoutMs: 30_000 },
      );
      // spawnSync returning at all shows that no worker thread kept the process alive.
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(() => readdirSync(out)).toThrow();
    },
  );

  it.each([
    [['--devices', '4', '--mode', 'group:3'], /K = 3 must divide the number of devices \(4\)/],
    [['--devices', '0'], /--devices.*not a whole number >= 1/],
    [['--devices', '4', '--mode', 'sideways'], /unknown mode 'sideways'/],
    [['--devices', '4', '--inject-fault', 'explode:1'], /not crash:RANK/],
    [['--devices', '4', '--inject-fault', 'crash:4'], /fault rank 4 is not a rank of 4 devices/],
    [['--devices', '4', '--mode', 'local', '--inject-fault', 'skip:1'], /needs a mode that communicates/],
    [['--devices', '4', '--algorithm', 'gossip'], /gossip/],
    [['--devices', '4', '--timeout-ms', '0'], /--timeout-ms must be a number > 0, got '0'/],
    [['--devices', '6', '--mode', 'local', '--input', 'x.npy'], /expected more than 1 value per channel/],
  ])('bad device options %j exit 2', async (args, message) => {
    const input = args.includes('--input') ? [] : ['--input', path('x.npy')];
    const fixed = args.map((a) => (a === 'x.npy' ? path('x-2d.npy') : a));
    const r = await runMain(['run', ...input, ...fixed, '--out', path('out-bad-devices')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(() => readdirSync(path('out-bad-devices'))).toThrow();
  });
});

describe('what run reports about its settings and results', () => {
  beforeAll(() => {
    // Finite float32 values near +-3e38: their squares overflow float32 sums (and a float32 running var).
    writeFileSync(
      path('x-huge.npy'),
      f32([8, 2], (i) => (i % 2 ? -3e38 : 3e38) * (0.9 + 0.01 * i)),
    );
  });

  it('stats.json and the table give the momentum used: 0.1 by default, 0.99 with --convention keras (never null)', async () => {
    const pytorch = await runMain(['run', '--input', path('x.npy'), '--out', path('out-momentum'), '--json']);
    expect(JSON.parse(pytorch.stdout).settings).toMatchObject({
      momentum: 0.1,
      eps: 1e-5,
      stats: 'sums',
      accumulator: 'float64',
      convention: 'pytorch',
    });
    expect(JSON.parse(readFileSync(path('out-momentum/stats.json'), 'utf8')).settings.momentum).toBe(0.1);
    const keras = await runMain([
      'run',
      '--input',
      path('x.npy'),
      '--out',
      path('out-momentum'),
      '--convention',
      'keras',
      '--json',
    ]);
    expect(JSON.parse(keras.stdout).settings.momentum).toBe(0.99);
    const table = await runMain(['run', '--input', path('x.npy'), '--out', path('out-momentum')]);
    expect(table.stdout.split('\n')[0]).toMatch(/stats: sums, eps 0\.00001, momentum 0\.1 \(pytorch\)/);
  });

  it('--stats shifted-sums with a zero shift says the results are those of sums, in the table and stats.json', async () => {
    const fresh = await runMain([
      'run',
      '--input',
      path('x.npy'),
      '--stats',
      'shifted-sums',
      '--out',
      path('out-shift'),
    ]);
    expect(fresh.status).toBe(0);
    expect(fresh.stdout).toMatch(
      /note: --stats shifted-sums shifts by the running mean; the shift is 0 in every channel, so there the results are exactly those of --stats sums/,
    );
    const stats = JSON.parse(readFileSync(path('out-shift/stats.json'), 'utf8'));
    expect(stats.settings.shift).toMatchObject({ by: 'the running mean before the step', zero_channels: [0, 1, 2] });
    const shifted = await runMain([
      'run',
      '--input',
      path('x.npy'),
      '--stats',
      'shifted-sums',
      '--running-mean',
      path('gamma3.npy'),
      '--out',
      path('out-shift'),
      '--json',
    ]);
    const shiftedStats = JSON.parse(shifted.stdout);
    expect(shiftedStats.settings.shift.zero_channels).toEqual([]);
    expect(shiftedStats.settings.shift.note).toBeUndefined();
    const sums = await runMain(['run', '--input', path('x.npy'), '--out', path('out-shift'), '--json']);
    expect(JSON.parse(sums.stdout).settings.shift).toBeUndefined();
  });

  it('float32 sums that overflow on finite data: one warning line, "overflow" in stats.json, files written, exit 0', async () => {
    const out = path('out-overflow');
    const r = await runMain(['run', '--input', path('x-huge.npy'), '--accumulator', 'float32', '--out', out, '--json']);
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^syncbn-sim: warning: the result overflowed to NaN or infinity in batch statistics \(channels 0, 1\), output\.npy \(channels 0, 1\)/,
    );
    expect(lines[0]).toMatch(/float32 sums overflow past 3\.4e\+38: use --accumulator float64/);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(stats.overflow.where[0]).toEqual({ in: 'batch statistics', channels: [0, 1] });
    expect(stats.overflow.where.map((w: { in: string }) => w.in)).toContain('output.npy');
    expect(readNpyFile(join(out, 'output.npy')).data.every((v) => Number.isNaN(v))).toBe(true);
  });

  it('a float32 running variance too large for its file is reported the same way; finite results say nothing', async () => {
    const r = await runMain(['run', '--input', path('x-huge.npy'), '--out', path('out-overflow-var'), '--json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /^syncbn-sim: warning: the result overflowed to NaN or infinity in running_var\.npy \(channels 0, 1\); the values exceed float32/,
    );
    expect(JSON.parse(r.stdout).overflow.where).toEqual([{ in: 'running_var.npy', channels: [0, 1] }]);
    const fine = await runMain(['run', '--input', path('x.npy'), '--out', path('out-overflow-none'), '--json']);
    expect(fine.stderr).toBe('');
    expect(JSON.parse(fine.stdout).overflow).toBeUndefined();
  });
});
