/** All-or-nothing output files: up-front refusals, rollback of a failed commit, interruption, stale files. */
import {
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync as renameSyncReal,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { checkOutputTargets, writeFilesAtomically, writePlacedFilesAtomically } from '../src/io/atomic-write.js';
import { tempDir } from './helpers.js';

const files = (run: string) => [
  { name: 'a.npy', bytes: `a of ${run}` },
  { name: 'b.npy', bytes: new Uint8Array([1, 2, 3]) },
  { name: 'stats.json', bytes: `{"run": "${run}"}` },
];

/** A directory holding the files of an earlier run. */
function earlierRun(): string {
  const dir = tempDir('syncbn-atomic-');
  writeFileSync(join(dir, 'a.npy'), 'a of old');
  writeFileSync(join(dir, 'b.npy'), 'b of old');
  writeFileSync(join(dir, 'stats.json'), '{"run": "old"}');
  writeFileSync(join(dir, 'extra.npy'), 'extra of old');
  return dir;
}

const listing = (dir: string) => readdirSync(dir).sort();
const contents = (dir: string) => Object.fromEntries(listing(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

describe('writeFilesAtomically', () => {
  it('writes every file, into a directory it creates', async () => {
    const dir = join(tempDir('syncbn-atomic-'), 'new', 'deeper');
    const { written, removed } = await writeFilesAtomically(dir, files('new'));
    expect(written).toEqual(['a.npy', 'b.npy', 'stats.json'].map((n) => join(dir, n)));
    expect(removed).toEqual([]);
    expect(contents(dir)['stats.json']).toBe('{"run": "new"}');
  });

  it('refuses a target that is a directory up front: nothing written, no temporary file', async () => {
    const dir = earlierRun();
    rmAndMkdir(join(dir, 'b.npy'));
    const write = writeFilesAtomically(dir, files('new'));
    await expect(write).rejects.toThrow(InputError);
    await expect(write).rejects.toThrow(/output .*b\.npy is a directory/);
    expect(listing(dir)).toEqual(['a.npy', 'b.npy', 'extra.npy', 'stats.json']);
    expect(readFileSync(join(dir, 'a.npy'), 'utf8')).toBe('a of old');
  });

  it('refuses to overwrite an input, by path, through a symbolic link and through a hard link', () => {
    const dir = earlierRun();
    const other = tempDir('syncbn-atomic-');
    symlinkSync(join(dir, 'a.npy'), join(other, 'via-symlink.npy'));
    linkSync(join(dir, 'b.npy'), join(other, 'via-hardlink.npy'));
    expect(() => checkOutputTargets(dir, ['a.npy'], [{ path: join(dir, 'a.npy'), what: '--input' }])).toThrow(
      /a\.npy is the --input file/,
    );
    expect(() =>
      checkOutputTargets(dir, ['a.npy'], [{ path: join(other, 'via-symlink.npy'), what: '--input' }]),
    ).toThrow(/is the --input file/);
    expect(() =>
      checkOutputTargets(dir, ['b.npy'], [{ path: join(other, 'via-hardlink.npy'), what: '--weight' }]),
    ).toThrow(/is the --weight file/);
    expect(() =>
      checkOutputTargets(dir, ['a.npy'], [{ path: join(other, 'via-hardlink.npy'), what: '--weight' }]),
    ).not.toThrow();
  });

  it('refuses an output directory that is a file, or under one', () => {
    const dir = tempDir('syncbn-atomic-');
    writeFileSync(join(dir, 'f'), 'x');
    expect(() => checkOutputTargets(join(dir, 'f'), ['a.npy'])).toThrow(/is a file, not a directory/);
    expect(() => checkOutputTargets(join(dir, 'f', 'sub'), ['a.npy'])).toThrow(/cannot create output directory/);
  });

  it('a rename failing half-way rolls back: the earlier files are back, none of the new run, no temporary', async () => {
    const dir = earlierRun();
    const before = contents(dir);
    let renames = 0;
    const failing = {
      rename(from: string, to: string) {
        // Moving aside 3 old files, then placing 3 new ones: fail at the second new one.
        if (++renames === 5)
          throw Object.assign(new Error(`EIO: i/o error, rename '${from}' -> '${to}'`), { code: 'EIO' });
        renameSyncReal(from, to);
      },
    };
    await expect(writeFilesAtomically(dir, files('new'), { fs: failing })).rejects.toThrow(
      /cannot put the outputs in place .*EIO.*nothing new was written/,
    );
    expect(renames).toBe(5);
    expect(contents(dir)).toEqual(before);
  });

  it('removes the files of an earlier run that this run does not write, in the same commit', async () => {
    const dir = earlierRun();
    writeFileSync(join(dir, 'grad.npy'), 'grad of old');
    const { removed } = await writeFilesAtomically(dir, files('new').slice(0, 1), {
      replaces: ['a.npy', 'b.npy', 'grad.npy', 'stats.json', 'never.npy'],
    });
    expect(removed.sort()).toEqual(['b.npy', 'grad.npy', 'stats.json']);
    // Files of other names are not the command's: they stay.
    expect(contents(dir)).toEqual({ 'a.npy': 'a of new', 'extra.npy': 'extra of old' });
  });

  it('a failed commit puts back the earlier files it was removing too', async () => {
    const dir = earlierRun();
    writeFileSync(join(dir, 'grad.npy'), 'grad of old');
    const before = contents(dir);
    let renames = 0;
    const failing = {
      rename(from: string, to: string) {
        if (++renames === 4) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
        renameSyncReal(from, to);
      },
    };
    await expect(
      writeFilesAtomically(dir, files('new').slice(0, 1), {
        replaces: ['a.npy', 'b.npy', 'grad.npy', 'stats.json'],
        fs: failing,
      }),
    ).rejects.toThrow();
    expect(contents(dir)).toEqual(before);
  });

  it('refuses a stale name that is an input instead of removing it', async () => {
    const dir = earlierRun();
    writeFileSync(join(dir, 'grad.npy'), 'grad of old');
    const before = contents(dir);
    await expect(
      writeFilesAtomically(dir, files('new'), {
        replaces: ['grad.npy'],
        inputs: [{ path: join(dir, 'grad.npy'), what: '--grad-output' }],
      }),
    ).rejects.toThrow(/grad\.npy is the --grad-output file/);
    expect(contents(dir)).toEqual(before);
  });

  it('an abort during the write removes the temporaries and the directory it made, and throws the reason', async () => {
    const parent = tempDir('syncbn-atomic-');
    const dir = join(parent, 'made');
    const controller = new AbortController();
    const reason = new Error('stopped by the test');
    let seen: string[] = [];
    const write = writeFilesAtomically(dir, files('new'), {
      signal: controller.signal,
      afterFirstFile: async () => {
        seen = readdirSync(dir);
        controller.abort(reason);
      },
    });
    await expect(write).rejects.toBe(reason);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^\.a\.npy\.tmp-/);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('a target that becomes a directory while the files are written: nothing written, no temporary', async () => {
    const dir = earlierRun();
    const before = contents(dir);
    const write = writeFilesAtomically(dir, files('new'), {
      afterFirstFile: async () => {
        rmAndMkdir(join(dir, 'stats.json'));
      },
    });
    await expect(write).rejects.toThrow(/stats\.json is a directory/);
    expect(listing(dir)).toEqual(['a.npy', 'b.npy', 'extra.npy', 'stats.json']);
    expect(readFileSync(join(dir, 'a.npy'), 'utf8')).toBe(before['a.npy']);
    expect(readFileSync(join(dir, 'b.npy'), 'utf8')).toBe(before['b.npy']);
  });
});

describe('writePlacedFilesAtomically: files in several directories, one commit', () => {
  const failAt = (n: number) => {
    let renames = 0;
    return {
      rename(from: string, to: string) {
        if (++renames === n) throw Object.assign(new Error(`EIO: i/o error, rename '${from}'`), { code: 'EIO' });
        renameSyncReal(from, to);
      },
    };
  };

  it('writes each file into its directory, creating them', async () => {
    const root = tempDir('syncbn-placed-');
    const written = await writePlacedFilesAtomically([
      { dir: join(root, 'out', 'svg'), name: 'a.svg', bytes: 'svg' },
      { dir: join(root, 'out', 'html'), name: 'a.html', bytes: 'html' },
    ]);
    expect(written).toEqual([join(root, 'out', 'svg', 'a.svg'), join(root, 'out', 'html', 'a.html')]);
    expect(readFileSync(join(root, 'out', 'html', 'a.html'), 'utf8')).toBe('html');
  });

  it('a rename failing at the second directory leaves no file and none of the directories it made', async () => {
    const root = tempDir('syncbn-placed-');
    await expect(
      writePlacedFilesAtomically(
        [
          { dir: join(root, 'out', 'svg'), name: 'a.svg', bytes: 'svg' },
          { dir: join(root, 'out', 'html'), name: 'a.html', bytes: 'html' },
        ],
        { fs: failAt(2) },
      ),
    ).rejects.toThrow(/cannot put the outputs in place .*EIO.*nothing new was written/);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a rename failing puts back an earlier file in another directory', async () => {
    const root = tempDir('syncbn-placed-');
    mkdirSync(join(root, 'svg'));
    writeFileSync(join(root, 'svg', 'a.svg'), 'earlier');
    await expect(
      writePlacedFilesAtomically(
        [
          { dir: join(root, 'svg'), name: 'a.svg', bytes: 'new' },
          { dir: join(root, 'html', 'deep'), name: 'a.html', bytes: 'html' },
        ],
        // Move the earlier svg aside, place the new svg, fail placing the html.
        { fs: failAt(3) },
      ),
    ).rejects.toThrow(/EIO/);
    expect(readdirSync(root)).toEqual(['svg']);
    expect(readdirSync(join(root, 'svg'))).toEqual(['a.svg']);
    expect(readFileSync(join(root, 'svg', 'a.svg'), 'utf8')).toBe('earlier');
  });
});

function rmAndMkdir(path: string): void {
  rmSync(path, { force: true, recursive: true });
  mkdirSync(path);
  expect(existsSync(path)).toBe(true);
}
