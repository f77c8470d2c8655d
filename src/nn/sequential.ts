/**
 * Sequential: a chain of layers over one flat parameter vector and one flat gradient vector.
 *
 * Layer i owns params[offsets[i], offsets[i] + layers[i].paramCount) and the same slice of grads,
 * in layer order, so that data-parallel training all-reduces one array and an optimizer steps one
 * array. The vectors are the model's own Float32Arrays, or any the caller binds with `bindTo`
 * (for example views of a SharedArrayBuffer per device). Any `Layer` fits, including layers that
 * keep state outside the vectors (running statistics of batch norm): Sequential only calls the
 * interface, in order, with the per-example shape each layer sees.
 */
import { InputError, requireInput } from '../errors.js';
import { argumentError, checkOptions, ofType } from '../args.js';
import type { SeededRandom } from '../tensor/random.js';
import { checkInput } from './buffers.js';
import { type Program, runWithoutPeers } from '../collectives/endpoint.js';
import { type Layer, isCommunicating } from './layer.js';

/** Layers that can skip computing dL/dx (Linear, Conv2d): Sequential turns it off for the first layer. */
export interface InputGradSwitch {
  /** Whether backward computes dL/dx (false skips it and returns an empty array). */
  inputGrad: boolean;
}

function hasInputGradSwitch(layer: Layer): layer is Layer & InputGradSwitch {
  return typeof (layer as Partial<InputGradSwitch>).inputGrad === 'boolean';
}

/** Options of {@link Sequential}. */
export interface SequentialOptions {
  /**
   * Whether backward must return dL/d(input) (default false: the first layer skips it where it
   * can, and backward may then return an empty array).
   */
  readonly inputGrad?: boolean;
}

/**
 * A model: layers run in order, bound to slices of one flat parameter vector and one flat gradient
 * vector (so that data-parallel training all-reduces a single array). Its passes are also programs,
 * so that BN layers can pause for the device's peers.
 *
 * @example
 * ```ts
 * const model = new Sequential([new Flatten(), new Linear(784, 10)], [1, 28, 28]);
 * model.init(new SeededRandom(0));
 * const logits = model.forward(images, 32, true);
 * ```
 */
export class Sequential {
  /** The layers, in order. */
  readonly layers: readonly Layer[];
  /** Per-example input shape of each layer; shapes[layers.length] is the model's output shape. */
  readonly shapes: readonly (readonly number[])[];
  /** Start of each layer's slice in the flat vectors. */
  readonly offsets: readonly number[];
  /** Parameters of all layers: the length of the flat vectors. */
  readonly paramCount: number;
  private paramsView: Float32Array;
  private gradsView: Float32Array;
  private trainedBatch: number | undefined;

  /**
   * Builds the model and binds its layers to fresh zeroed vectors (call `init` for initial values).
   *
   * @param layers - the layers, in order.
   * @param inputShape - the per-example input shape, e.g. [1, 28, 28].
   * @param options - whether backward must return dL/d(input) (default false).
   * @throws {@link syncbn-sim!InputError} when a layer cannot take the shape the previous one gives, or an argument is unusable.
   */
  constructor(layers: readonly Layer[], inputShape: readonly number[], options: SequentialOptions = {}) {
    if (!Array.isArray(layers)) throw argumentError('layers', 'an array of layers', layers);
    layers.forEach((layer, i) => {
      if (typeof (layer as Partial<Layer> | undefined)?.forward !== 'function')
        throw argumentError(`layers[${i}]`, 'a layer', layer);
    });
    ofType.numbers('a shape (an array of whole numbers)')('inputShape', inputShape);
    checkOptions('options', options);
    requireInput(layers.length > 0, 'a Sequential model needs at least one layer');
    requireInput(
      inputShape.length > 0 && inputShape.every((d) => Number.isInteger(d) && d > 0),
      () => `input shape must be positive integers, got [${inputShape.join(',')}]`,
    );
    this.layers = [...layers];
    const shapes: number[][] = [[...inputShape]];
    const offsets: number[] = [];
    let count = 0;
    for (const layer of this.layers) {
      offsets.push(count);
      count += layer.paramCount;
      shapes.push(layer.outputShape(shapes[shapes.length - 1]));
    }
    this.shapes = shapes;
    this.offsets = offsets;
    this.paramCount = count;
    const first = this.layers[0];
    if (hasInputGradSwitch(first)) first.inputGrad = options.inputGrad ?? false;
    this.paramsView = new Float32Array(count);
    this.gradsView = new Float32Array(count);
    this.bindTo(this.paramsView, this.gradsView);
  }

