/** Finding NaN and infinity in arrays, and saying where they are. */
import type { ChannelLayout } from './tensor.js';

/**
 * Flat index of the first NaN or infinity in `data`, or -1 when every value is finite.
 *
 * @param data - the values.
 * @returns the flat index, or -1.
 */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * The coordinates of flat index `index` in a C-order array of `shape`.
 *
 * @param index - a flat index.
 * @param shape - the array's shape.
 * @returns one coordinate per axis.
 */
export function coordinatesOf(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
  }
  return out;
}

/**
 * "NaN at flat index 5 [2,1]": what the first non-finite value is and where; undefined when none.
 *
 * @param data - the values.
 * @param shape - their shape.
 * @returns the description, or undefined when every value is finite.
 */
export function describeNonFinite(data: ArrayLike<number>, shape: readonly number[]): string | undefined {
  const i = firstNonFinite(data);
  if (i < 0) return undefined;
  const kind = Number.isNaN(data[i]) ? 'NaN' : data[i] > 0 ? 'infinity' : '-infinity';
  return `${kind} at flat index ${i} [${coordinatesOf(i, shape).join(',')}]`;
}

/**
 * Channels of an [N,C] or [N,C,H,W] array (laid out as `layout`) that hold NaN or infinity.
 *
 * @param data - the values.
 * @param layout - their layout.
 * @returns the channels, ascending.
 */
export function nonFiniteChannels(data: ArrayLike<number>, layout: ChannelLayout): number[] {
  const { rows, channels, inner } = layout;
  const bad: number[] = [];
  for (let c = 0; c < channels; c++) {
    search: for (let r = 0; r < rows; r++) {
      const at = (r * channels + c) * inner;
      for (let i = 0; i < inner; i++) {
        if (!Number.isFinite(data[at + i])) {
          bad.push(c);
          break search;
        }
      }
    }
  }
  return bad;
}

/**
 * Indices of the values of a per-channel vector that are NaN or infinity.
 *
 * @param values - the vector.
 * @returns the indices, ascending.
 */
export function nonFiniteIndices(values: ArrayLike<number>): number[] {
  const bad: number[] = [];
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) bad.push(i);
  return bad;
}
