/** InstanceNorm2d(C, affine=True) as a layer: statistics over (H, W) per sample and channel. */
import { requireInput } from '../errors.js';
import { SampleNormLayer } from './sample-norm-layer.js';

/** nn.InstanceNorm2d(C, affine=True): (H, W) per sample and channel; feature maps only. */
export class InstanceNormLayer extends SampleNormLayer {
  /**
   * @param channels - C.
   * @param eps - default 1e-5.
   */
  constructor(channels: number, eps?: number) {
    super(`InstanceNorm(${channels})`, { channels, groups: channels, affine: 'channel', eps });
  }

  /**
   * @param input - one example's shape.
   * @returns the same shape.
   * @throws InputError on an example without H x W > 1: each value would be normalized by itself (y = beta).
   */
  override outputShape(input: readonly number[]): number[] {
    requireInput(
      input.length === 3 && input[1] * input[2] > 1,
      () =>
        `${this.name}: instance norm needs feature maps larger than 1x1, got [${input.join(',')}] (each value would be normalized by itself)`,
    );
    return super.outputShape(input);
  }
}
