/**
 * The tensor type used across the project: a flat typed array in C order plus its shape.
 * Batch-norm inputs are [N, C] (per feature) or [N, C, H, W] (per channel, NCHW).
 */
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

export function dtypeOf(data: FloatArray): DType {
  return data instanceof Float32Array ? 'float32' : 'float64';
}

export function allocLike(data: FloatArray, length: number): FloatArray {
  return data instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Validates a BN input shape ([N,C] or [N,C,H,W]) and returns its channel layout. */
export function channelLayout(shape: readonly number[]): ChannelLayout {
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
  return layout.rows * layout.inner;
}
