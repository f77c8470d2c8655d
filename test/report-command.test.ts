/**
 * `syncbn-sim report RESULT.json --out FILE.html`: a saved --json result drawn again. The page must
 * be byte for byte the one `--html` writes in the run that saved the result; the committed results
 * in test/fixtures/saved (scripts/make_saved_fixtures.sh) must keep reading; and every file that is
 * not a whole result gets one line naming the file and what is wrong, exit 2, nothing written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { schemaProblem } from '../src/report/saved-schemas.js';
import { ROOT, runMain, tempDir } from './helpers.js';

const SAVED = join(ROOT, 'test', 'fixtures', 'saved');
const ACTS = join(ROOT, 'test', 'fixtures', 'npz', 'acts-deflated.npz');

/** Runs the CLI with --json and --html at once, then `report` on the JSON it printed. */
async function savedAndRedrawn(args: string[]): Promise<{ page: string; redrawn: string; stdout: string }> {
  const dir = tempDir('syncbn-report-');
  const run = await runMain([...args, '--json', '--html', join(dir, 'run.html')]);
  expect(run.status, run.stderr).toBe(0);
  writeFileSync(join(dir, 'result.json'), run.stdout);
  const report = await runMain(['report', join(dir, 'result.json'), '--out', join(dir, 'report.html')]);
  expect(report.status, report.stderr).toBe(0);
  return {
    page: readFileSync(join(dir, 'run.html'), 'utf8'),
    redrawn: readFileSync(join(dir, 'report.html'), 'utf8'),
    stdout: report.stdout,
  };
}

describe('report draws the page --html drew', () => {
  const cases: Record<string, string[]> = {
    noise: ['noise', '--batch-sizes', '2,8', '--devices', '2', '--threads', '1', '--trials', '10', '--channels', '2'],
    'noise --input ACTS.npz': [
      'noise',
      '--input',
      ACTS,
      '--batch-sizes',
      '2,4',
      '--devices',
      '2',
      '--threads',
      '1',
      '--trials',
      '10',
    ],
    precision: ['precision', '--rows', '16', '--channels', '2', '--devices', '2', '--threads', '1', '--trials', '1'],
    cost: ['cost', '--devices', '2,8,64'],
    compare: ['compare', '--devices', '4', '--shape', '16,3,2,2'],
    // 20 devices for 16 rows: four empty devices, whose NaN statistics the JSON writes as null.
    'compare ': ['compare', '--devices', '20', '--shape', '16,3,2,2'],
    'compare --input ACTS.npz': ['compare', '--input', ACTS, '--devices', '2'],
    'cost --model': [
      'cost',
      '--model',
      'resnet50',
      '--per-gpu-batch',
      '32',
      '--nodes',
      '4',
      '--simulate',
      '--straggler',
      '3:2',
      '--jitter-ms',
      '0.5',
    ],
  };
  for (const [command, args] of Object.entries(cases)) {
    it(`${command}: byte for byte`, async () => {
      const { page, redrawn, stdout } = await savedAndRedrawn(args);
      expect(redrawn).toBe(page);
      expect(stdout).toContain(`the --json of syncbn-sim ${command.trim()}\n`);
      expect(stdout).toMatch(/report written to .*report\.html\n$/);
    });
  }
});

describe('report --html', () => {
  it('is a name of --out, as the experiments call it', async () => {
    const page = join(tempDir('syncbn-report-'), 'page.html');
    const r = await runMain(['report', join(SAVED, 'noise.json'), '--html', page]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`report written to ${page}`);
    expect(existsSync(page)).toBe(true);
  });
});

