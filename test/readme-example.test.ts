/** The README's library example is the file examples/library-example.mjs, and it runs. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

describe('README cluster example', () => {
  const example = readFileSync(join(ROOT, 'examples', 'cluster-example.mjs'), 'utf8');

  it('is shown in the README verbatim', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(example.trim());
  });

  it('runs 8 devices and shows sync BN equal to single-device BN', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'cluster-example.mjs')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const worst = Number(/max \|sync - single\| output: (\S+)/.exec(r.stdout)![1]);
    expect(worst).toBeLessThan(1e-5);
    expect(r.stdout).toMatch(/device 3 holds rows \[ 6, 8 \]/);
    expect(r.stdout).toMatch(/forward traffic: 112 messages/);
  });
});

describe('README library example', () => {
  const example = readFileSync(join(ROOT, 'examples', 'library-example.mjs'), 'utf8');

  it('is shown in the README verbatim', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(example.trim());
  });

  it('runs against the built package and prints the hand-computed statistics', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'examples', 'library-example.mjs')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('batch mean [ 4, 5 ]');
    expect(r.stdout).toContain('batch var (biased) [ 5, 5 ]');
  });
});
