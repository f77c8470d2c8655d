/**
 * Summaries of a sample of numbers (timings, errors): the median and other quantiles. One module,
 * so that every benchmark and experiment reports "the median" the same way.
 */

/**
 * The median of the values: the middle one, or the mean of the two middle ones.
 * @param values - the sample, in any order (not modified).
 * @returns the median; NaN for an empty sample.
 */
export function median(values: readonly number[]): number {
  // Not quantile(values, 0.5): (a + b) / 2 is what the reports have always printed, to the bit.
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The value at quantile `q` of the sample, interpolating linearly between the two nearest ranks
 * (NumPy's default): q = 0 is the smallest value, 0.5 the median, 1 the largest.
 * @param values - the sample, in any order (not modified).
 * @param q - the quantile, from 0 to 1.
 * @returns the quantile; NaN for an empty sample.
 */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
