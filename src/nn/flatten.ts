/** Flatten: [C, H, W] (any shape) to one dimension. Data is batch-major already: nothing moves. */
import type { SeededRandom } from '../tensor/random.js';
import { checkBackward, checkInput } from './buffers.js';
import type { Layer } from './layer.js';

export class Flatten implements Layer {
  readonly name = 'flatten';
  readonly paramCount = 0;
  private length: number | undefined;

  outputShape(input: readonly number[]): number[] {
    return [input.reduce((a, b) => a * b, 1)];
  }
  bind(_params: Float32Array, _grads: Float32Array): void {}
  init(_rng: SeededRandom): void {}

  /** Returns `x` itself. */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array {
    checkInput(this.name, x, batch, this.outputShape(inputShape)[0]);
    if (training) this.length = x.length;
    return x;
  }

  /** Returns `dy` itself. */
  backward(dy: Float32Array): Float32Array {
    checkBackward(this.name, this.length, dy);
    return dy;
  }
}
