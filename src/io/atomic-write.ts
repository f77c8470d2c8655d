/**
 * Writes a set of output files whole or not at all: every file goes to a temporary name in the
 * target directory first, and only when all of them are on disk are they renamed into place.
 * On any failure the temporaries are removed and nothing with a final name is left behind.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';

export interface OutputFile {
  readonly name: string;
  readonly bytes: Uint8Array | string;
}

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(e.message ?? e);
}

export function writeFilesAtomically(dir: string, files: readonly OutputFile[]): string[] {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new InputError(`cannot create output directory ${dir} (${reason(error)})`);
  }
  const tag = `.tmp-${process.pid}-${Date.now().toString(36)}`;
  const temporaries: string[] = [];
  try {
    for (const file of files) {
      const temporary = join(dir, `.${file.name}${tag}`);
      temporaries.push(temporary);
      writeFileSync(temporary, file.bytes);
    }
  } catch (error) {
    for (const t of temporaries) rmSync(t, { force: true });
    throw new InputError(`cannot write to output directory ${dir} (${reason(error)})`);
  }
  const finals = files.map((f) => join(dir, f.name));
  for (let i = 0; i < files.length; i++) renameSync(temporaries[i], finals[i]);
  return finals;
}
