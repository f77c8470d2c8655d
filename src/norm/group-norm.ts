/** Group normalization (Wu and He 2018): statistics over (C/G, H, W) per sample and group. */
import { checkOptions, checkTensor, checkWhole } from '../args.js';
import { channelLayout, type Tensor } from '../tensor/tensor.js';
import { requireInput } from '../errors.js';
import { sampleAxes } from './axes.js';
import { type NormOptions, type NormResult, normOperator } from './operator.js';

/** Options of group norm: the number of groups, and those of every normalization. */
export interface GroupNormOptions extends NormOptions {
  /** G: consecutive runs of C/G channels share statistics; must divide C. */
  readonly groups: number;
}

/**
 * Group norm on one device, as PyTorch's nn.GroupNorm(G, C) with a per-channel affine.
 * @param input - [N, C] or [N, C, H, W].
 * @param options - groups, eps, gamma [C], beta [C], dL/dy.
 * @returns output, statistics per (sample, group) and gradients.
 * @throws InputError for a bad shape, non-finite values or groups that do not divide C.
 * @example
 * ```ts
 * const { output } = groupNorm({ data: x, shape: [2, 32, 7, 7] }, { groups: 8 });
 * ```
 */
export function groupNorm(input: Tensor, options: GroupNormOptions): NormResult {
  checkOptions('options', options);
  checkTensor('input', input);
  const groups = checkWhole('groups', options.groups, 1);
  const { channels } = channelLayout(input.shape);
  requireInput(channels % groups === 0, () => `group norm: ${groups} groups must divide the ${channels} channels`);
  return normOperator(input, sampleAxes(groups), 'channel', options);
}
