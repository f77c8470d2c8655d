/**
 * The README's way to use the library from a checkout, tested: `npm pack` the project, install the
 * tarball into a fresh project, import `syncbn-sim` and every subpath entry from an ESM script (the
 * CLI too), and type-check a TypeScript file against the entries' declarations.
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
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/** A lock file for a project whose one dependency is the tarball: this project's runtime packages, same versions. */
function lockFor(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const self = lock.packages[''];
  const packages: Record<string, object> = {
    '': { name: 'uses-syncbn-sim', dependencies: { 'syncbn-sim': `file:${tarball}` } },
    'node_modules/syncbn-sim': {
      version: self.version,
      resolved: `file:${tarball}`,
      license: self.license,
      dependencies: self.dependencies,
      bin: self.bin,
      engines: self.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  return { name: 'uses-syncbn-sim', lockfileVersion: 3, requires: true, packages };
}

const SCRIPT = `
import { Cluster, SyncBnError, batchNorm } from 'syncbn-sim';
import { algorithmByName } from 'syncbn-sim/collectives';
import { compareModes, noiseExperiment } from 'syncbn-sim/experiments';
import { Linear, Sequential } from 'syncbn-sim/nn';
import { shardRows, syntheticBatch } from 'syncbn-sim/tensor';
import { Trainer, loadSynthetic } from 'syncbn-sim/train';

const entries = { algorithmByName, compareModes, noiseExperiment, Linear, Sequential, shardRows, syntheticBatch, Trainer, loadSynthetic };
const missing = Object.keys(entries).filter((name) => typeof entries[name] !== 'function');
let code;
try {
  batchNorm({ data: new Float32Array(3), shape: [3] });
} catch (error) {
  code = error instanceof SyncBnError ? error.code : 'not a SyncBnError';
}

const x = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [4, 2] };
const single = batchNorm(x, { stats: 'welford' });
const cluster = Cluster.start({ devices: 2 });
try {
  const sync = await cluster.forward(x, { mode: 'sync' });
  console.log(JSON.stringify({ mean: Array.from(single.stats.mean), var: Array.from(single.stats.var), same: sync.output.data.every((v, i) => Math.abs(v - single.output.data[i]) < 1e-6), missing, code }));
} finally {
  await cluster.close();
}
`;

/** A TypeScript caller of every entry: it must type-check against the packed declarations. */
const TYPED = `
import { Cluster, type ClusterOptions, type ErrorCode, type Tensor, batchNorm } from 'syncbn-sim';
import { type AllReduceAlgorithm, algorithmByName } from 'syncbn-sim/collectives';
import { type CompareOptions, type PrecisionOptions, type PrecisionReport, compareModes } from 'syncbn-sim/experiments';
import { type Layer, Linear } from 'syncbn-sim/nn';
import { syntheticBatch } from 'syncbn-sim/tensor';
import { type TrainerOptions, Trainer } from 'syncbn-sim/train';

const x: Tensor = syntheticBatch([4, 2]);
const options: ClusterOptions = { devices: 2, algorithm: 'ring' };
const ring: AllReduceAlgorithm = algorithmByName('ring');
const layer: Layer = new Linear(2, 3);
const compare: CompareOptions = { devices: 2 };
const precision: PrecisionOptions = { rows: 8 };
const code: ErrorCode = 'E_INPUT';
const trainer: TrainerOptions | undefined = undefined;
export const all = [x, options, ring, layer, compare, precision, code, trainer, Cluster, batchNorm, compareModes, Trainer];
export type Report = PrecisionReport;
`;

describe('the library from a checkout: npm pack, then install the tarball', () => {
  it('installs offline into a fresh project, where an ESM script imports syncbn-sim and the CLI runs', () => {
    const work = tempDir('syncbn-pack-');
    // dist/ is built by `npm test` (pretest); the prepare script would only build it again.
    const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0].files.map((f) => f.path);
    expect(files).toContain('dist/src/index.js');
    expect(files).toContain('dist/workers/device.js');
    expect(files.some((f) => f.startsWith('test/') || f.startsWith('src/'))).toBe(false);

    const app = join(work, 'app');
    mkdirSync(app);
    const tarball = `../${packed[0].filename}`;
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'uses-syncbn-sim',
        private: true,
        type: 'module',
        dependencies: { 'syncbn-sim': `file:${tarball}` },
      }),
    );
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lockFor(tarball)));
    npm(['ci', '--offline', '--ignore-scripts'], app);

    writeFileSync(join(app, 'check.mjs'), SCRIPT);
    const out = JSON.parse(
      execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 }),
    );
    expect(out).toEqual({ mean: [4, 5], var: [5, 5], same: true, missing: [], code: 'E_INPUT' });
    // The declarations resolve through the package's exports map, as TypeScript's NodeNext does.
    writeFileSync(join(app, 'typed.ts'), TYPED);
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const tscArgs = [
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--typeRoots',
      join(ROOT, 'node_modules', '@types'),
      '--types',
      'node',
      'typed.ts',
    ];
    execFileSync(process.execPath, [tsc, ...tscArgs], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    const version = execFileSync(join(app, 'node_modules', '.bin', 'syncbn-sim'), ['--version'], {
      cwd: app,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(version.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  }, 180_000);
});
