/**
 * Captured activations: the .npz reader against numpy's archives, the manifest check, the
 * per-layer compare against figures numpy computed independently (scripts/make_npz_fixtures.py),
 * invariants of the effective sample size, python/syncbn_capture.py on a tiny model (when torch is
 * installed), and the CLI's per-layer output and refusals.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { compareLayers, noiseLayers } from '../src/experiments/layers.js';
import {
  type CapturedActivations,
  capturedFromNpz,
  readCapturedActivations,
  selectLayers,
} from '../src/tensor/activations.js';
import { encodeNpy } from '../src/tensor/npy.js';
import { parseNpz, readNpzFile } from '../src/tensor/npz.js';
import { ROOT, runCli, runMain, tempDir } from './helpers.js';

const DIR = join(ROOT, 'test', 'fixtures', 'npz');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8'));
const ACTS = join(DIR, 'acts.npz');

function hasTorch(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return r.status === 0;
}

/** An in-memory capture of one layer (no manifest), with the given [N,C,H,W] values. */
function oneLayer(name: string, data: Float64Array, shape: number[]): CapturedActivations {
  const bytes = zipSync({ [`${name}.npy`]: encodeNpy({ data, shape }) });
  return capturedFromNpz(parseNpz(bytes, 'mem.npz'), 'mem.npz');
}

