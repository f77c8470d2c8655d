/**
 * 16-bit storage of whole tensors, as mixed-precision training keeps activations: every value
 * rounded to float16 or bfloat16 (round to nearest even, src/half/round.ts) and held in a
 * Float32Array, which represents every 16-bit value exactly. Parameters, running statistics and
 * the statistics' arithmetic stay in float32 or wider: PyTorch's acc_type of Half and BFloat16
 * is float (aten/src/ATen/AccumulateType.h), and its batch-norm kernels take 16-bit inputs with
 * float32 weights and running statistics (aten/src/ATen/native/cuda/Normalization.cuh).
 */
import { checkChoice } from '../args.js';
import type { Tensor } from '../tensor/tensor.js';
import { HALF_FORMATS, type HalfFormat } from './formats.js';
import { halfRounding } from './round.js';

/**
 * A tensor stored in a 16-bit format.
 * @param t - the tensor (float32 or float64).
 * @param format - float16 or bfloat16.
 * @returns a new float32 tensor of the same shape holding each value rounded to the format
 *   (infinity past its range: float16 overflows from 65520).
 * @throws InputError for an unknown format.
 */
export function toHalfStorage(t: Tensor, format: HalfFormat): Tensor<Float32Array> {
  const round = halfRounding(checkChoice('format', format, HALF_FORMATS));
  const data = new Float32Array(t.data.length);
  for (let i = 0; i < data.length; i++) data[i] = round(t.data[i]);
  return { data, shape: [...t.shape] };
}

/**
 * Rounds an array to a 16-bit format in place (an output stored back as 16 bits).
 * @param data - the values.
 * @param format - float16 or bfloat16.
 * @returns the same array.
 * @throws InputError for an unknown format.
 */
export function roundInPlace<A extends Float32Array | Float64Array>(data: A, format: HalfFormat): A {
  const round = halfRounding(checkChoice('format', format, HALF_FORMATS));
  for (let i = 0; i < data.length; i++) data[i] = round(data[i]);
  return data;
}

/**
 * How many values a 16-bit format could not hold (they became infinity).
 * @param original - the values before storage.
 * @param stored - after.
 * @returns the count of finite values stored as infinity.
 */
export function overflowedCount(original: ArrayLike<number>, stored: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < stored.length; i++) if (Number.isFinite(original[i]) && !Number.isFinite(stored[i])) n++;
  return n;
}
