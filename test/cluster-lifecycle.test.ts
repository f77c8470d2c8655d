/**
 * What an unclosed cluster does to the process, as the README says: it does not keep it alive
 * (idle threads are unreferenced), yet a step in flight is finished before the process ends.
 * Each case runs in a child process of its own, against the built package.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const API = join(ROOT, 'dist', 'src', 'index.js');
const TENSOR = join(ROOT, 'dist', 'src', 'tensor', 'index.js');

/** Runs an ES-module script in a fresh Node process; the bound only stops a hang. */
function runScript(body: string) {
  const script = `import { Cluster } from ${JSON.stringify(API)};\nimport { syntheticBatch } from ${JSON.stringify(TENSOR)};\n${body}\nprocess.on('exit', (code) => console.log('exit', code));`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
}

describe('an unclosed cluster', () => {
  it('lets the process exit on its own after its last step', () => {
    const r = runScript(
      `const c = Cluster.start({ devices: 4 });\nawait c.forward(syntheticBatch([8, 3], 1));\nconsole.log('stepped');`,
    );
    expect(r.error).toBeUndefined(); // not killed by the bound
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('stepped\nexit 0\n');
  });

  it('finishes a step in flight before the process ends', () => {
    const r = runScript(
      `const c = Cluster.start({ devices: 4 });\nc.forward(syntheticBatch([64, 3], 1)).then((f) => console.log('finished', f.output.data.length));`,
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('finished 192\nexit 0\n');
  });

  it('is described so in the README and in Cluster.start', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/An open cluster does not keep the process alive/);
    expect(readFileSync(join(ROOT, 'src', 'cluster', 'cluster.ts'), 'utf8')).not.toMatch(
      /keep the process alive\.\s*\*\//,
    );
  });
});
