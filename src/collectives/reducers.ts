/**
 * How two partial-statistics vectors combine. A vector is a run of fixed-width records; the
 * collectives split it only at record boundaries and call `combine` on aligned ranges. `a` is
 * always the side holding lower ranks, so that order-sensitive merges (Chan's) are reproducible.
 */

/** How an all-reduce combines two partial-statistics vectors, record by record. */
export interface Reducer {
  /** Values per record: 1 for sums (combined element by element), 3 for Welford (n, mean, M2). */
  readonly width: number;
  /** Bytes one value takes on the wire. */
  readonly bytesPerValue: 4 | 8;
  /**
   * out[i] = a[i] (+) b[i] for positions [start, end); out may alias a or b.
   *
   * @param a - the lower ranks' side.
   * @param b - the higher ranks' side.
   * @param out - receives the combination (may alias a or b).
   * @param start - first position (a record boundary).
   * @param end - one past the last (a record boundary).
   */
  combine(a: Float64Array, b: Float64Array, out: Float64Array, start: number, end: number): void;
}

/** Element-wise addition in float64. */
export const float64Sum: Reducer = {
  width: 1,
  bytesPerValue: 8,
  combine(a, b, out, start, end) {
    for (let i = start; i < end; i++) out[i] = a[i] + b[i];
  },
};

/** Element-wise addition rounded to float32, as float32 accumulators on a GPU would send. */
export const float32Sum: Reducer = {
  width: 1,
  bytesPerValue: 4,
  combine(a, b, out, start, end) {
    for (let i = start; i < end; i++) out[i] = Math.fround(a[i] + b[i]);
  },
};

/** Chan et al.'s merge of (n, mean, M2) records; an empty side leaves the other unchanged. */
export const chanMerge: Reducer = {
  width: 3,
  bytesPerValue: 8,
  combine(a, b, out, start, end) {
    for (let i = start; i < end; i += 3) {
      const na = a[i];
      const nb = b[i];
      if (nb === 0) {
        out[i] = na;
        out[i + 1] = a[i + 1];
        out[i + 2] = a[i + 2];
        continue;
      }
      if (na === 0) {
        out[i] = nb;
        out[i + 1] = b[i + 1];
        out[i + 2] = b[i + 2];
        continue;
      }
      const n = na + nb;
      const delta = b[i + 1] - a[i + 1];
      const m2 = a[i + 2] + b[i + 2] + (delta * delta * na * nb) / n;
      out[i] = n;
      out[i + 1] = a[i + 1] + (delta * nb) / n;
      out[i + 2] = m2;
    }
  },
};
