/** Element-wise activations. Both keep their own output for the backward pass. */
import { kernelBackend } from '../kernels/backend.js';
import { checkFloat32Array } from '../args.js';
import type { SeededRandom } from '../tensor/random.js';
import { ModeBuffers, checkBackward, reuse } from './buffers.js';
import type { Layer } from './layer.js';
import { sigmoidWasm } from './sigmoid-wasm.js';

abstract class Elementwise implements Layer {
  /** {@inheritDoc Layer.name} */
  abstract readonly name: string;
  /** {@inheritDoc Layer.paramCount} */
  readonly paramCount = 0;
  protected readonly out = new ModeBuffers();
  protected y: Float32Array | undefined;
  protected dx: Float32Array | undefined;

  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    return [...input];
  }
  /** {@inheritDoc Layer.bind} */
  bind(_params: Float32Array, _grads: Float32Array): void {}
  /** {@inheritDoc Layer.init} */
  init(_rng: SeededRandom): void {}

  /** {@inheritDoc Layer.forward} */
  forward(x: Float32Array, _batch: number, _inputShape: readonly number[], training: boolean): Float32Array {
    checkFloat32Array('x', x);
    const y = this.out.get(training, x.length);
    this.apply(x, y);
    if (training) this.y = y;
    return y;
  }

  /** {@inheritDoc Layer.backward} */
  backward(dy: Float32Array): Float32Array {
    const n = checkBackward(this.name, this.y?.length, dy);
    this.dx = reuse(this.dx, n);
    const dx = this.dx;
    this.gradient(this.y!, dy, dx);
    return dx;
  }

  protected abstract apply(x: Float32Array, y: Float32Array): void;
  protected abstract gradient(y: Float32Array, dy: Float32Array, dx: Float32Array): void;
}

/**
 * y = 1 / (1 + exp(-x)); dx = dy * y * (1 - y). The forward runs on the thread's kernel backend
 * (src/kernels/backend.ts): WebAssembly SIMD (src/nn/sigmoid-wasm.ts, within 2 ulp of the float64
 * formula rounded to float32) or `sigmoidJs`.
 */
export class Sigmoid extends Elementwise {
  /** {@inheritDoc Layer.name} */
  readonly name = 'sigmoid';
  protected apply(x: Float32Array, y: Float32Array): void {
    if (kernelBackend() === 'wasm') sigmoidWasm(x, y);
    else sigmoidJs(x, y);
  }
  protected gradient(y: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < y.length; i++) {
      const s = y[i];
      dx[i] = dy[i] * s * (1 - s);
    }
  }
}

/**
 * The plain JavaScript sigmoid: the `js` backend, and the reference for the SIMD one.
 * @param x - the input.
 * @param y - receives 1 / (1 + exp(-x)) (may be x).
 */
export function sigmoidJs(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
}

/**
 * y = max(0, x); dx = dy where x > 0 (the gradient at 0 is 0, as PyTorch). Branch-free (a mask
 * multiply: about 5x faster than a conditional on inputs of random sign); NaN propagates as in
 * PyTorch. The only difference from max(0, x) is x = -Infinity, which gives NaN.
 */
export class ReLU extends Elementwise {
  /** {@inheritDoc Layer.name} */
  readonly name = 'relu';
  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      y[i] = v * +(v > 0) + 0; // + 0 turns -0 into 0
    }
  }
  protected gradient(y: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < y.length; i++) dx[i] = dy[i] * +(y[i] > 0) + 0;
  }
}
