/** Instance normalization: statistics over (H, W) per sample and channel, with a per-channel affine. */
import { checkTensor } from '../args.js';
import { channelLayout, type Tensor } from '../tensor/tensor.js';
import { sampleAxes } from './axes.js';
import { type NormOptions, type NormResult, normOperator } from './operator.js';

/**
 * Instance norm on one device, as PyTorch's nn.InstanceNorm2d(C, affine=True) in training mode
 * (no running statistics).
 * @param input - [N, C] or [N, C, H, W] (on [N, C] every set has one element, so y = beta).
 * @param options - eps, gamma [C], beta [C], dL/dy.
 * @returns output, statistics per (sample, channel) and gradients.
 * @throws InputError for a bad shape, non-finite values or bad options.
 * @example
 * ```ts
 * // One 2x2 image of two channels: channel 0 holds 0, 2, 4, 6 and channel 1 is constant.
 * const { stats, output } = instanceNorm({ data: new Float32Array([0, 2, 4, 6, 1, 1, 1, 1]), shape: [1, 2, 2, 2] });
 * stats.mean; // [3, 1]
 * stats.var; // [5, 0]: channel 1's output is all 0 (beta)
 * ```
 */
export function instanceNorm(input: Tensor, options: NormOptions = {}): NormResult {
  checkTensor('input', input);
  return normOperator(input, sampleAxes(channelLayout(input.shape).channels), 'channel', options);
}
