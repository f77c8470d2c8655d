/**
 * Batch-norm modes across devices:
 *   local    each device normalizes with its own shard's statistics
 *   sync     every device uses the whole batch's statistics (all-reduced)
 *   group:K  statistics all-reduced within consecutive groups of K ranks (K divides W)
 *   ghost:G  each device normalizes consecutive chunks of G rows of its shard on their own
 */
import type { Communicator } from '../collectives/communicator.js';
import { checkChoice, checkObject, checkString, checkWhole } from '../args.js';
import { InputError } from '../errors.js';

export type BnMode =
  | { readonly kind: 'local' }
  | { readonly kind: 'sync' }
  | { readonly kind: 'group'; readonly size: number }
  | { readonly kind: 'ghost'; readonly size: number };

/** The text of a mode: 'local', 'sync', 'group:K' or 'ghost:G'. */
export function modeName(mode: BnMode): string {
  checkObject('mode', mode);
  checkChoice('mode.kind', mode.kind, ['local', 'sync', 'group', 'ghost']);
  if (mode.kind === 'group' || mode.kind === 'ghost') checkWhole('mode.size', mode.size, 1);
  return mode.kind === 'group' || mode.kind === 'ghost' ? `${mode.kind}:${mode.size}` : mode.kind;
}

/** Parses `local`, `sync`, `group:K` or `ghost:G` and checks it against W devices. */
export function parseMode(text: string, devices: number): BnMode {
  checkString('mode', text);
  checkWhole('devices', devices, 1);
  if (text === 'local' || text === 'sync') return { kind: text };
  const match = /^(group|ghost):(\d+)$/.exec(text);
  if (!match) throw new InputError(`unknown mode '${text}' (local, sync, group:K or ghost:G)`);
  const size = Number(match[2]);
  if (!Number.isSafeInteger(size) || size < 1) throw new InputError(`mode ${text}: the size must be a whole number >= 1`);
  if (match[1] === 'group') {
    if (devices % size !== 0) throw new InputError(`mode ${text}: K = ${size} must divide the number of devices (${devices})`);
    return { kind: 'group', size };
  }
  return { kind: 'ghost', size };
}

/** The devices `rank` all-reduces with, or undefined when the mode needs no communication. */
export function syncGroup(mode: BnMode, rank: number, devices: number): Communicator | undefined {
  if (mode.kind === 'sync') return { first: 0, size: devices };
  if (mode.kind === 'group') return { first: Math.floor(rank / mode.size) * mode.size, size: mode.size };
  return undefined;
}
