/**
 * The layer behind group norm, layer norm and instance norm: statistics over the sample's own
 * values (src/norm), so training and evaluation compute the same thing, no running statistics
 * are kept and nothing is exchanged with peers. gamma and beta live in the model's flat
 * parameter vector, one per channel or one per element of [C, H, W].
 */
import { checkChoice, checkNumber, checkWhole } from '../args.js';
import { requireInput } from '../errors.js';
import { inverseStd } from '../bn/normalize.js';
import { type AffineKind, affineGrads, normalizeSets, setGradInput, setGradSums } from '../norm/apply.js';
import { type StatsAxes, sampleAxes } from '../norm/axes.js';
import { setMoments } from '../norm/reduce.js';
import type { ChannelLayout } from '../tensor/tensor.js';
import type { SeededRandom } from '../tensor/random.js';
import { ModeBuffers, checkBackward, checkInput, reuse } from './buffers.js';
import type { Layer } from './layer.js';

/** How a sample-statistics layer is set up. */
export interface SampleNormSettings {
  /** C. */
  readonly channels: number;
  /** G: runs of C/G consecutive channels share statistics; must divide C. */
  readonly groups: number;
  /** Per channel, or per element of `elementShape`. */
  readonly affine: AffineKind;
  /** [C, H, W] (or [C]) of one example, needed for an elementwise affine. */
  readonly elementShape?: readonly number[];
  /** Default 1e-5. */
  readonly eps?: number;
}

/** A normalization over each sample's own values, with gamma and beta in the model's parameter vector. */
export class SampleNormLayer implements Layer {
  /** {@inheritDoc Layer.name} */
  readonly name: string;
  /** {@inheritDoc Layer.paramCount} */
  readonly paramCount: number;
  private readonly axes: StatsAxes;
  private readonly eps: number;
  private readonly affineSize: number;
  private gamma: Float32Array = new Float32Array(0);
  private beta: Float32Array = new Float32Array(0);
  private gradGamma: Float32Array = new Float32Array(0);
  private gradBeta: Float32Array = new Float32Array(0);
  private readonly out = new ModeBuffers();
  private dx: Float32Array | undefined;
  private cache?: {
    x: Float32Array;
    layout: ChannelLayout;
    mean: Float64Array;
    invStd: Float64Array;
    count: number;
    length: number;
  };

  /**
   * @param name - the layer's name in messages.
   * @param settings - channels, groups, affine kind, eps.
   * @throws InputError when the groups do not divide the channels or an elementwise affine has no shape.
   */
  constructor(
    name: string,
    /** What it normalizes over and its affine parameters. */
    readonly settings: SampleNormSettings,
  ) {
    const C = checkWhole('channels', settings.channels, 1);
    const G = checkWhole('groups', settings.groups, 1);
    requireInput(C % G === 0, () => `${name}: ${G} groups must divide the ${C} channels`);
    checkChoice('affine', settings.affine, ['channel', 'element']);
    this.eps = settings.eps === undefined ? 1e-5 : checkNumber('eps', settings.eps, { above: 0 });
    if (settings.affine === 'element') {
      requireInput(
        settings.elementShape !== undefined && settings.elementShape[0] === C,
        () => `${name}: an elementwise affine needs the example shape [${C}, H, W]`,
      );
      this.affineSize = settings.elementShape!.reduce((a, b) => a * b, 1);
    } else {
      this.affineSize = C;
    }
    this.name = name;
    this.axes = sampleAxes(G);
    this.paramCount = 2 * this.affineSize;
  }

  /**
   * @param input - one example's shape, [C] or [C, H, W].
   * @returns the same shape.
   * @throws InputError when the channels (or, elementwise, the whole shape) do not match.
   */
  outputShape(input: readonly number[]): number[] {
    requireInput(input[0] === this.settings.channels, () => `${this.name} got ${input[0]} channels`);
    if (this.settings.affine === 'element') {
      requireInput(
        input.reduce((a, b) => a * b, 1) === this.affineSize,
        () => `${this.name}: input [${input.join(',')}] does not match [${this.settings.elementShape!.join(',')}]`,
      );
    }
    return [...input];
  }

  /**
   * @param params - the layer's slice of the model's parameters: gamma then beta.
   * @param grads - the same slice of the gradients.
   */
  bind(params: Float32Array, grads: Float32Array): void {
    const P = this.affineSize;
    this.gamma = params.subarray(0, P);
    this.beta = params.subarray(P, 2 * P);
    this.gradGamma = grads.subarray(0, P);
    this.gradBeta = grads.subarray(P, 2 * P);
  }

  /**
   * gamma = 1, beta = 0 (PyTorch's initialisation).
   * @param _rng - unused: the initial values are fixed.
   */
  init(_rng: SeededRandom): void {
    this.gamma.fill(1);
    this.beta.fill(0);
  }

  /**
   * Normalizes each sample's sets with their own statistics (the same in training and evaluation).
   * @param x - batch x example values.
   * @param batch - examples.
   * @param inputShape - one example's shape.
   * @param training - whether to keep what backward needs.
   * @returns the output (reused by the layer's next call in the same mode).
   */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array {
    const layout: ChannelLayout = {
      rows: batch,
      channels: this.settings.channels,
      inner: inputShape.length > 1 ? inputShape[1] * inputShape[2] : 1,
    };
    checkInput(this.name, x, batch, layout.channels * layout.inner);
    const stats = setMoments(x, layout, this.axes);
    const invStd = inverseStd(stats.var, this.eps);
    const y = this.out.get(training, x.length);
    normalizeSets(
      x,
      layout,
      this.axes,
      stats.mean,
      invStd,
      { kind: this.settings.affine, weight: this.gamma, bias: this.beta },
      y,
    );
    this.cache = training ? { x, layout, mean: stats.mean, invStd, count: stats.count, length: y.length } : this.cache;
    return y;
  }

  /**
   * @param dy - dL/dy of the last training forward.
   * @returns dL/dx; adds dL/dgamma and dL/dbeta into the bound gradients.
   */
  backward(dy: Float32Array): Float32Array {
    const n = checkBackward(this.name, this.cache?.length, dy);
    const { x, layout, mean, invStd, count } = this.cache!;
    const affine = { kind: this.settings.affine, weight: this.gamma };
    this.dx = reuse(this.dx, n);
    const dx = this.dx;
    const sums = setGradSums(dy, x, layout, this.axes, mean, invStd, affine);
    setGradInput(dy, x, layout, this.axes, mean, invStd, affine, sums, count, dx);
    const { gradWeight, gradBias } = affineGrads(dy, x, layout, this.axes, mean, invStd, this.settings.affine);
    for (let p = 0; p < this.affineSize; p++) {
      this.gradGamma[p] += gradWeight[p];
      this.gradBeta[p] += gradBias[p];
    }
    return dx;
  }
}
