/**
 * `--input acts.npz` on `compare` and `noise`: captured activations of a real model
 * (python/syncbn_capture.py) run layer by layer. A file is read as an archive when its name ends
 * in `.npz`; `--layers a,b` keeps some layers. Flags that mean something only for one array are
 * refused when typed, never silently ignored.
 */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { type CapturedActivations, readCapturedActivations, selectLayers } from '../tensor/activations.js';

/**
 * Whether `--input` names an archive of captured activations.
 * @param path - the path typed.
 * @returns true when it ends in `.npz` (any case).
 */
export function isNpzPath(path: string | undefined): path is string {
  return path !== undefined && /\.npz$/i.test(path);
}

/**
 * Reads the archive and keeps the layers asked for.
 * @param path - the .npz.
 * @param layers - `--layers`, or undefined for every layer.
 * @returns the activations to run.
 * @throws InputError for a bad archive or an unknown layer name.
 */
export function readCapturedInput(path: string, layers: readonly string[] | undefined): CapturedActivations {
  const acts = readCapturedActivations(path);
  return layers ? selectLayers(acts, layers) : acts;
}

/**
 * Refuses flags typed on the command line that have no effect on captured activations, and
 * `--layers` without an archive.
 * @param command - the command, to see which flags were typed.
 * @param archive - whether `--input` is an .npz.
 * @param inapplicable - flags (camelCase option names) that do nothing per layer.
 * @throws InputError naming the flag.
 */
export function checkCapturedFlags(command: Command, archive: boolean, inapplicable: readonly string[]): void {
  const typed = (name: string) => command.getOptionValueSource(name) === 'cli';
  if (!archive && typed('layers'))
    throw new InputError(
      '--layers picks layers of captured activations: give --input ACTS.npz (from python/syncbn_capture.py)',
    );
  if (!archive) return;
  for (const name of inapplicable) {
    if (typed(name)) {
      const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new InputError(`${flag} has no effect with captured activations (--input .npz): drop it`);
    }
  }
}
