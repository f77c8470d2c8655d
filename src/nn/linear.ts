/**
 * Linear: y = x · W^T + b for x [batch, in], W [out, in], b [out] (PyTorch's layout). Parameters in
 * the bound slice: W row-major, then b.
 */
import { requireInput } from '../errors.js';
import { checkOptions, ofType } from '../args.js';
import type { SeededRandom } from '../tensor/random.js';
import { ModeBuffers, checkBackward, checkInput, reuse } from './buffers.js';
import { gemm } from './gemm.js';
import { type BiasInit, DEFAULT_BIAS_INIT, DEFAULT_INIT, type InitScheme, initBias, initWeight } from './init.js';
import type { Layer } from './layer.js';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Weight initialisation (default `xavier-uniform`, see src/nn/init.ts). */
  readonly init?: InitScheme;
  /** Bias initialisation (default `zero`). */
  readonly biasInit?: BiasInit;
  /** Whether the layer has a bias (default true). */
  readonly bias?: boolean;
}

/**
 * A fully connected layer, y = x W^T + b, as PyTorch's nn.Linear (W is [out, in], row-major, then
 * b, in the bound slice). Its matrix products run on the WebAssembly GEMM.
 *
 * @example
 * ```ts
 * const layer = new Linear(256, 120); // 256 * 120 + 120 parameters
 * ```
 */
export class Linear implements Layer {
  /** {@inheritDoc Layer.name} */
  readonly name: string;
  /** {@inheritDoc Layer.paramCount} */
  readonly paramCount: number;
  /** When false, backward skips dL/dx and returns an empty array (set by Sequential on a first layer). */
  inputGrad = true;
  private readonly hasBias: boolean;
  private readonly scheme: InitScheme;
  private readonly biasScheme: BiasInit;
  private weight: Float32Array = new Float32Array(0);
  private bias: Float32Array = new Float32Array(0);
  private gradWeight: Float32Array = new Float32Array(0);
  private gradBias: Float32Array = new Float32Array(0);
  private readonly out = new ModeBuffers();
  private x: Float32Array | undefined;
  private batch = 0;
  private dx: Float32Array | undefined;

  /**
   * @param inFeatures - features of the input.
   * @param outFeatures - features of the output.
   * @param options - initialisations (default xavier-uniform and zero) and bias (default true).
   * @throws {@link syncbn-sim!InputError} when an argument is unusable.
   */
  constructor(
    /** Features of the input. */
    readonly inFeatures: number,
    /** Features of the output. */
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    ofType.number('a positive integer')('inFeatures', inFeatures);
    ofType.number('a positive integer')('outFeatures', outFeatures);
    checkOptions('options', options);
    requireInput(
      Number.isInteger(inFeatures) && inFeatures > 0,
      `linear: in features must be a positive integer, got ${inFeatures}`,
    );
    requireInput(
      Number.isInteger(outFeatures) && outFeatures > 0,
      `linear: out features must be a positive integer, got ${outFeatures}`,
    );
    this.hasBias = options.bias ?? true;
    this.scheme = options.init ?? DEFAULT_INIT;
    this.biasScheme = options.biasInit ?? DEFAULT_BIAS_INIT;
    this.paramCount = outFeatures * inFeatures + (this.hasBias ? outFeatures : 0);
    this.name = `linear(${inFeatures}, ${outFeatures})`;
  }

  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    const size = input.reduce((a, b) => a * b, 1);
    requireInput(
      size === this.inFeatures,
      () => `${this.name}: input of shape [${input.join(',')}] has ${size} features, expected ${this.inFeatures}`,
    );
    return [this.outFeatures];
  }

  /** {@inheritDoc Layer.bind} */
  bind(params: Float32Array, grads: Float32Array): void {
    requireInput(
      params.length === this.paramCount && grads.length === this.paramCount,
      () => `${this.name}: bound slices must hold ${this.paramCount} values`,
    );
    const w = this.inFeatures * this.outFeatures;
    this.weight = params.subarray(0, w);
    this.bias = params.subarray(w);
    this.gradWeight = grads.subarray(0, w);
    this.gradBias = grads.subarray(w);
  }

  /** {@inheritDoc Layer.init} */
  init(rng: SeededRandom): void {
    const fans = { fanIn: this.inFeatures, fanOut: this.outFeatures };
    initWeight(this.weight, this.scheme, fans, rng);
    if (this.hasBias) initBias(this.bias, this.biasScheme, fans, rng);
  }

  /** {@inheritDoc Layer.forward} */
  forward(x: Float32Array, batch: number, _inputShape: readonly number[], training: boolean): Float32Array {
    const { inFeatures: I, outFeatures: O } = this;
    checkInput(this.name, x, batch, I);
    const y = this.out.get(training, batch * O);
    gemm(false, true, batch, O, I, x, I, this.weight, I, y, O);
    if (this.hasBias) {
      const b = this.bias;
      for (let n = 0; n < batch; n++) {
        const row = n * O;
        for (let o = 0; o < O; o++) y[row + o] += b[o];
      }
    }
    if (training) {
      this.x = x;
      this.batch = batch;
    }
    return y;
  }

  /** {@inheritDoc Layer.backward} */
  backward(dy: Float32Array): Float32Array {
    const { inFeatures: I, outFeatures: O, batch } = this;
    checkBackward(this.name, this.x === undefined ? undefined : batch * O, dy);
    const x = this.x!;
    gemm(true, false, O, I, batch, dy, O, x, I, this.gradWeight, I, true);
    if (this.hasBias) {
      const gb = this.gradBias;
      for (let n = 0; n < batch; n++) {
        const row = n * O;
        for (let o = 0; o < O; o++) gb[o] += dy[row + o];
      }
    }
    if (!this.inputGrad) return new Float32Array(0);
    this.dx = reuse(this.dx, batch * I);
    const dx = this.dx;
    gemm(false, false, batch, I, O, dy, O, this.weight, I, dx, I);
    return dx;
  }
}
