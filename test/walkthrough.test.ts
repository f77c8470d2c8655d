/**
 * The README's "One question, end to end", on small settings: capture a PyTorch model's BN inputs
 * (python/syncbn_capture.py --demo; the committed capture it made when torch is missing), compare
 * and noise on them, a sweep, and the pages, `--html` from a run and `report` from saved JSON.
 * Each step feeds the next through files, as a user's session would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runMain, tempDir } from './helpers.js';

const HAS_TORCH = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy']).status === 0;
if (!HAS_TORCH) console.warn('walkthrough.test.ts: torch is missing, so the committed capture stands in for step 1');

/** Runs the CLI in-process and requires success; returns what it printed. */
async function cli(args: string[]): Promise<string> {
  const r = await runMain(args);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The table a page shows beside its plot. */
const tableOf = (page: string) => /<pre>([\s\S]*?)<\/pre>/.exec(page)?.[1] ?? '';

describe('one question, end to end', () => {
  it('capture, compare and noise on it, a sweep, and the pages', async () => {
    const dir = tempDir('syncbn-walkthrough-');
    const acts = join(dir, 'acts.npz');
    if (HAS_TORCH) {
      const capture = spawnSync(
        '/usr/bin/python3',
        [join(ROOT, 'python', 'syncbn_capture.py'), '--demo', '--steps', '2', '--out', acts],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(capture.status, capture.stderr).toBe(0);
      expect(capture.stdout).toMatch(/wrote .*acts\.npz \(3 layers, 2 steps\)/);
    } else {
      writeFileSync(acts, readFileSync(join(ROOT, 'test', 'fixtures', 'npz', 'acts.npz')));
    }

    const compared = await cli(['compare', '--input', acts, '--devices', '4', '--html', join(dir, 'compare.html')]);
    expect(compared).toMatch(/Most sensitive to the split/);
    expect(compared).toContain(`report written to ${join(dir, 'compare.html')}`);
    expect(tableOf(readFileSync(join(dir, 'compare.html'), 'utf8'))).toMatch(/effective n/);

    const noise = await cli([
      'noise',
      ...['--input', acts, '--devices', '4', '--threads', '1', '--batch-sizes', '2,4', '--trials', '20', '--json'],
    ]);
    writeFileSync(join(dir, 'noise.json'), noise);
    type NoiseLayer = { name: string; rows: { mode: string; effective_n: number }[] };
    const layers = (JSON.parse(noise) as { layers: NoiseLayer[] }).layers;
    expect(layers).toHaveLength(3);
    for (const l of layers)
      for (const row of l.rows.filter((r) => r.mode === 'local')) expect(row.effective_n).toBeGreaterThan(0);

    const sweepArgs = [
      ...['sweep', '--model', 'mlp', '--subset', '32', '--per-device-batch', '2', '--bn', 'local,group:2,sync'],
      ...['--devices', '4', '--seeds', '1', '--epochs', '1', '--jobs', '1', '--resume', join(dir, 'runs')],
    ];
    const sweep = await cli([...sweepArgs, '--json']);
    const rows = (JSON.parse(sweep) as { rows: { bn: string; per_device_batch: number; gap_vs_sync: number }[] }).rows;
    expect(rows.map((r) => `${r.bn}@${r.per_device_batch}`)).toEqual(['local@2', 'group:2@2', 'sync@2']);

    // A second seed later trains only the new runs and reuses the 3 already there.
    const moreSeeds = sweepArgs.map((a, i) => (sweepArgs[i - 1] === '--seeds' ? '2' : a));
    const resumed = JSON.parse(await cli([...moreSeeds, '--json'])) as { trained: number; reused: number };
    expect(resumed).toMatchObject({ trained: 3, reused: 3 });
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify(resumed));

    for (const name of ['noise', 'sweep']) {
      const out = await cli(['report', join(dir, `${name}.json`), '--out', join(dir, `${name}.html`)]);
      expect(out).toContain(`report written to ${join(dir, `${name}.html`)}`);
      const page = readFileSync(join(dir, `${name}.html`), 'utf8');
      expect(page).toContain('<script id="specs" type="application/json">');
      expect(tableOf(page)).toMatch(name === 'sweep' ? /group:2/ : /effective/);
    }
    expect(existsSync(join(dir, 'runs'))).toBe(true);
  }, 180_000);
});
