/**
 * Writes a set of output files whole or not at all, on every exit path:
 *
 * 1. Up front, targets are checked: the directory must be one (or not exist yet), no target may
 *    be a directory, and no target may be one of the command's input files.
 * 2. Every file goes to a temporary name in the target directory, in chunks; between chunks an
 *    AbortSignal (Ctrl-C) is checked, and on abort or any failure the temporaries are removed.
 * 3. The commit renames: existing targets are first moved aside to backup names, then the new
 *    files are renamed into place, then the backups are deleted. If a rename fails half-way, the
 *    new files are removed and the backups renamed back, so the directory is as it was.
 *
 * `replaces` names files the command writes on some runs but not on this one (run's grad_*.npy
 * without --grad-output): they are moved aside in the same commit and deleted with the backups,
 * so a directory never holds files of two different runs of the command.
 */
import { closeSync, lstatSync, mkdirSync, openSync, renameSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { InputError, OutputWriteError } from '../errors.js';

/** One output file, in memory. */
export interface OutputFile {
  /** File name inside the output directory. */
  readonly name: string;
  /** Its contents (a string is written as UTF-8). */
  readonly bytes: Uint8Array | string;
}

/** An input file of the command, which no output may overwrite; `what` names it in messages (e.g. '--input'). */
export interface NamedInput {
  /** The input file. */
  readonly path: string;
  /** How messages name it, e.g. '--input'. */
  readonly what: string;
}

/** The file-system calls a commit makes; tests replace `rename` to fail half-way. */
export interface CommitFs {
  /**
   * Renames a file (fs.renameSync).
   *
   * @param from - the current path.
   * @param to - the new path.
   */
  rename(from: string, to: string): void;
}

/** What a write may also do: remove stale files, guard inputs, stop on a signal. */
export interface AtomicWriteOptions {
  /** Names the command may write in this directory: those not written this time are removed in the same commit. */
  readonly replaces?: readonly string[];
  /** Input files no output may be. */
  readonly inputs?: readonly NamedInput[];
  /** Checked between chunks; when it trips, everything is rolled back and `signal.reason` is thrown. */
  readonly signal?: AbortSignal;
  /** Awaited once, after the first temporary file is on disk (a hook for tests of interruption). */
  readonly afterFirstFile?: (temporary: string) => Promise<void>;
  /** Replaces the commit's renames (tests make one fail half-way). */
  readonly fs?: CommitFs;
}

/** What a write did. */
export interface AtomicWriteResult {
  /** Paths written, in the order given. */
  readonly written: string[];
  /** Names of an earlier run's files that this run removed (from `replaces`). */
  readonly removed: string[];
}

/** Bytes written per call, so that Ctrl-C is noticed within a chunk of a large file. */
const CHUNK_BYTES = 8 * 1024 * 1024;

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(e?.message ?? e);
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses unusable targets before any work starts (InputError, nothing written): `dir` exists
 * but is not a directory, a target `dir/name` is a directory, or a target is one of `inputs`
 * (the same file, through any path or link).
 *
 * @param dir - the output directory.
 * @param names - the files that will be written or removed in it.
 * @param inputs - input files no output may be.
 * @throws {@link InputError} naming the unusable target.
 */
export function checkOutputTargets(dir: string, names: readonly string[], inputs: readonly NamedInput[] = []): void {
  const d = statOrUndefined(dir);
  if (d && !d.isDirectory()) throw new InputError(`output directory ${dir} is a file, not a directory`);
  if (!d) {
    // Not there yet: every parent that exists must be a directory, or mkdir will fail.
    for (let p = resolve(dir); p !== dirname(p); p = dirname(p)) {
      const s = statOrUndefined(p);
      if (s && !s.isDirectory()) throw new InputError(`cannot create output directory ${dir}: ${p} is a file`);
      if (s) break;
    }
    return;
  }
  const inputStats = inputs.map((input) => ({ input, stat: statOrUndefined(input.path) }));
  for (const name of names) {
    const target = join(dir, name);
    const s = statOrUndefined(target);
    if (!s) continue;
    if (s.isDirectory()) throw new InputError(`output ${target} is a directory; remove it or choose another output`);
    const same = inputStats.find((i) => i.stat && i.stat.dev === s.dev && i.stat.ino === s.ino);
    if (same)
      throw new InputError(
        `output ${target} is the ${same.input.what} file ${same.input.path}: choose another output so that the input is not overwritten`,
      );
  }
}

/** Creates `dir` (and missing parents); returns the directories created, deepest first. */
function makeDirectory(dir: string): string[] {
  const missing: string[] = [];
  for (let p = resolve(dir); !exists(p) && p !== dirname(p); p = dirname(p)) missing.push(p);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new InputError(`cannot create output directory ${dir} (${reason(error)})`);
  }
  return missing;
}

/** Removes the directories a write created, deepest first; one that is not empty (someone else's files) stays. */
function removeDirectories(created: readonly string[]): void {
  const deepestFirst = [...new Set(created)].sort((a, b) => b.split(sep).length - a.split(sep).length);
  for (const d of deepestFirst) {
    try {
      rmdirSync(d);
    } catch {
      // Not empty: it and its parents stay.
    }
  }
}

/** Writes `bytes` to a new file in chunks, checking `signal` between them. */
async function writeInChunks(path: string, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
  const fd = openSync(path, 'wx');
  try {
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
      signal?.throwIfAborted();
      const chunk = bytes.subarray(at, Math.min(at + CHUNK_BYTES, bytes.length));
      for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done);
      // Let a pending signal handler run before the next chunk.
      await new Promise<void>((r) => setImmediate(r));
    }
  } finally {
    closeSync(fd);
  }
}