describe('saved results kept in test/fixtures/saved', () => {
  const showable = [
    'compare',
    'compare-layers',
    'noise',
    'noise-layers',
    'precision',
    'cost',
    'cost-model',
    'train',
    'sweep',
  ];

  it.each(showable)('%s.json gives the page, the PNG and the SVG', async (name) => {
    const dir = tempDir('syncbn-report-');
    const r = await runMain([
      'report',
      join(SAVED, `${name}.json`),
      '--out',
      join(dir, 'page.html'),
      '--png',
      join(dir, 'plot.png'),
      '--plot',
      join(dir, 'plot.svg'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const page = readFileSync(join(dir, 'page.html'), 'utf8');
    expect(page).toContain('<script id="specs" type="application/json">');
    const image = PNG.sync.read(readFileSync(join(dir, 'plot.png')));
    expect(image.width).toBeGreaterThan(300);
    expect(readFileSync(join(dir, 'plot.svg'), 'utf8')).toMatch(/^<svg/);
  });

  it('the table on the page is the one the command printed: train runs and sweep rows by name', async () => {
    const dir = tempDir('syncbn-report-');
    for (const name of ['train', 'sweep']) {
      const r = await runMain(['report', join(SAVED, `${name}.json`), '--out', join(dir, `${name}.html`)]);
      expect(r.status, r.stderr).toBe(0);
    }
    const train = readFileSync(join(dir, 'train.html'), 'utf8');
    expect(train).toMatch(/local/);
    expect(train).toMatch(/sync/);
    const sweep = JSON.parse(readFileSync(join(SAVED, 'sweep.json'), 'utf8')) as { rows: { bn: string }[] };
    expect(sweep.rows.length).toBe(4);
    expect(readFileSync(join(dir, 'sweep.html'), 'utf8')).toContain('95%');
  });

  it.each([
    ['semantics', /semantics\) cannot be drawn again: its documented JSON is the rows alone.*--html FILE\.html$/],
    ['cost-collective', /cost --collective\) cannot be drawn again: it is a table with no plot/],
  ])('%s.json is named, with why it cannot be drawn from its JSON and what to run instead', async (name, message) => {
    const out = join(tempDir('syncbn-report-'), 'page.html');
    const r = await runMain(['report', join(SAVED, `${name}.json`), '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});

describe('a file that is not a whole saved result: one line, exit 2, nothing written', () => {
  const saved = (name: string) => JSON.parse(readFileSync(join(SAVED, `${name}.json`), 'utf8'));
  const noise = () => saved('noise');
  const train = () => saved('train');
  // biome-ignore lint/suspicious/noExplicitAny: a result edited by hand, of any shape
  const edited = (name: string, edit: (d: Record<string, any>) => void) => () => {
    const d = saved(name);
    edit(d);
    return JSON.stringify(d);
  };
  const cases: [string, () => string | Uint8Array, RegExp][] = [
    ['empty', () => '', /: not JSON \(/],
    ['cut short', () => readFileSync(join(SAVED, 'noise.json'), 'utf8').slice(0, 200), /: not JSON \(/],
    ['not UTF-8', () => new Uint8Array([0xff, 0xfe, 0x7b]), /: not a saved result: not UTF-8 text$/],
    ['an array', () => '[1, 2]', /: not a saved result of syncbn-sim: give what --json printed for compare, noise/],
    ['stats.json of run', () => '{"shape": [4, 2], "mode": "sync"}', /: not a saved result of syncbn-sim/],
    [
      'a key missing',
      () => {
        const d = noise();
        delete d.rows[1].mean_ratio;
        return JSON.stringify(d);
      },
      /\(the --json of syncbn-sim noise\) is not whole: rows\[1\]\.mean_ratio is missing$/,
    ],
    [
      'a key too many',
      () => {
        const d = noise();
        d.rows[0].extra = 1;
        return JSON.stringify(d);
      },
      /is not whole: rows\[0\]\.extra is not a key of this result$/,
    ],
    [
      'a string for a number',
      () => {
        const d = noise();
        d.rows[0].var_ratio = 'large';
        return JSON.stringify(d);
      },
      /is not whole: rows\[0\]\.var_ratio must be number$/,
    ],
    [
      'a mode that is not text',
      () => {
        const d = noise();
        d.rows[0].mode = 5;
        return JSON.stringify(d);
      },
      /is not whole: rows\[0\]\.mode must be string$/,
    ],
    [
      'train rows that disagree with its runs',
      () => {
        const d = train();
        d.rows.pop();
        return JSON.stringify(d);
      },
      /\(the --json of syncbn-sim train\) is not whole: rows has \d+ entries, its other fields imply \d+$/,
    ],
    [
      'a top-level key cut: still named as what it is',
      edited('noise', (d) => delete d.source),
      /\(the --json of syncbn-sim noise\) is not whole: source is missing$/,
    ],
    [
      "another kind's key added: still named as what it is",
      edited('precision', (d) => (d.collective = 'x')),
      /\(the --json of syncbn-sim precision\) is not whole: collective is not a key of this result$/,
    ],
    [
      'a count of 0',
      edited('compare', (d) => (d.devices = 0)),
      /\(the --json of syncbn-sim compare\) is not whole: devices must be >= 1$/,
    ],
    ['a count that is not whole', edited('noise', (d) => (d.trials = 2.5)), /is not whole: trials must be integer$/],
    ['no rows', edited('noise', (d) => (d.rows = [])), /is not whole: rows is empty$/],
    [
      'per-channel lists that disagree with the shape',
      edited('compare', (d) => (d.global.var = [])),
      /is not whole: global\.var has 0 entries for the 3 channels of batch\.shape$/,
    ],
    [
      'cost rows cut to one device count',
      edited('cost', (d) => (d.rows = d.rows.slice(0, 3))),
      /\(the --json of syncbn-sim cost\) is not whole: fastest is for devices 2,8,64, the rows for 2$/,
    ],
    [
      'a synthetic batch without its seed',
      edited('compare', (d) => delete d.batch.seed),
      /is not whole: batch\.seed is missing$/,
    ],
    [
      'a shape with no channels',
      edited('compare', (d) => (d.batch.shape = [16])),
      /\(the --json of syncbn-sim compare\) is not whole: batch\.shape \[16\] has no channels: \[N,C\] or \[N,C,H,W\]$/,
    ],
    [
      'a device count that disagrees with the device rows',
      edited('compare', (d) => (d.devices = 3)),
      /is not whole: per_device has 4 entries for 3 devices$/,
    ],
    [
      'a device holding rows the split does not give it',
      edited('compare', (d) => (d.per_device[1].rows = [0, 100])),
      /is not whole: per_device\[1\] is not rank 1 holding rows 4 to 8 \(16 values per channel\)$/,
    ],
    [
      'precision without its settings: still precision, not semantics',
      edited('precision', (d) => delete d.settings),
      /\(the --json of syncbn-sim precision\) is not whole: settings is missing$/,
    ],
    [
      'sweep without its counts: still sweep, not precision',
      edited('sweep', (d) => {
        delete d.trained;
        delete d.reused;
      }),
      /\(the --json of syncbn-sim sweep\) is not whole: trained is missing$/,
    ],
    [
      'cost --model with W that is not nodes x GPUs',
      edited('cost-model', (d) => (d.sweep[0].devices = 999)),
      /\(the --json of syncbn-sim cost --model\) is not whole: sweep\[0\]\.devices is 999, not nodes x gpus_per_node = 8$/,
    ],
    [
      'cost --model with simulation settings but rows not simulated',
      edited('cost-model', (d) => (d.simulation = { jitter_ms: 0, straggler: null, seed: 0 })),
      /is not whole: sweep\[0\]\.rows\[0\] has no simulated run, but the result has simulation settings$/,
    ],
    [
      'nested deeper than a result',
      () => JSON.stringify(noise()).replace('"rows":[', `"extra":${'['.repeat(20_000)}1${']'.repeat(20_000)},"rows":[`),
      /\(the --json of syncbn-sim noise\) is not whole: it nests too deeply to be a result$/,
    ],
    [
      'a sweep result saved before diverged was counted',
      edited('sweep', (d) => {
        for (const row of d.rows) delete row.diverged;
      }),
      /\(the --json of syncbn-sim sweep\) lacks rows\[0\]\.diverged, which its JSON has held since 2026-12-02: run the command again/,
    ],
    [
      'a cost --model result saved before per_gpu_batch',
      edited('cost-model', (d) => delete d.per_gpu_batch),
      /\(the --json of syncbn-sim cost --model\) lacks per_gpu_batch, which its JSON has held since 2026-12-02: run the command again/,
    ],
  ];
  it.each(cases)('%s', async (_, content, message) => {
    const dir = tempDir('syncbn-report-');
    const file = join(dir, 'result.json');
    writeFileSync(file, content());
    const r = await runMain(['report', file, '--out', join(dir, 'page.html')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^syncbn-sim: error: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    expect(r.stderr.trim()).toMatch(message);
    expect(readdirSync(dir)).toEqual(['result.json']);
  });

  it('bad paths and outputs are refused before reading', async () => {
    const dir = tempDir('syncbn-report-');
    const saved = join(SAVED, 'noise.json');
    const lines = async (args: string[]) => {
      const r = await runMain(['report', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      return r.stderr.trim();
    };
    expect(await lines([saved])).toMatch(/report needs --out FILE\.html \(or --png FILE\.png, --plot FILE\.svg\)/);
    expect(await lines([saved, '--out', join(dir, 'a.html'), '--html', join(dir, 'b.html')])).toMatch(
      /option '--out <file\.html>' cannot be used with option '--html <file\.html>'/,
    );
    expect(await lines([saved, '--out', join(dir, 'page.htm')])).toMatch(
      /--out must name an \.html file, got '.*page\.htm'$/,
    );
    expect(await lines([join(dir, 'missing.json'), '--out', join(dir, 'p.html')])).toMatch(
      /missing\.json: cannot read file: no such file/,
    );
    expect(await lines([dir, '--out', join(dir, 'p.html')])).toMatch(/: cannot read file: is a directory$/);
    expect(await lines([])).toMatch(/missing required argument 'result\.json'/);
    expect(await lines([saved, saved, '--out', join(dir, 'p.html')])).toMatch(
      /^syncbn-sim: error: report takes one argument, <result\.json>; got '.*noise\.json', '.*noise\.json'$/,
    );
    const copy = join(dir, 'result.html');
    writeFileSync(copy, readFileSync(saved));
    expect(await lines([copy, '--out', copy])).toMatch(/is the result file .*: choose another output/);
    expect(readdirSync(dir)).toEqual(['result.html']);
  });
});

describe('the schemas a saved result is checked against', () => {
  it('read a null number (how JSON writes NaN) back as NaN, and refuse null where the type has none', () => {
    const row = {
      batch: 2,
      mode: 'local',
      valuesPerUnit: 2,
      meanRatio: null,
      varRatio: 1,
      meanNoise: 1,
      meanNoiseTheory: 1,
      varNoise: 1,
      varNoiseTheory: 1,
      meanVsBatchRatio: 1,
      varVsBatchRms: 1,
      samples: 1,
    };
    const doc = {
      source: { kind: 'synthetic', dist: 'normal', description: 'x' },
      devices: 2,
      trials: 1,
      channels: 1,
      seed: 0,
      stats: 'sums',
      rows: [row],
    };
    expect(schemaProblem('NoiseReport', doc)).toBeUndefined();
    expect(doc.rows[0].meanRatio).toBeNaN();
    expect(schemaProblem('NoiseReport', { ...doc, rows: [{ ...row, mode: null }] })).toBe(
      'rows[0].mode must be string',
    );
    // Paths are spelled in the file's own keys.
    const { meanRatio: _, ...withoutRatio } = row;
    expect(schemaProblem('NoiseReport', { ...doc, rows: [withoutRatio] })).toBe('rows[0].mean_ratio is missing');
  });
});

describe('report - reads the result from standard input', () => {
  it('as a pipe would give it', () => {
    const out = join(tempDir('syncbn-report-'), 'page.html');
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'bin', 'syncbn-sim.js'), 'report', '-', '--out', out], {
      input: readFileSync(join(SAVED, 'noise.json')),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^standard input: the --json of syncbn-sim noise\n/);
    expect(existsSync(out)).toBe(true);
    const empty = spawnSync(
      process.execPath,
      [join(ROOT, 'dist', 'bin', 'syncbn-sim.js'), 'report', '-', '--out', out],
      {
        input: '',
        encoding: 'utf8',
      },
    );
    expect(empty.status).toBe(2);
    expect(empty.stderr.trim()).toBe('syncbn-sim: error: standard input: not JSON (Unexpected end of JSON input)');
  });
});
