/**
 * LayerNorm over (C, H, W) as a layer. With `elementShape` its gamma and beta are elementwise, as
 * PyTorch's nn.LayerNorm([C, H, W]); without, one per channel, as the layer norm the Group Norm
 * paper compares (group norm with G = 1), which is what the training models use.
 */
import { SampleNormLayer } from './sample-norm-layer.js';

/** LayerNorm over (C, H, W) per sample; elementwise or per-channel affine. */
export class LayerNormLayer extends SampleNormLayer {
  /**
   * @param channels - C.
   * @param elementShape - [C, H, W] for an elementwise affine; left out: per channel.
   * @param eps - default 1e-5.
   * @throws InputError when the shape does not start with C.
   */
  constructor(channels: number, elementShape?: readonly number[], eps?: number) {
    super(`LayerNorm(${channels})`, {
      channels,
      groups: 1,
      affine: elementShape ? 'element' : 'channel',
      elementShape,
      eps,
    });
  }
}
