/**
 * The deterministic batch every benchmark times: float32 values with a different mean and scale
 * per channel, the same in every run, so that figures of different runs time the same work.
 */

/**
 * Fills `data`, laid out as `shape` ([N,C] or [N,C,H,W]), with the benchmark batch.
 * @param data - the array to fill, with as many elements as `shape` holds.
 * @param shape - its shape; channels are the second dimension.
 * @param phase - shifts the pattern, so that two arrays of one shape differ (x and dy).
 * @returns `data`, filled.
 */
export function fillBenchBatch(data: Float32Array, shape: readonly number[], phase: number): Float32Array {
  const inner = data.length / shape[0] / shape[1];
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % shape[1];
    data[i] = (1 + (c % 5)) * Math.sin(i * 0.001 + phase) + (c % 7) * 0.25;
  }
  return data;
}
