/**
 * The coordinator's side of shared memory: views of float arrays in SharedArrayBuffers, the
 * staging copies of inputs held in ordinary memory, and where the devices write results.
 */
import { checkTensor } from '../args.js';
import { InputError, requireInput } from '../errors.js';
import { type DType, type FloatArray, type Tensor, dtypeOf } from '../tensor/tensor.js';
import type { SharedArrayRef } from './protocol.js';

/**
 * Bytes of one value of `dtype`.
 *
 * @param dtype - the dtype.
 * @returns 4 or 8.
 */
export function bytesPerElement(dtype: DType): number {
  return dtype === 'float32' ? 4 : 8;
}

/**
 * A view of data in shared memory, or undefined when it lives in ordinary memory.
 *
 * @param data - any float array.
 * @returns its buffer and first index, or undefined.
 */
export function sharedRef(data: FloatArray): SharedArrayRef | undefined {
  return data.buffer instanceof SharedArrayBuffer
    ? { buffer: data.buffer, offset: data.byteOffset / data.BYTES_PER_ELEMENT }
    : undefined;
}

/**
 * A float view of `length` values at a shared array reference.
 *
 * @param ref - where the array starts.
 * @param dtype - its dtype.
 * @param length - its length.
 * @returns the view.
 */
export function floatView(ref: SharedArrayRef, dtype: DType, length: number): FloatArray {
  return dtype === 'float32'
    ? new Float32Array(ref.buffer, ref.offset * 4, length)
    : new Float64Array(ref.buffer, ref.offset * 8, length);
}

/**
 * A SharedArrayBuffer of `bytes`.
 *
 * @param bytes - the size.
 * @param what - what it is for, for the message.
 * @returns the buffer.
 * @throws {@link InputError} naming what it was for, when memory cannot hold it.
 */
export function allocateShared(bytes: number, what: string): SharedArrayBuffer {
  try {
    return new SharedArrayBuffer(bytes);
  } catch {
    throw new InputError(`cannot allocate ${bytes} bytes of shared memory for ${what}`);
  }
}

/**
 * Where inputs held in ordinary memory are copied for the devices to read. The input of the last
 * forward stays where it is (its backward reads it): inputs alternate between two buffers, so a
 * later forward, refused or not, never overwrites it.
 */
export class Staging {
  private readonly slots: { x: SharedArrayBuffer[]; dy: SharedArrayBuffer[] } = { x: [], dy: [] };

  /**
   * Copies `data` into a staging buffer other than `inUse` (the input a pending backward reads).
   *
   * @param which - 'x' (the batch) or 'dy' (the gradient).
   * @param data - the values to copy.
   * @param inUse - the buffer a pending backward reads, which must not be overwritten.
   * @returns where the devices find the copy.
   */
  stage(which: 'x' | 'dy', data: FloatArray, inUse?: SharedArrayBuffer): SharedArrayRef {
    const bytes = Math.max(data.byteLength, 8);
    const slots = this.slots[which];
    let index = slots.findIndex((b) => b !== inUse);
    if (index < 0) index = slots.length; // at most two for x, one for dy
    if (!slots[index] || slots[index].byteLength < bytes) {
      slots[index] = allocateShared(bytes, `a staging copy of ${which === 'x' ? 'the input' : 'gradOutput'}`);
    }
    const buffer = slots[index];
    floatView({ buffer, offset: 0 }, dtypeOf(data), data.length).set(data);
    return { buffer, offset: 0 };
  }
}

/**
 * Where the devices write a result: the caller's shared array when given (checked), else a fresh
 * shared buffer, so that results are handed out without a copy and stay valid.
 *
 * @param out - the caller's array, if any (options.output or options.gradInput).
 * @param like - a tensor of the result's dtype and length.
 * @param input - the input the devices read (the result may not overlap it).
 * @param what - the option's name, for messages.
 * @param alsoRead - a second array the devices read, which the result may replace exactly.
 * @returns where the devices write the result.
 * @throws {@link InputError} when `out` is not in shared memory, has the wrong dtype or length, or overlaps.
 */
export function outputRef(
  out: Tensor | undefined,
  like: Tensor,
  input: SharedArrayRef,
  what: string,
  alsoRead?: SharedArrayRef,
): SharedArrayRef {
  const dtype = dtypeOf(like.data);
  const n = like.data.length;
  if (out === undefined)
    return { buffer: allocateShared(Math.max(n, 1) * bytesPerElement(dtype), `the ${what}`), offset: 0 };
  checkTensor(`options.${what}`, out);
  const ref = sharedRef(out.data);
  requireInput(ref !== undefined, () => `options.${what} must live in shared memory (see Cluster.sharedTensor)`);
  requireInput(
    dtypeOf(out.data) === dtype && out.data.length === n,
    () => `options.${what} must be ${dtype} with ${n} elements, got ${dtypeOf(out.data)} with ${out.data.length}`,
  );
  const overlaps = (other: SharedArrayRef) =>
    ref.buffer === other.buffer && ref.offset < other.offset + n && other.offset < ref.offset + n;
  requireInput(!overlaps(input), () => `options.${what} must not overlap the input`);
  // Writing over the gradient being read is safe element by element, never shifted.
  requireInput(
    !alsoRead || !overlaps(alsoRead) || alsoRead.offset === ref.offset,
    () => `options.${what} must not partly overlap gradOutput`,
  );
  return ref;
}
