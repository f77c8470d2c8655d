/**
 * The built-in synthetic batch: normal data whose channels differ in mean and spread, so that a
 * channel mix-up or a wrong reduction axis cannot go unnoticed.
 */
import { checkChoice, checkInteger, checkShape } from '../args.js';
import { SeededRandom } from './random.js';
import { type DType, type Tensor, channelLayout, sizeOf } from './tensor.js';

/**
 * Channel c has mean c - (C-1)/2 and standard deviation 0.5 + 0.25 (c mod 8).
 *
 * @param c - the channel.
 * @param channels - C.
 * @returns the channel's mean, c - (C-1)/2.
 */
export function channelMean(c: number, channels: number): number {
  return c - (channels - 1) / 2;
}

/**
 * The standard deviation of channel c of the synthetic batch: 0.5 + 0.25 (c mod 8).
 *
 * @param c - the channel.
 * @returns its standard deviation.
 */
export function channelStd(c: number): number {
  return 0.5 + 0.25 * (c % 8);
}

/**
 * A seeded batch of that shape ([N,C] or [N,C,H,W]) and dtype.
 *
 * @param shape - [N,C] or [N,C,H,W].
 * @param seed - an integer (default 0): the same seed gives the same batch on every machine.
 * @param dtype - 'float32' (default) or 'float64'.
 * @returns the batch.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable (the message names it).
 * @example
 * ```ts
 * const x = syntheticBatch([16, 4, 3, 3], 42); // channel c has mean c - 1.5
 * ```
 */
export function syntheticBatch(shape: readonly number[], seed = 0, dtype: DType = 'float32'): Tensor {
  checkInteger('seed', seed);
  checkChoice('dtype', dtype, ['float32', 'float64']);
  const { rows, channels, inner } = channelLayout(shape);
  const rng = new SeededRandom(seed);
  const n = sizeOf(shape);
  const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const mean = channelMean(c, channels);
      const std = channelStd(c);
      const start = (r * channels + c) * inner;
      for (let i = start; i < start + inner; i++) data[i] = mean + std * rng.normal();
    }
  }
  return { data, shape: [...shape] };
}

/**
 * Standard normal values of the same shape: an upstream gradient for backward passes.
 *
 * @param shape - any shape (that of the batch).
 * @param seed - an integer (default 1).
 * @param dtype - 'float32' (default) or 'float64'.
 * @returns the gradient.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable (the message names it).
 */
export function syntheticGradient(shape: readonly number[], seed = 1, dtype: DType = 'float32'): Tensor {
  checkShape('shape', shape);
  checkInteger('seed', seed);
  checkChoice('dtype', dtype, ['float32', 'float64']);
  const rng = new SeededRandom(seed);
  const n = sizeOf(shape);
  const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return { data, shape: [...shape] };
}