/** A seeded uniform generator (mulberry32) for the synthetic layers below. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

describe('.npz reader', () => {
  it('reads numpy.savez_compressed archives (deflated, zip64 headers) value for value', () => {
    const { arrays, manifest } = readNpzFile(join(DIR, 'plain.npz'));
    expect(manifest).toBeUndefined();
    for (const name of ['x', 'y']) {
      const t = arrays.get(name);
      expect(t?.shape).toEqual(expected.plain[name].shape);
      expect(Array.from(t?.data ?? [])).toEqual(expected.plain[name].values);
    }
    expect(arrays.get('x')?.data).toBeInstanceOf(Float32Array);
    expect(arrays.get('y')?.data).toBeInstanceOf(Float64Array);
  });

  it('reads what syncbn_capture.py wrote, stored and deflated, with its manifest', () => {
    for (const [file, rows, steps] of [
      ['acts.npz', 16, 3],
      ['acts-deflated.npz', 8, 1],
    ] as const) {
      const acts = readCapturedActivations(join(DIR, file));
      expect(acts.manifest).toBe(true);
      expect(acts.layers.map((l) => [l.name, l.type])).toEqual([
        ['bn1', 'BatchNorm2d'],
        ['bn2', 'BatchNorm2d'],
        ['bn3', 'BatchNorm1d'],
      ]);
      expect(acts.layers.map((l) => l.shape)).toEqual([
        [rows, 6, 12, 12],
        [rows, 8, 6, 6],
        [rows, 16],
      ]);
      for (const l of acts.layers) expect(l.batches).toHaveLength(steps);
    }
  });

  it.each(Object.entries(expected.refused as Record<string, string>))(
    'refuses %s naming the archive and the problem',
    (file, substring) => {
      const path = join(DIR, file);
      let error: unknown;
      try {
        readCapturedActivations(path);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toContain(substring);
      expect((error as Error).message).not.toContain('\n');
    },
  );

  it('refuses an empty archive, a missing file and a directory', () => {
    expect(() => parseNpz(zipSync({}), 'empty.npz')).toThrow(/empty.npz: (not an .npz|the archive holds no .npy)/);
    expect(() => readNpzFile(join(DIR, 'nope.npz'))).toThrow(/nope.npz: cannot read file/);
    expect(() => readNpzFile(DIR)).toThrow(/is a directory/);
  });

  it('views [N,C,L] and [N,C,D,H,W] inputs as [N,C,L,1] and [N,C,D*H,W] without a copy', () => {
    const data3 = new Float64Array(2 * 3 * 4).map((_, i) => i);
    const data5 = new Float32Array(2 * 1 * 2 * 3 * 2).map((_, i) => i);
    const bytes = zipSync({
      'seq.npy': encodeNpy({ data: data3, shape: [2, 3, 4] }),
      'vol.npy': encodeNpy({ data: data5, shape: [2, 1, 2, 3, 2] }),
    });
    const acts = capturedFromNpz(parseNpz(bytes, 'm.npz'), 'm.npz');
    expect(acts.layers[0].shape).toEqual([2, 3, 4]);
    expect(acts.layers[0].batches[0].shape).toEqual([2, 3, 4, 1]);
    expect(acts.layers[1].batches[0].shape).toEqual([2, 1, 6, 2]);
    expect(Array.from(acts.layers[1].batches[0].data)).toEqual(Array.from(data5));
  });

  it('selects layers by name, and refuses unknown or repeated names', () => {
    const acts = readCapturedActivations(ACTS);
    expect(selectLayers(acts, ['bn3', 'bn1']).layers.map((l) => l.name)).toEqual(['bn3', 'bn1']);
    expect(() => selectLayers(acts, ['bn9'])).toThrow("no layer 'bn9' in");
    expect(() => selectLayers(acts, ['bn1', 'bn1'])).toThrow('given twice');
  });
});

describe('per-layer compare', () => {
  it.each([4, 8])('matches numpy at W = %i, step by step and pooled', async (W) => {
    const report = await compareLayers({ acts: readCapturedActivations(ACTS), devices: W });
    const ref = expected.compare[String(W)];
    expect(report.layers.map((l) => l.name)).toEqual(Object.keys(ref));
    const close = (a: number | null, b: number) => expect(Math.abs((a ?? NaN) - b) / Math.abs(b)).toBeLessThan(1e-9);
    for (const l of report.layers) {
      for (const [k, row] of l.rows.entries()) {
        const r = ref[l.name].steps[k];
        for (const [ours, theirs] of [
          [row.meanStray, r.mean_stray],
          [row.meanStrayIid, r.mean_stray_iid],
          [row.noiseRatio, r.noise_ratio],
          [row.effectiveN, r.effective_n],
          [row.varStrayRms, r.var_stray_rms],
          [row.valuesPerDevice, r.values_per_device],
        ] as const)
          close(ours, theirs);
      }
      close(l.summary.noiseRatio, ref[l.name].summary.noise_ratio);
      close(l.summary.effectiveN, ref[l.name].summary.effective_n);
    }
  });

  it('finds the conv layers correlated (effective n far below b x H x W) and names the most sensitive', async () => {
    const report = await compareLayers({ acts: readCapturedActivations(ACTS), devices: 8 });
    const conv = report.layers.filter((l) => l.type === 'BatchNorm2d');
    for (const l of conv) expect(l.summary.effectivePerRow ?? Infinity).toBeLessThan(l.summary.valuesPerRow / 4);
    expect(report.mostSensitive).toHaveLength(3);
    const strays = report.mostSensitive.map((n) => report.layers.find((l) => l.name === n)?.summary.meanStray ?? 0);
    expect([...strays].sort((a, b) => b - a)).toEqual(strays);
  });

  it('gives no ratio on one device, where a device holds the whole batch', async () => {
    const report = await compareLayers({ acts: readCapturedActivations(ACTS), devices: 1 });
    for (const l of report.layers) {
      expect(l.summary.meanStray).toBe(0);
      expect(l.summary.noiseRatio).toBeNull();
      expect(l.summary.effectiveN).toBeNull();
    }
  });

  it('leaves empty shards out when the batch has fewer rows than devices', async () => {
    const acts = oneLayer(
      'x',
      Float64Array.from({ length: 3 * 2 }, (_, i) => (i * 7) % 5),
      [3, 2],
    );
    const report = await compareLayers({ acts, devices: 8 });
    expect(report.layers[0].rows[0].rowsPerDevice).toBe(1);
  });

  it('refuses NaN activations naming the layer', async () => {
    const acts = oneLayer('bad', Float64Array.from([1, 2, NaN, 4]), [2, 2]);
    await expect(compareLayers({ acts, devices: 2 })).rejects.toThrow(/layer 'bad' step 0 holds NaN/);
  });
});

describe('effective sample size (noise on captured layers)', () => {
  it('is about b x H x W for i.i.d. values and about b when a sample is one value repeated', async () => {
    const next = rng(3);
    const rows = 64;
    const inner = 16;
    const iid = new Float64Array(rows * 2 * inner).map(() => gaussian(next));
    // Each sample's channel holds one value, repeated over its 4x4 positions, plus a trace of noise.
    const perSample = new Float64Array(rows * 2 * inner);
    for (let r = 0; r < rows * 2; r++) {
      const v = gaussian(next);
      for (let i = 0; i < inner; i++) perSample[r * inner + i] = v + 1e-3 * gaussian(next);
    }
    const run = (acts: CapturedActivations) =>
      noiseLayers({ acts, batchSizes: [4], devices: 2, threads: 1, trials: 100, seed: 1 });
    const a = await run(oneLayer('iid', iid, [rows, 2, 4, 4]));
    const b = await run(oneLayer('repeated', perSample, [rows, 2, 4, 4]));
    const local = (r: typeof a) => r.layers[0].rows.find((x) => x.mode === 'local');
    expect(local(a)?.valuesPerUnit).toBe(64);
    expect(local(a)?.effectiveN).toBeGreaterThan(32);
    expect(local(a)?.effectiveN).toBeLessThan(128);
    expect(local(b)?.effectiveN).toBeGreaterThan(2);
    expect(local(b)?.effectiveN).toBeLessThan(8);
    expect(b.layers[0].summary.effectivePerRow).toBeLessThan(2);
    for (const r of [a, b])
      for (const row of r.layers[0].rows) expect(row.effectiveN).toBeCloseTo(row.valuesPerUnit / row.meanRatio, 10);
  });

  it('names the layer in a refusal from the noise experiment', async () => {
    const acts = oneLayer('flat', new Float64Array(4 * 2).fill(1), [4, 2]);
    await expect(noiseLayers({ acts, batchSizes: [2], devices: 2, threads: 1, trials: 2 })).rejects.toThrow(
      /layer 'flat': input: channel 0 is constant/,
    );
  });
});

describe.skipIf(!hasTorch())('python/syncbn_capture.py on a real PyTorch model', () => {
  it('hooks BatchNorm1d (2-D and 3-D inputs), BatchNorm2d, BatchNorm3d and SyncBatchNorm, and the simulator reads it back', () => {
    const out = join(tempDir(), 'tiny.npz');
    const r = spawnSync('/usr/bin/python3', [join(ROOT, 'test', 'python', 'capture_tiny.py'), out], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const { manifest, sums, no_bn_refusal: refusal } = JSON.parse(r.stdout);
    expect(refusal).toBe('the model has no BatchNorm1d/2d/3d or SyncBatchNorm layer to capture');
    expect(manifest.layers.map((l: { name: string; type: string }) => `${l.name}:${l.type}`)).toEqual([
      'bn3d:BatchNorm3d',
      'bn2d:BatchNorm2d',
      'sync:SyncBatchNorm',
      'seq:BatchNorm1d',
      'bn1d:BatchNorm1d',
    ]);
    const acts = readCapturedActivations(out);
    expect(acts.layers.map((l) => l.shape)).toEqual([
      [6, 2, 2, 4, 4],
      [6, 3, 4, 4],
      [6, 3, 4, 4],
      [6, 3, 4],
      [6, 5],
    ]);
    for (const l of acts.layers) {
      expect(l.steps).toEqual([0, 1]);
      const sum = Array.from(l.batches[0].data).reduce((a, v) => a + v, 0);
      expect(Math.abs(sum - sums[l.name])).toBeLessThan(1e-9 * (1 + Math.abs(sums[l.name])));
      // The second step ran after an SGD step: its input differs.
      expect(Array.from(l.batches[1].data)).not.toEqual(Array.from(l.batches[0].data));
    }
  });
});

describe('CLI: compare and noise --input acts.npz', () => {
  it('compare --json gives {layers: [{name, shape, rows}]} with a row per step', () => {
    const r = runCli(['compare', '--input', ACTS, '--devices', '4', '--layers', 'bn2,bn3', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.layers.map((l: { name: string }) => l.name)).toEqual(['bn2', 'bn3']);
    expect(json.layers[0].shape).toEqual([16, 8, 6, 6]);
    expect(json.layers[0].rows).toHaveLength(3);
    expect(Object.keys(json.layers[0].rows[0])).toEqual([
      'step',
      'rows',
      'rows_per_device',
      'values_per_device',
      'mean_stray',
      'mean_stray_iid',
      'noise_ratio',
      'effective_n',
      'var_stray_rms',
      'constant_channels',
    ]);
    expect(json.layers[0].rows[0].mean_stray).toBeCloseTo(expected.compare['4'].bn2.steps[0].mean_stray, 12);
  });

  it('compare prints one line per layer, the finding in words and the most sensitive layers', async () => {
    const r = await runMain(['compare', '--input', ACTS, '--devices', '8']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    for (const name of ['bn1', 'bn2', 'bn3']) expect(lines.filter((l) => l.startsWith(`${name} `))).toHaveLength(1);
    expect(r.stdout).toContain("effective sample size behind a device's statistics is nearer b than b x H x W");
    expect(r.stdout).toMatch(/Most sensitive to the split \(largest stray of the device means\): bn\d/);
  });

  it('noise --csv gives a row per layer, batch size and mode, with effective_n; --plot draws the layers', async () => {
    const svg = join(tempDir(), 'layers.svg');
    const r = await runMain([
      'noise',
      '--input',
      join(DIR, 'acts-deflated.npz'),
      '--layers',
      'bn3',
      '--devices',
      '2',
      '--threads',
      '1',
      '--batch-sizes',
      '2',
      '--trials',
      '20',
      '--csv',
      '--plot',
      svg,
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header.split(',')[0]).toBe('layer');
    expect(header).toContain('effective_n');
    expect(rows.map((row) => row.split(',').slice(0, 3).join(','))).toEqual(['bn3,2,local', 'bn3,2,sync']);
    const drawn = readFileSync(svg, 'utf8');
    expect(drawn.startsWith('<svg')).toBe(true);
    expect(drawn).toContain('bn3 (BatchNorm1d, 1 per sample)');
  });

  it('exits 2 with one line through the built CLI for a bad archive', () => {
    const r = runCli(['compare', '--input', join(DIR, 'truncated.npz')]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `syncbn-sim: error: ${join(DIR, 'truncated.npz')}: not a zip archive (no end of central directory record)`,
    ]);
  });

  it.each([
    [['compare', '--input', join(DIR, 'truncated.npz')], 'truncated.npz: not a zip archive'],
    [['compare', '--input', join(DIR, 'int-member.npz')], "int-member.npz:k.npy: unsupported dtype '<i4'"],
    [['compare', '--input', ACTS, '--layers', 'bn9'], "--layers: no layer 'bn9'"],
    [['compare', '--layers', 'bn1'], '--layers picks layers of captured activations'],
    [['compare', '--input', ACTS, '--modes', 'sync'], '--modes has no effect with captured activations'],
    [['compare', '--input', ACTS, '--threads', '2'], '--threads has no effect with captured activations'],
    [['noise', '--input', join(DIR, 'manifest-shape.npz')], 'the manifest says [6,3,4,1]'],
  ] as [string[], string][])('exits 2 with one line (main in this process): %j', async (args, message) => {
    const r = await runMain(args);
    expect(r.stderr).toContain(message);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
