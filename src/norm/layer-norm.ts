/** Layer normalization over (C, H, W) per sample, as a ConvNet uses it. */
import { checkChoice, checkOptions } from '../args.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AffineKind } from './apply.js';
import { sampleAxes } from './axes.js';
import { type NormOptions, type NormResult, normOperator } from './operator.js';

/** Options of layer norm: the affine's kind, and those of every normalization. */
export interface LayerNormOptions extends NormOptions {
  /**
   * 'element' (default): gamma and beta of shape [C, H, W], as PyTorch's nn.LayerNorm([C, H, W]);
   * 'channel': one per channel, the layer norm of the Group Norm paper (group norm with G = 1).
   */
  readonly affine?: AffineKind;
}

/**
 * Layer norm on one device: statistics over all of a sample's C x H x W values.
 * @param input - [N, C] or [N, C, H, W].
 * @param options - affine kind, eps, gamma, beta, dL/dy.
 * @returns output, statistics per sample and gradients.
 * @throws InputError for a bad shape, non-finite values or bad options.
 * @example
 * ```ts
 * // [N=4, C=2]: each sample's two values are normalized together, whatever the batch.
 * const x = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [4, 2] };
 * const { stats } = layerNorm(x);
 * stats.mean; // [1.5, 3.5, 5.5, 7.5]
 * stats.var; // [0.25, 0.25, 0.25, 0.25]
 * ```
 */
export function layerNorm(input: Tensor, options: LayerNormOptions = {}): NormResult {
  checkOptions('options', options);
  const kind = options.affine === undefined ? 'element' : checkChoice('affine', options.affine, ['element', 'channel']);
  return normOperator(input, sampleAxes(1), kind, options);
}
