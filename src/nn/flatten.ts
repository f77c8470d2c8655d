/** Flatten: [C, H, W] (any shape) to one dimension. Data is batch-major already: nothing moves. */
import type { SeededRandom } from '../tensor/random.js';
import { checkBackward, checkInput } from './buffers.js';
import type { Layer } from './layer.js';

/** Flatten: [C, H, W] (any shape) to one dimension, [C*H*W]. Data is batch-major already: nothing moves. */
export class Flatten implements Layer {
  /** {@inheritDoc Layer.name} */
  readonly name = 'flatten';
  /** {@inheritDoc Layer.paramCount} */
  readonly paramCount = 0;
  private length: number | undefined;

  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    return [input.reduce((a, b) => a * b, 1)];
  }
  /** {@inheritDoc Layer.bind} */
  bind(_params: Float32Array, _grads: Float32Array): void {}
  /** {@inheritDoc Layer.init} */
  init(_rng: SeededRandom): void {}

  /** {@inheritDoc Layer.forward} */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array {
    checkInput(this.name, x, batch, this.outputShape(inputShape)[0]);
    if (training) this.length = x.length;
    return x;
  }

  /** {@inheritDoc Layer.backward} */
  backward(dy: Float32Array): Float32Array {
    checkBackward(this.name, this.length, dy);
    return dy;
  }
}
