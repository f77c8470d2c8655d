/** Reading a user's input file whole, with one-line errors that name it. */
import { readFileSync, statSync } from 'node:fs';
import { InputError, requireInput } from '../errors.js';
import { describeFsError } from './fs-errors.js';

/** fs.readFileSync refuses files larger than this on Node 20 (2 GiB - 1). */
const MAX_FILE_BYTES = 2 ** 31 - 1;

/**
 * Reads a regular file whole.
 *
 * @param path - the file.
 * @param where - names it in messages (the path, or "label (path)").
 * @returns its bytes.
 * @throws {@link InputError} naming `where` when the file is missing, unreadable, a directory, not
 *   a regular file or larger than 2 GiB.
 */
export function readInputFile(path: string, where: string): Uint8Array {
  try {
    const stats = statSync(path);
    requireInput(!stats.isDirectory(), `${where}: cannot read file: is a directory`);
    requireInput(stats.isFile(), `${where}: cannot read file: not a regular file`);
    requireInput(
      stats.size <= MAX_FILE_BYTES,
      () => `${where}: cannot read file: too large (${stats.size} bytes, limit ${MAX_FILE_BYTES})`,
    );
    return readFileSync(path);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${where}: cannot read file: ${describeFsError(err)}`);
  }
}
