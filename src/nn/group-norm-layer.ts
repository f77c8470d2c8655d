/** GroupNorm(G, C) as a layer: statistics over (C/G, H, W) per sample and group. */
import { SampleNormLayer } from './sample-norm-layer.js';

/** nn.GroupNorm(G, C): G groups of C/G channels per sample, a per-channel affine. */
export class GroupNormLayer extends SampleNormLayer {
  /**
   * @param channels - C.
   * @param groups - G, dividing C.
   * @param eps - default 1e-5.
   * @throws InputError when G does not divide C.
   */
  constructor(channels: number, groups: number, eps?: number) {
    super(`GroupNorm(${groups}, ${channels})`, { channels, groups, affine: 'channel', eps });
  }
}