  /**
   * The per-example input shape.
   *
   * @returns shapes[0].
   */
  get inputShape(): readonly number[] {
    return this.shapes[0];
  }
  /**
   * The per-example output shape.
   *
   * @returns the last of `shapes`.
   */
  get outputShape(): readonly number[] {
    return this.shapes[this.shapes.length - 1];
  }
  /** The flat parameter vector the layers are bound to. */
  get params(): Float32Array {
    return this.paramsView;
  }
  /** The flat gradient vector the layers are bound to. */
  get grads(): Float32Array {
    return this.gradsView;
  }

  /**
   * Binds every layer to slices of the given vectors (each at least `paramCount` long; extra
   * elements are not used). Values are not copied: call `init` or copy parameters in afterwards.
   *
   * @param params - the parameter vector.
   * @param grads - the gradient vector.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable.
   */
  bindTo(params: Float32Array, grads: Float32Array): void {
    requireInput(
      params.length >= this.paramCount && grads.length >= this.paramCount,
      () =>
        `parameter and gradient vectors must hold ${this.paramCount} values, got ${params.length} and ${grads.length}`,
    );
    this.layers.forEach((layer, i) => {
      const start = this.offsets[i];
      const end = start + layer.paramCount;
      layer.bind(params.subarray(start, end), grads.subarray(start, end));
    });
    this.paramsView = params;
    this.gradsView = grads;
  }

  /**
   * Initialises every layer in order from one generator (the same seed gives the same model).
   *
   * @param rng - the generator.
   */
  init(rng: SeededRandom): void {
    for (const layer of this.layers) layer.init(rng);
  }

  /** Sets the gradient vector to zero (backward adds into it). */
  zeroGrad(): void {
    this.gradsView.fill(0, 0, this.paramCount);
  }

  /**
   * Runs `batch` examples through every layer; returns the output [batch, ...outputShape] (a reused
   * buffer). In training, layers keep references to their inputs (not copies) for the backward
   * pass: `x` must not change until `backward` has run. Evaluation passes use buffers of their own,
   * so one may run in between.
   *
   * @param x - the input, [batch, ...inputShape].
   * @param batch - examples in `x`.
   * @param training - train mode.
   * @returns the output, [batch, ...outputShape].
   * @throws {@link syncbn-sim!InputError} when `x` does not hold `batch` examples.
   * @throws `UnexpectedWaitError` when a layer waits for peers (use `forwardProgram` then).
   */
  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    return runWithoutPeers(this.forwardProgram(x, batch, training), 'the model');
  }

  /**
   * `forward` as a program that pauses wherever a layer waits for the device's peers.
   *
   * @param x - the input.
   * @param batch - examples in `x`.
   * @param training - train mode.
   * @returns a program whose result is the output.
   */
  *forwardProgram(x: Float32Array, batch: number, training: boolean): Program<Float32Array> {
    checkInput(
      'model',
      x,
      batch,
      this.shapes[0].reduce((a, b) => a * b, 1),
    );
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      h = isCommunicating(layer)
        ? yield* layer.forwardProgram(h, batch, this.shapes[i], training)
        : layer.forward(h, batch, this.shapes[i], training);
    }
    if (training) this.trainedBatch = batch;
    return h;
  }

  /**
   * Backward through every layer from dL/d(output) of the last training forward: adds the
   * parameter gradients into the gradient vector and returns dL/d(input) (an empty array unless
   * the model was built with `inputGrad: true` or the first layer cannot skip it).
   *
   * @param dy - dL/d(output) of the last training forward.
   * @returns dL/d(input), or an empty array.
   * @throws {@link syncbn-sim!InputError} without a training forward, or for a gradient of the
   *   wrong size.
   */
  backward(dy: Float32Array): Float32Array {
    return runWithoutPeers(this.backwardProgram(dy), 'the model');
  }

  /**
   * `backward` as a program that pauses wherever a layer waits for the device's peers.
   *
   * @param dy - dL/d(output) of the last training forward.
   * @returns a program whose result is dL/d(input).
   */
  *backwardProgram(dy: Float32Array): Program<Float32Array> {
    if (this.trainedBatch === undefined) throw new InputError('backward called without a training forward');
    let g = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i];
      g = isCommunicating(layer) ? yield* layer.backwardProgram(g) : layer.backward(g);
    }
    return g;
  }

  /**
   * One line per layer: name, output shape and parameter count.
   *
   * @returns the lines.
   */
  summary(): string[] {
    return this.layers.map(
      (layer, i) => `${layer.name}  -> [${this.shapes[i + 1].join(', ')}]  ${layer.paramCount} params`,
    );
  }
}
