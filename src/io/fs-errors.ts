/** File-system errors in words a user understands, for one-line messages. */

/**
 * A file-system error in words a user understands.
 *
 * @param err - what a node:fs call threw.
 * @returns 'no such file', 'permission denied', ...; the error's code or message otherwise.
 */
export function describeFsError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'ENOTDIR':
      return 'no such file (a parent is not a directory)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ERR_FS_FILE_TOO_LARGE':
      return 'too large';
    default:
      return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
  }
}
