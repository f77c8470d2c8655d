/**
 * Where the PyTorch peers of the benchmarks run: Debian's python (which has python3-torch) and the
 * scripts/ directory of this package.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The python that runs the PyTorch peers: Debian's, where `apt-get install python3-torch` puts torch. */
export const TORCH_PYTHON = '/usr/bin/python3';

/**
 * The directory holding this package's package.json and scripts/, found from src/ or dist/src/.
 * @returns its path, or undefined when the package was installed without scripts/.
 */
export function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}
