/**
 * What the layers that normalize with batch statistics across devices share (BatchNormLayer,
 * BatchRenormLayer): gamma and beta in the model's flat parameter vector, the context the running
 * device sets per task, the running statistics of layer `index`, and reused output buffers. A
 * subclass supplies only its forward and backward programs.
 */
import { checkObject, checkWhole } from '../args.js';
import { type Program, runWithoutPeers } from '../collectives/endpoint.js';
import { requireInput } from '../errors.js';
import type { ChannelLayout } from '../tensor/tensor.js';
import type { SeededRandom } from '../tensor/random.js';
import type { BnContext, BnContextHolder } from './batch-norm-layer.js';
import type { CommunicatingLayer } from './layer.js';

/** A layer over C channels with gamma and beta, normalizing with statistics of the device's BN mode. */
export abstract class BatchStatsLayer<Holder extends BnContextHolder = BnContextHolder> implements CommunicatingLayer {
  /** {@inheritDoc CommunicatingLayer.name} */
  readonly name: string;
  /** {@inheritDoc CommunicatingLayer.paramCount} */
  readonly paramCount: number;
  /** gamma, a view of the model's parameters (after bind). */
  protected gamma: Float32Array = new Float32Array(0);
  /** beta, a view of the model's parameters (after bind). */
  protected beta: Float32Array = new Float32Array(0);
  /** dL/dgamma, a view of the model's gradients (after bind). */
  protected gradGamma: Float32Array = new Float32Array(0);
  /** dL/dbeta, a view of the model's gradients (after bind). */
  protected gradBeta: Float32Array = new Float32Array(0);
  private y = new Float32Array(0);
  private dx = new Float32Array(0);

  /**
   * @param kind - names the layer: `${kind}(${channels})`.
   * @param channels - C (the features of [N,C] input, the channels of [N,C,H,W]).
   * @param index - numbers the model's layers with running statistics from 0, to find this one's.
   * @param holder - the holder the running device puts its context in before each task.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable.
   */
  constructor(
    kind: string,
    /** C. */
    readonly channels: number,
    /** The layer's number among the model's layers with running statistics. */
    readonly index: number,
    /** Where the running device puts its context before each task. */
    protected readonly holder: Holder,
  ) {
    checkWhole('channels', channels, 1);
    checkWhole('index', index);
    checkObject('holder', holder);
    this.name = `${kind}(${channels})`;
    this.paramCount = 2 * channels;
  }

  /** {@inheritDoc CommunicatingLayer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    requireInput(input[0] === this.channels, () => `${this.name} got ${input[0]} channels`);
    return [...input];
  }

  /** {@inheritDoc CommunicatingLayer.bind} */
  bind(params: Float32Array, grads: Float32Array): void {
    const C = this.channels;
    this.gamma = params.subarray(0, C);
    this.beta = params.subarray(C, 2 * C);
    this.gradGamma = grads.subarray(0, C);
    this.gradBeta = grads.subarray(C, 2 * C);
  }

  /**
   * gamma = 1, beta = 0, as PyTorch initializes them.
   * @param _rng - unused: the initial values are fixed.
   */
  init(_rng: SeededRandom): void {
    this.gamma.fill(1);
    this.beta.fill(0);
  }

  /** {@inheritDoc CommunicatingLayer.forward} */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array {
    return runWithoutPeers(this.forwardProgram(x, batch, inputShape, training), this.name);
  }

  /** {@inheritDoc CommunicatingLayer.backward} */
  backward(dy: Float32Array): Float32Array {
    return runWithoutPeers(this.backwardProgram(dy), this.name);
  }

  /** {@inheritDoc CommunicatingLayer.forwardProgram} */
  abstract forwardProgram(
    x: Float32Array,
    batch: number,
    inputShape: readonly number[],
    training: boolean,
  ): Program<Float32Array>;

  /** {@inheritDoc CommunicatingLayer.backwardProgram} */
  abstract backwardProgram(dy: Float32Array): Program<Float32Array>;

  /**
   * The context of the device running the layer now.
   * @returns the context.
   * @throws {@link syncbn-sim!InputError} when no device set one.
   */
  protected context(): BnContext {
    const ctx = this.holder.current;
    requireInput(ctx !== undefined, `${this.name} used without a device context`);
    return ctx;
  }

  /**
   * The layout of a batch of this layer's input: [N, C] or [N, C, H, W].
   * @param batch - N.
   * @param inputShape - one example's shape, [C] or [C, H, W].
   * @returns rows, channels and values per row and channel.
   */
  protected layoutOf(batch: number, inputShape: readonly number[]): ChannelLayout {
    return { rows: batch, channels: this.channels, inner: inputShape.length > 1 ? inputShape[1] * inputShape[2] : 1 };
  }

  /**
   * The output buffer for `length` values, reused between steps.
   * @param length - values.
   * @returns a view of exactly that many.
   */
  protected output(length: number): Float32Array {
    if (this.y.length < length) this.y = new Float32Array(length);
    return this.y.subarray(0, length);
  }

  /**
   * The grad-input buffer for `length` values, reused between steps.
   * @param length - values.
   * @returns a view of exactly that many.
   */
  protected gradInput(length: number): Float32Array {
    if (this.dx.length < length) this.dx = new Float32Array(length);
    return this.dx.subarray(0, length);
  }
}
