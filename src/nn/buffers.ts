/**
 * Buffer reuse for layers: a layer keeps one output buffer for training passes and another for
 * evaluation passes, so that an evaluation forward between a training forward and its backward
 * never overwrites what the backward needs. A buffer is reallocated only when the batch changes.
 */
import { InputError, requireInput } from '../errors.js';
import { checkFloat32Array, checkWhole } from '../args.js';

/**
 * `buf` if it has exactly `length` elements, else a new zeroed array.
 *
 * @param buf - the buffer kept from the last call, if any.
 * @param length - elements needed.
 * @returns `buf` or the new array.
 */
export function reuse(buf: Float32Array | undefined, length: number): Float32Array {
  return buf !== undefined && buf.length === length ? buf : new Float32Array(length);
}

/** Output buffers of one layer, one per mode. */
export class ModeBuffers {
  private train: Float32Array | undefined;
  private evaluate: Float32Array | undefined;

  /**
   * The output buffer of a pass in this mode, reallocated only when its length changes.
   *
   * @param training - train-mode pass or eval-mode pass.
   * @param length - elements needed.
   * @returns the buffer.
   */
  get(training: boolean, length: number): Float32Array {
    if (training) {
      this.train = reuse(this.train, length);
      return this.train;
    }
    this.evaluate = reuse(this.evaluate, length);
    return this.evaluate;
  }
}

/**
 * Checks that `x` holds `batch` examples of `perExample` values.
 *
 * @param layer - the layer's name, for the message.
 * @param x - the input.
 * @param batch - examples it must hold.
 * @param perExample - values per example.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 */
export function checkInput(layer: string, x: Float32Array, batch: number, perExample: number): void {
  checkFloat32Array('x', x);
  checkWhole('batch', batch);
  requireInput(
    Number.isInteger(batch) && batch >= 0 && x.length === batch * perExample,
    () => `${layer}: input has ${x.length} values, expected batch ${batch} x ${perExample}`,
  );
}

/**
 * Checks that a backward pass has a training forward to go with and a gradient of the right size.
 *
 * @param layer - the layer's name, for the message.
 * @param forwardLength - length of the last training forward's output, or undefined when there was
 *   none.
 * @param dy - the gradient.
 * @returns the forward's length.
 * @throws {@link InputError} without a training forward, or for a gradient of another length.
 */
export function checkBackward(layer: string, forwardLength: number | undefined, dy: Float32Array): number {
  checkFloat32Array('dy', dy);
  if (forwardLength === undefined) throw new InputError(`${layer}: backward called without a training forward`);
  requireInput(
    dy.length === forwardLength,
    () => `${layer}: gradient has ${dy.length} values, the forward output had ${forwardLength}`,
  );
  return forwardLength;
}
