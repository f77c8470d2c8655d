/**
 * The layer contract of the training experiments. Activations are float32, batch-major and
 * contiguous ([batch, ...shape]). A model owns one flat parameter vector and one flat gradient
 * vector (so that data-parallel training all-reduces a single array); each layer is bound to its
 * slice of both. Layers run inside a device's worker thread and are synchronous.
 */
import type { Program } from '../collectives/endpoint.js';
import type { SeededRandom } from '../tensor/random.js';

export interface Layer {
  readonly name: string;
  /** Parameters this layer owns in the model's flat vector (0 for activations, pooling, ...). */
  readonly paramCount: number;
  /** Output shape of one example for an input shape of one example (both without the batch). */
  outputShape(input: readonly number[]): number[];
  /** Binds the layer to its slices of the model's flat parameter and gradient vectors. */
  bind(params: Float32Array, grads: Float32Array): void;
  /** Writes initial parameters into the bound slice (seeded). */
  init(rng: SeededRandom): void;
  /**
   * Forward pass over `batch` examples of `inputShape`. In training mode it keeps what backward
   * needs. The returned array may be reused by the layer on its next call.
   */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array;
  /** Backward pass of the last training forward: adds parameter gradients into the bound slice, returns dL/dx. */
  backward(dy: Float32Array): Float32Array;
}

/**
 * A layer whose passes talk to the device's peers (a synchronized BN): each pass is also a
 * program that pauses while it waits, so that one thread can run many devices' models.
 */
export interface CommunicatingLayer extends Layer {
  /** `forward` as a program; `forward` itself runs it and refuses to wait. */
  forwardProgram(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Program<Float32Array>;
  /** `backward` as a program; `backward` itself runs it and refuses to wait. */
  backwardProgram(dy: Float32Array): Program<Float32Array>;
}

/** Whether a layer's passes may talk to peers. */
export function isCommunicating(layer: Layer): layer is CommunicatingLayer {
  return typeof (layer as Partial<CommunicatingLayer>).forwardProgram === 'function';
}
