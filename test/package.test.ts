/**
 * The README's way to use the library from a checkout, tested: `npm pack` the project, install the
 * tarball into a fresh project, and import `syncbn-sim` from an ESM script (the CLI too).
 *
 * The install runs offline: a fresh project has no lock file, and resolving version ranges would
 * need the registry's package documents, which `npm ci` never caches. So the test gives the fresh
 * project a lock file made from this project's own (its runtime entries, the same versions), and
 * `npm ci --offline` takes every package from the npm cache that this project's `npm ci` filled.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.js';

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  [key: string]: unknown;
}

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });

/** A lock file for a project whose one dependency is the tarball: this project's runtime packages, same versions. */
function lockFor(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const self = lock.packages[''];
  const packages: Record<string, object> = {
    '': { name: 'uses-syncbn-sim', dependencies: { 'syncbn-sim': `file:${tarball}` } },
    'node_modules/syncbn-sim': { version: self.version, resolved: `file:${tarball}`, license: self.license, dependencies: self.dependencies, bin: self.bin, engines: self.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  return { name: 'uses-syncbn-sim', lockfileVersion: 3, requires: true, packages };
}

const SCRIPT = `
import { Cluster, batchNorm } from 'syncbn-sim';

const x = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [4, 2] };
const single = batchNorm(x, { stats: 'welford' });
const cluster = Cluster.start({ devices: 2 });
try {
  const sync = await cluster.forward(x, { mode: 'sync' });
  console.log(JSON.stringify({ mean: Array.from(single.stats.mean), var: Array.from(single.stats.var), same: sync.output.data.every((v, i) => Math.abs(v - single.output.data[i]) < 1e-6) }));
} finally {
  await cluster.close();
}
`;

describe('the library from a checkout: npm pack, then install the tarball', () => {
  it('installs offline into a fresh project, where an ESM script imports syncbn-sim and the CLI runs', () => {
    const work = tempDir('syncbn-pack-');
    // dist/ is built by `npm test` (pretest); the prepare script would only build it again.
    const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('dist/workers/device.js');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/'))).toBe(false);

    const app = join(work, 'app');
    mkdirSync(app);
    const tarball = `../${packed[0].filename}`;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'uses-syncbn-sim', private: true, type: 'module', dependencies: { 'syncbn-sim': `file:${tarball}` } }));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lockFor(tarball)));
    npm(['ci', '--offline', '--ignore-scripts'], app);

    writeFileSync(join(app, 'check.mjs'), SCRIPT);
    const out = JSON.parse(execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 }));
    expect(out).toEqual({ mean: [4, 5], var: [5, 5], same: true });
    const version = execFileSync(join(app, 'node_modules', '.bin', 'syncbn-sim'), ['--version'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    expect(version.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  }, 180_000);
});
