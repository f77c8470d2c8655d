/**
 * Backward of batch norm. With xhat = (x - mean) * invStd:
 *   dbeta = sum(dy), dgamma = sum(dy * xhat),
 *   train: dx = gamma * invStd * (dy - dbeta/n - xhat * dgamma/n)
 *   eval:  dx = gamma * invStd * dy   (running statistics are constants)
 * For sync BN, n, sum(dy) and sum(dy * xhat) are the global (all-reduced) values.
 */
import { checkBlock, checkLayout, checkNumbers, checkObject, checkPerChannelStats, checkWhole } from '../args.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';

/** Checks the arguments every backward kernel shares; returns the layout. */
function checkCommon(layout: unknown, blocks: Record<string, unknown>, stats: Record<string, unknown>, weight?: unknown): ChannelLayout {
  const checked = checkLayout('layout', layout);
  for (const [name, block] of Object.entries(blocks)) checkBlock(name, block, checked);
  for (const [name, values] of Object.entries(stats)) checkPerChannelStats(name, values, checked.channels);
  if (weight !== undefined) checkNumbers('weight', weight, checked.channels);
  return checked;
}

export interface GradSums {
  /** sum(dy) per channel: dbeta. */
  readonly sumDy: Float64Array;
  /** sum(dy * xhat) per channel: dgamma. */
  readonly sumDyXhat: Float64Array;
}

/** The two per-channel reductions of the backward pass over one block of rows. */
export function gradSums(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
): GradSums {
  const { rows, channels: C, inner } = checkCommon(layout, { dy, x }, { mean, invStd });
  const sumDy = new Float64Array(C);
  const sumDyXc = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const mu = mean[c];
      const start = (r * C + c) * inner;
      const end = start + inner;
      let s = 0;
      let sx = 0;
      for (let i = start; i < end; i++) {
        const g = dy[i];
        s += g;
        sx += g * (x[i] - mu);
      }
      sumDy[c] += s;
      sumDyXc[c] += sx;
    }
  }
  // sum(dy * xhat) = invStd * sum(dy * (x - mean)): one multiply per channel, not per element.
  // An empty block sums to zero, whatever its (undefined) statistics.
  const empty = rows * inner === 0;
  const sumDyXhat = sumDyXc.map((v, c) => (empty ? 0 : v * invStd[c]));
  return { sumDy, sumDyXhat };
}

/**
 * Gradient of the input in train mode, written into `out`. `count` is n of the statistics the
 * forward pass used (global n for sync BN).
 */
export function gradInputTrain(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  sums: GradSums,
  count: number,
  out: FloatArray,
): void {
  const { rows, channels: C, inner } = checkCommon(layout, { dy, x, out }, { mean, invStd }, weight);
  checkObject('sums', sums);
  checkPerChannelStats('sums.sumDy', sums.sumDy, C);
  checkPerChannelStats('sums.sumDyXhat', sums.sumDyXhat, C);
  checkWhole('count', count);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const mu = mean[c];
      const is = invStd[c];
      const scale = (weight ? weight[c] : 1) * is;
      const meanDy = sums.sumDy[c] / count;
      // xhat * dgamma / n = (x - mean) * invStd * dgamma / n
      const k = (is * sums.sumDyXhat[c]) / count;
      const start = (r * C + c) * inner;
      const end = start + inner;
      for (let i = start; i < end; i++) out[i] = scale * (dy[i] - meanDy - (x[i] - mu) * k);
    }
  }
}

/** Gradient of the input in eval mode, written into `out`. */
export function gradInputEval(
  dy: FloatArray,
  layout: ChannelLayout,
  invStd: ArrayLike<number>,
  weight: ArrayLike<number> | undefined,
  out: FloatArray,
): void {
  const { rows, channels: C, inner } = checkCommon(layout, { dy, out }, { invStd }, weight);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const scale = (weight ? weight[c] : 1) * invStd[c];
      const start = (r * C + c) * inner;
      const end = start + inner;
      for (let i = start; i < end; i++) out[i] = scale * dy[i];
    }
  }
}