function removeQuietly(paths: readonly string[]): void {
  for (const p of paths) rmSync(p, { force: true });
}

/**
 * Writes `files` into `dir` whole or not at all (see the module comment): every file goes to a
 * temporary name first, and only when all are on disk are they renamed into place.
 *
 * @param dir - the output directory, created (with its parents) if missing.
 * @param files - the files, in memory.
 * @param options - files to remove in the same commit, inputs to protect, an AbortSignal, test
 *   hooks.
 * @returns the paths written and the stale files removed.
 * @throws {@link InputError} for unusable targets or a directory that cannot be written (nothing
 *   written).
 * @throws {@link OutputWriteError} when a rename fails at the commit (the directory is restored).
 * @throws `options.signal.reason` when the signal trips (everything rolled back).
 */
export async function writeFilesAtomically(
  dir: string,
  files: readonly OutputFile[],
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const names = files.map((f) => f.name);
  const stale = (options.replaces ?? []).filter((n) => !names.includes(n));
  const { written, removed } = await commitOutputs(
    files.map((f) => ({ dir, name: f.name, bytes: f.bytes })),
    stale.map((name) => ({ dir, name })),
    options,
  );
  return { written, removed: stale.filter((name) => removed.includes(join(dir, name))) };
}

/** One output file and the directory it goes to. */
export interface PlacedOutputFile extends OutputFile {
  /** Its directory, created (with its parents) if missing. */
  readonly dir: string;
}

/**
 * Writes files that may go to different directories whole or not at all, as one commit: every
 * file is written to a temporary name beside its target first, and only when all are on disk
 * are they renamed into place (with the same rollback as {@link writeFilesAtomically}).
 *
 * @param files - the files, each with its directory.
 * @param options - inputs to protect, an AbortSignal, test hooks (`replaces` does not apply).
 * @returns the paths written, in the order given.
 * @throws {@link InputError} for unusable targets or a directory that cannot be written (nothing
 *   written).
 * @throws {@link OutputWriteError} when a rename fails at the commit (every directory restored).
 * @throws `options.signal.reason` when the signal trips (everything rolled back).
 */
export async function writePlacedFilesAtomically(
  files: readonly PlacedOutputFile[],
  options: AtomicWriteOptions = {},
): Promise<string[]> {
  return (await commitOutputs(files, [], options)).written;
}

/** The targets of a commit, by directory, for the checks that work per directory. */
function byDirectory(targets: readonly { dir: string; name: string }[]): Map<string, string[]> {
  const dirs = new Map<string, string[]>();
  for (const { dir, name } of targets) dirs.set(dir, [...(dirs.get(dir) ?? []), name]);
  return dirs;
}

/** Stages every file beside its target, then renames them all into place; `stale` files go in the same commit. */
async function commitOutputs(
  files: readonly PlacedOutputFile[],
  stale: readonly { dir: string; name: string }[],
  options: AtomicWriteOptions,
): Promise<{ written: string[]; removed: string[] }> {
  const dirs = byDirectory([...files, ...stale]);
  const check = () => {
    for (const [dir, names] of dirs) checkOutputTargets(dir, names, options.inputs);
  };
  check();
  options.signal?.throwIfAborted();
  const created: string[] = [];
  const tag = `.tmp-${process.pid}-${Date.now().toString(36)}`;
  const temporaries: string[] = [];
  try {
    for (const dir of byDirectory(files).keys()) created.push(...makeDirectory(dir));
    for (const file of files) {
      const temporary = join(file.dir, `.${file.name}${tag}`);
      temporaries.push(temporary);
      try {
        await writeInChunks(
          temporary,
          typeof file.bytes === 'string' ? Buffer.from(file.bytes) : file.bytes,
          options.signal,
        );
      } catch (error) {
        if (options.signal?.aborted) throw error;
        throw new InputError(`cannot write to output directory ${file.dir} (${reason(error)})`);
      }
      if (temporaries.length === 1) await options.afterFirstFile?.(temporary);
    }
    options.signal?.throwIfAborted();
    // The targets may have changed while the files were written.
    check();
  } catch (error) {
    removeQuietly(temporaries);
    removeDirectories(created);
    throw options.signal?.aborted ? options.signal.reason : error;
  }
  // The commit is synchronous: no signal handler can run in the middle of it.
  const fs = options.fs ?? { rename: renameSync };
  const backups: { final: string; backup: string }[] = [];
  const placed: string[] = [];
  try {
    for (const { dir, name } of [...files, ...stale]) {
      const final = join(dir, name);
      if (!exists(final)) continue;
      const backup = join(dir, `.${name}${tag}.old`);
      fs.rename(final, backup);
      backups.push({ final, backup });
    }
    for (let i = 0; i < files.length; i++) {
      const final = join(files[i].dir, files[i].name);
      fs.rename(temporaries[i], final);
      placed.push(final);
    }
  } catch (error) {
    removeQuietly(placed);
    for (const { final, backup } of backups.reverse()) {
      try {
        renameSync(backup, final);
      } catch {
        // Best effort: the backup keeps the old file under its hidden name.
      }
    }
    removeQuietly(temporaries);
    removeDirectories(created);
    const where = [...byDirectory(files).keys()].join(', ');
    throw new OutputWriteError(
      `cannot put the outputs in place in ${where} (${reason(error)}); the earlier files are back and nothing new was written`,
    );
  }
  removeQuietly(backups.map((b) => b.backup));
  const stalePaths = stale.map(({ dir, name }) => join(dir, name));
  return { written: placed, removed: stalePaths.filter((path) => backups.some((b) => b.final === path)) };
}
