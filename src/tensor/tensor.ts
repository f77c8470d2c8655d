/**
 * The tensor type used across the project: a flat typed array in C order plus its shape.
 * Batch-norm inputs are [N, C] (per feature) or [N, C, H, W] (per channel, NCHW).
 */
import { checkFloatArray, checkLayout, checkShape } from '../args.js';
import { InputError } from '../errors.js';

/** The two element types the simulator computes in. */
export type FloatArray = Float32Array | Float64Array;
/** The name of a FloatArray's element type, as .npy files and options spell it. */
export type DType = 'float32' | 'float64';

/** A tensor: a flat typed array in C order and its shape. */
export interface Tensor<A extends FloatArray = FloatArray> {
  /** The values, in C order (the last axis varies fastest). */
  readonly data: A;
  /** The length of each axis; their product is `data.length`. */
  readonly shape: readonly number[];
}

/** The view of a BN input that every kernel uses: N rows, C channels, `inner` = H*W elements per (row, channel). */
export interface ChannelLayout {
  /** N: rows of the batch (or of one device's block). */
  readonly rows: number;
  /** C: the channels (features) that are normalized separately. */
  readonly channels: number;
  /** H*W: values per (row, channel); 1 for [N,C]. */
  readonly inner: number;
}

/**
 * 'float32' or 'float64', from the array's type.
 *
 * @param data - a Float32Array or Float64Array.
 * @returns 'float32' or 'float64'.
 * @throws {@link InputError} when an argument is unusable (the message names it).
 */
export function dtypeOf(data: FloatArray): DType {
  checkFloatArray('data', data);
  return data instanceof Float32Array ? 'float32' : 'float64';
}

/**
 * A zero-filled array of `length` elements of `data`'s type.
 *
 * @param data - an array whose type to copy.
 * @param length - elements of the new array.
 * @returns a zero-filled Float32Array or Float64Array.
 */
export function allocLike(data: FloatArray, length: number): FloatArray {
  return data instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
}

/**
 * Elements of a tensor of this shape.
 *
 * @param shape - the length of each axis.
 * @returns the product of the lengths (1 for a scalar).
 */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Validates a BN input shape ([N,C] or [N,C,H,W]) and returns its channel layout.
 *
 * @param shape - [N,C] or [N,C,H,W].
 * @returns N as rows, C as channels and H*W as inner.
 * @throws {@link InputError} for a shape that is not 2-D or 4-D, or has zero channels.
 * @example
 * ```ts
 * channelLayout([8, 3, 4, 4]); // { rows: 8, channels: 3, inner: 16 }
 * ```
 */
export function channelLayout(shape: readonly number[]): ChannelLayout {
  checkShape('shape', shape);
  if (shape.length !== 2 && shape.length !== 4) {
    throw new InputError(`input must be 2-D [N,C] or 4-D [N,C,H,W], got ${shape.length}-D shape [${shape.join(',')}]`);
  }
  const [rows, channels] = shape;
  if (channels === 0) throw new InputError(`input has zero channels (shape [${shape.join(',')}])`);
  const inner = shape.length === 4 ? shape[2] * shape[3] : 1;
  return { rows, channels, inner };
}

/**
 * Elements per channel: what BN's count n is for this layout.
 *
 * @param layout - a channel layout.
 * @returns rows * inner.
 * @throws {@link InputError} when an argument is unusable (the message names it).
 */
export function countPerChannel(layout: ChannelLayout): number {
  checkLayout('layout', layout);
  return layout.rows * layout.inner;
}
