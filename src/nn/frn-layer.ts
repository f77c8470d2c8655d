/**
 * Filter Response Normalization with TLU as a layer (src/norm/frn.ts). Per channel it owns gamma,
 * beta, tau and a learned epsL (eps = 1e-6 + |epsL|). The paper learns eps where the feature map is
 * 1x1 (fully connected layers), and keeps it fixed elsewhere: epsL starts at 1 on 1x1 inputs (so
 * xhat = x / sqrt(x^2 + 1), not sign(x)) and at 0 elsewhere, where |epsL|'s zero derivative at 0
 * keeps it fixed. Which one applies is read from the input shape Sequential passes in.
 */
import { checkNumber, checkWhole } from '../args.js';
import { requireInput } from '../errors.js';
import { FRN_EPS, frnBackward, frnForward, frnInverseRms } from '../norm/frn.js';
import { sampleAxes } from '../norm/axes.js';
import { setMeanSquares } from '../norm/reduce.js';
import type { ChannelLayout } from '../tensor/tensor.js';
import type { SeededRandom } from '../tensor/random.js';
import { ModeBuffers, checkBackward, checkInput, reuse } from './buffers.js';
import type { Layer } from './layer.js';

/** FRN + TLU with per-channel gamma, beta, tau and learned eps. */
export class FrnLayer implements Layer {
  /** {@inheritDoc Layer.name} */
  readonly name: string;
  /** {@inheritDoc Layer.paramCount} */
  readonly paramCount: number;
  private readonly eps: number;
  private spatial = true;
  private params: Float32Array = new Float32Array(0);
  private grads: Float32Array = new Float32Array(0);
  private readonly out = new ModeBuffers();
  private dx: Float32Array | undefined;
  private cache?: { x: Float32Array; layout: ChannelLayout; invRms: Float64Array; length: number };

  /**
   * @param channels - C.
   * @param eps - eps0, default 1e-6.
   */
  constructor(
    /** C. */
    readonly channels: number,
    eps?: number,
  ) {
    checkWhole('channels', channels, 1);
    this.eps = eps === undefined ? FRN_EPS : checkNumber('eps', eps, { above: 0 });
    this.name = `FRN(${channels})`;
    this.paramCount = 4 * channels;
  }

  /**
   * @param input - one example's shape, [C] or [C, H, W].
   * @returns the same shape.
   * @throws InputError when the channels do not match.
   */
  outputShape(input: readonly number[]): number[] {
    requireInput(input[0] === this.channels, () => `${this.name} got ${input[0]} channels`);
    this.spatial = input.length === 3 && input[1] * input[2] > 1;
    return [...input];
  }

  /**
   * @param params - gamma, beta, tau, epsL (C each).
   * @param grads - the same slice of the gradients.
   */
  bind(params: Float32Array, grads: Float32Array): void {
    this.params = params;
    this.grads = grads;
  }

  /**
   * gamma = 1, beta = 0, tau = 0; epsL = 0 on feature maps, 1 on 1x1 inputs.
   * @param _rng - unused: the initial values are fixed.
   */
  init(_rng: SeededRandom): void {
    const C = this.channels;
    this.params.subarray(0, C).fill(1);
    this.params.subarray(C, 3 * C).fill(0);
    this.params.subarray(3 * C, 4 * C).fill(this.spatial ? 0 : 1);
  }

  private parts() {
    const C = this.channels;
    const p = this.params;
    return {
      weight: p.subarray(0, C),
      bias: p.subarray(C, 2 * C),
      tau: p.subarray(2 * C, 3 * C),
      learnedEps: p.subarray(3 * C, 4 * C),
    };
  }

  /**
   * @param x - batch x example values.
   * @param batch - examples.
   * @param inputShape - one example's shape.
   * @param training - whether to keep what backward needs.
   * @returns the output.
   */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array {
    const layout: ChannelLayout = {
      rows: batch,
      channels: this.channels,
      inner: inputShape.length > 1 ? inputShape[1] * inputShape[2] : 1,
    };
    checkInput(this.name, x, batch, layout.channels * layout.inner);
    const parts = this.parts();
    const nu2 = setMeanSquares(x, layout, sampleAxes(this.channels)).var;
    const invRms = frnInverseRms(nu2, this.channels, this.eps, parts.learnedEps);
    const y = this.out.get(training, x.length);
    frnForward(x, layout, invRms, parts, y);
    this.cache = training ? { x, layout, invRms, length: y.length } : this.cache;
    return y;
  }

  /**
   * @param dy - dL/dy of the last training forward.
   * @returns dL/dx; adds the gradients of gamma, beta, tau and epsL.
   */
  backward(dy: Float32Array): Float32Array {
    const n = checkBackward(this.name, this.cache?.length, dy);
    const { x, layout, invRms } = this.cache!;
    this.dx = reuse(this.dx, n);
    const dx = this.dx;
    const g = frnBackward(dy, x, layout, invRms, this.parts(), dx);
    const C = this.channels;
    for (let c = 0; c < C; c++) {
      this.grads[c] += g.gradWeight[c];
      this.grads[C + c] += g.gradBias[c];
      this.grads[2 * C + c] += g.gradTau[c];
      this.grads[3 * C + c] += g.gradEps[c];
    }
    return dx;
  }
}
