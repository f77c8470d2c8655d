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

/** A parsed BN mode: what `parseMode` returns and what `Cluster.forward` and the trainer take. */
export type BnMode =
  | {
      /** Each device normalizes with its own shard's statistics. */
      readonly kind: 'local';
    }
  | {
      /** Every device normalizes with the whole batch's statistics. */
      readonly kind: 'sync';
    }
  | {
      /** Statistics all-reduced within consecutive groups of `size` ranks. */
      readonly kind: 'group';
      /** Ranks per group K (divides the number of devices). */
      readonly size: number;
    }
  | {
      /** Each device normalizes chunks of `size` rows of its shard on their own. */
      readonly kind: 'ghost';
      /** Rows per chunk G (the last chunk of a shard may be smaller). */
      readonly size: number;
    };

/**
 * The text of a mode: 'local', 'sync', 'group:K' or 'ghost:G'.
 *
 * @param mode - a parsed mode.
 * @returns its name, as `parseMode` reads it.
 * @throws {@link InputError} when `mode` is not a mode.
 */
export function modeName(mode: BnMode): string {
  checkObject('mode', mode);
  checkChoice('mode.kind', mode.kind, ['local', 'sync', 'group', 'ghost']);
  if (mode.kind === 'group' || mode.kind === 'ghost') checkWhole('mode.size', mode.size, 1);
  return mode.kind === 'group' || mode.kind === 'ghost' ? `${mode.kind}:${mode.size}` : mode.kind;
}

/**
 * Parses `local`, `sync`, `group:K` or `ghost:G` and checks it against W devices.
 *
 * @param text - the mode's name.
 * @param devices - W: K of `group:K` must divide it.
 * @returns the parsed mode.
 * @throws {@link InputError} for an unknown mode, a size below 1, or a K that does not divide W.
 * @example
 * ```ts
 * parseMode('group:2', 8); // { kind: 'group', size: 2 }
 * ```
 */
export function parseMode(text: string, devices: number): BnMode {
  checkString('mode', text);
  checkWhole('devices', devices, 1);
  if (text === 'local' || text === 'sync') return { kind: text };
  const match = /^(group|ghost):(\d+)$/.exec(text);
  if (!match) throw new InputError(`unknown mode '${text}' (local, sync, group:K or ghost:G)`);
  const size = Number(match[2]);
  if (!Number.isSafeInteger(size) || size < 1)
    throw new InputError(`mode ${text}: the size must be a whole number >= 1`);
  if (match[1] === 'group') {
    if (devices % size !== 0)
      throw new InputError(`mode ${text}: K = ${size} must divide the number of devices (${devices})`);
    return { kind: 'group', size };
  }
  return { kind: 'ghost', size };
}

/**
 * The devices `rank` all-reduces with.
 *
 * @param mode - the BN mode.
 * @param rank - the device.
 * @param devices - W.
 * @returns the run of ranks it syncs with, or undefined when the mode needs no communication (local, ghost).
 */
export function syncGroup(mode: BnMode, rank: number, devices: number): Communicator | undefined {
  if (mode.kind === 'sync') return { first: 0, size: devices };
  if (mode.kind === 'group') return { first: Math.floor(rank / mode.size) * mode.size, size: mode.size };
  return undefined;
}
