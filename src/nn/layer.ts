/**
 * The layer contract of the training experiments. Activations are float32, batch-major and
 * contiguous ([batch, ...shape]). A model owns one flat parameter vector and one flat gradient
 * vector (so that data-parallel training all-reduces a single array); each layer is bound to its
 * slice of both. Layers run inside a device's worker thread and are synchronous.
 */
import type { Program } from '../collectives/endpoint.js';
import type { SeededRandom } from '../tensor/random.js';

/** A layer of a model: shapes, parameters in a slice of the model's flat vectors, forward and backward passes. */
export interface Layer {
  /** A short name for summaries and messages, e.g. "linear(256, 120)". */
  readonly name: string;
  /** Parameters this layer owns in the model's flat vector (0 for activations, pooling, ...). */
  readonly paramCount: number;
  /**
   * Output shape of one example for an input shape of one example (both without the batch).
   * @param input - the per-example input shape.
   * @returns the per-example output shape.
   * @throws `InputError` when the layer cannot take that shape.
   */
  outputShape(input: readonly number[]): number[];
  /**
   * Binds the layer to its slices of the model's flat parameter and gradient vectors.
   * @param params - its `paramCount` parameters (a view; values are not copied).
   * @param grads - its `paramCount` gradients, which backward adds into.
   */
  bind(params: Float32Array, grads: Float32Array): void;
  /**
   * Writes initial parameters into the bound slice (seeded).
   * @param rng - the generator; models initialise their layers in order from one.
   */
  init(rng: SeededRandom): void;
  /**
   * Forward pass over `batch` examples of `inputShape`. In training mode it keeps what backward
   * needs. The returned array may be reused by the layer on its next call.
   * @param x - the input, [batch, ...inputShape], float32.
   * @param batch - examples in `x`.
   * @param inputShape - the per-example input shape.
   * @param training - train mode (keeps what backward needs; BN uses batch statistics).
   * @returns the output, [batch, ...outputShape].
   * @throws `InputError` when `x` does not hold `batch` examples of `inputShape`.
   */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array;
  /**
   * Backward pass of the last training forward: adds parameter gradients into the bound slice.
   * @param dy - dL/d(output) of that forward.
   * @returns dL/dx (an empty array when the layer was told to skip it).
   * @throws `InputError` without a training forward, or for a gradient of the wrong size.
   */
  backward(dy: Float32Array): Float32Array;
}

/**
 * A layer whose passes talk to the device's peers (a synchronized BN): each pass is also a
 * program that pauses while it waits, so that one thread can run many devices' models.
 */
export interface CommunicatingLayer extends Layer {
  /**
   * `forward` as a program; `forward` itself runs it and refuses to wait.
   * @param x - the input, [batch, ...inputShape].
   * @param batch - examples in `x`.
   * @param inputShape - the per-example input shape.
   * @param training - train mode.
   * @returns a program whose result is the output.
   */
  forwardProgram(
    x: Float32Array,
    batch: number,
    inputShape: readonly number[],
    training: boolean,
  ): Program<Float32Array>;
  /**
   * `backward` as a program; `backward` itself runs it and refuses to wait.
   * @param dy - dL/d(output) of the last training forward.
   * @returns a program whose result is dL/dx.
   */
  backwardProgram(dy: Float32Array): Program<Float32Array>;
}

/**
 * Whether a layer's passes may talk to peers.
 * @param layer - any layer.
 * @returns true when it is a CommunicatingLayer.
 */
export function isCommunicating(layer: Layer): layer is CommunicatingLayer {
  return typeof (layer as Partial<CommunicatingLayer>).forwardProgram === 'function';
}
