/**
 * Which normalization the training models use where they have batch norm: plain data (it travels
 * in tasks to the device threads), its parsing, and the factory `buildModel` calls for each of
 * its normalization layers. Without a choice (or with `batch`) the models are exactly as before:
 * BatchNormLayer in every BN mode.
 *
 *   batch           BatchNormLayer (the BN mode applies: local, sync, group:K, ghost:G)
 *   batch-renorm    BatchRenormLayer (local, sync, group:K; running statistics like BN)
 *   group-norm:G    GroupNormLayer, G groups (G must divide every normalized layer's channels)
 *   layer-norm      LayerNormLayer with a per-channel affine (group norm with G = 1, as in Wu and He 2018)
 *   instance-norm   InstanceNormLayer (feature maps only)
 *   frn             FrnLayer (FRN + TLU; learned eps on 1x1 inputs)
 * Only batch and batch-renorm keep running statistics, so only they take a slot in the model's
 * BN state (`bnChannels`).
 */
import { checkChoice, checkObject, checkString, checkWhole } from '../args.js';
import { InputError } from '../errors.js';
import { BatchNormLayer } from '../nn/batch-norm-layer.js';
import { BatchRenormLayer, type RenormContextHolder } from '../nn/batch-renorm-layer.js';
import { FrnLayer } from '../nn/frn-layer.js';
import { GroupNormLayer } from '../nn/group-norm-layer.js';
import { InstanceNormLayer } from '../nn/instance-norm-layer.js';
import type { Layer } from '../nn/layer.js';
import { LayerNormLayer } from '../nn/layer-norm-layer.js';

/** The normalization of a model's BN positions. */
export type ModelNorm =
  | {
      /** Batch norm in the trainer's BN mode. */
      readonly kind: 'batch';
    }
  | {
      /** Batch Renormalization, its statistics in the trainer's BN mode. */
      readonly kind: 'batch-renorm';
    }
  | {
      /** GroupNorm. */
      readonly kind: 'group-norm';
      /** G: must divide each layer's channels. */
      readonly groups: number;
    }
  | {
      /** LayerNorm over C, H, W. */
      readonly kind: 'layer-norm';
    }
  | {
      /** InstanceNorm with affine. */
      readonly kind: 'instance-norm';
    }
  | {
      /** Filter Response Normalization with TLU. */
      readonly kind: 'frn';
    };

/** The kinds, as written on a command line (group-norm takes `:G`). */
export const MODEL_NORM_KINDS: readonly ModelNorm['kind'][] = [
  'batch',
  'batch-renorm',
  'group-norm',
  'layer-norm',
  'instance-norm',
  'frn',
];

/**
 * Parses `batch`, `batch-renorm`, `group-norm:G`, `layer-norm`, `instance-norm` or `frn`.
 * @param text - the name.
 * @returns the choice.
 * @throws InputError for an unknown name or a bad G.
 */
export function parseModelNorm(text: string): ModelNorm {
  checkString('norm', text);
  const match = /^group-norm:(\d+)$/.exec(text);
  if (match) {
    const groups = Number(match[1]);
    if (!Number.isSafeInteger(groups) || groups < 1)
      throw new InputError(`norm ${text}: G must be a whole number >= 1`);
    return { kind: 'group-norm', groups };
  }
  if (text === 'group-norm') throw new InputError('norm group-norm needs its number of groups: group-norm:G');
  if (
    text === 'batch' ||
    text === 'batch-renorm' ||
    text === 'layer-norm' ||
    text === 'instance-norm' ||
    text === 'frn'
  )
    return { kind: text };
  throw new InputError(`unknown norm '${text}' (batch, batch-renorm, group-norm:G, layer-norm, instance-norm or frn)`);
}

/**
 * The text of a choice: `group-norm:G` or the kind.
 * @param norm - the choice.
 * @returns its name.
 * @throws InputError when it is malformed.
 */
export function modelNormName(norm: ModelNorm): string {
  checkModelNorm('norm', norm);
  return norm.kind === 'group-norm' ? `group-norm:${norm.groups}` : norm.kind;
}

/**
 * Checks a choice given as data.
 * @param name - what it is called in a message.
 * @param value - the choice.
 * @returns the choice.
 * @throws InputError when the kind is unknown or G is not a whole number >= 1.
 */
export function checkModelNorm(name: string, value: unknown): ModelNorm {
  const n = checkObject<ModelNorm>(name, value);
  checkChoice(`${name}.kind`, n.kind, MODEL_NORM_KINDS);
  if (n.kind === 'group-norm') checkWhole(`${name}.groups`, n.groups, 1);
  return n;
}

/**
 * The factory of one model's normalization layers: called once per BN position with its
 * channels, in order. Layers with running statistics are numbered in `bnChannels` (their
 * channels are appended there), as BatchNormLayer's always were.
 * @param norm - the choice; undefined means batch norm.
 * @param holder - the context holder the device fills per task (with the limits for batch-renorm).
 * @param bnChannels - receives the channels of each layer that keeps running statistics.
 * @returns the factory.
 * @throws InputError (from the factory) when G does not divide a layer's channels.
 */
export function normLayerMaker(
  norm: ModelNorm | undefined,
  holder: RenormContextHolder,
  bnChannels: number[],
): (channels: number) => Layer {
  const choice = norm === undefined ? { kind: 'batch' as const } : checkModelNorm('norm', norm);
  checkObject('holder', holder);
  return (channels) => {
    switch (choice.kind) {
      case 'batch':
      case 'batch-renorm': {
        const layer =
          choice.kind === 'batch'
            ? new BatchNormLayer(channels, bnChannels.length, holder)
            : new BatchRenormLayer(channels, bnChannels.length, holder);
        bnChannels.push(channels);
        return layer;
      }
      case 'group-norm':
        if (channels % choice.groups !== 0) {
          throw new InputError(
            `group-norm:${choice.groups}: G must divide the channels of every normalized layer, and this model has a layer of ${channels}`,
          );
        }
        return new GroupNormLayer(channels, choice.groups);
      case 'layer-norm':
        return new LayerNormLayer(channels);
      case 'instance-norm':
        return new InstanceNormLayer(channels);
      case 'frn':
        return new FrnLayer(channels);
    }
  };
}
