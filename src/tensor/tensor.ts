/**
 * The tensor type used across the project: a flat typed array in C order plus its shape.
 * Batch-norm inputs are [N, C] (per feature) or [N, C, H, W] (per channel, NCHW).
 */
import { checkFloatArray, checkLayout, checkShape } from '../args.js';
import { InputError } from '../errors.js';

/** The two element types the simulator computes in. */
export type FloatArray = Float32Array | Float64Array;
export type DType = 'float32' | 'float64';

export interface Tensor<A extends FloatArray = FloatArray> {
  readonly data: A;
  readonly shape: readonly number[];
}

/** The view of a BN input that every kernel uses: N rows, C channels, `inner` = H*W elements per (row, channel). */
export interface ChannelLayout {
  readonly rows: number;
  readonly channels: number;
  readonly inner: number;
}

/** 'float32' or 'float64', from the array's type. */
export function dtypeOf(data: FloatArray): DType {
  checkFloatArray('data', data);
  return data instanceof Float32Array ? 'float32' : 'float64';
}

/** A zero-filled array of `length` elements of `data`'s type. */
export function allocLike(data: FloatArray, length: number): FloatArray {
  return data instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
}

/** Elements of a tensor of this shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Validates a BN input shape ([N,C] or [N,C,H,W]) and returns its channel layout. */
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

/** Elements per channel: what BN's count n is for this layout. */
export function countPerChannel(layout: ChannelLayout): number {
  checkLayout('layout', layout);
  return layout.rows * layout.inner;
}
