/**
 * The elementwise passes that follow the statistics, for any axes (src/norm/axes.ts): normalize
 * and apply the affine, and the backward of that. Pure loops over typed arrays, in float64.
 *
 * With xhat = (x - mean_s) * invStd_s for the set s an element belongs to and g = dy * gamma:
 *   y      = gamma * xhat + beta
 *   dx     = invStd_s * (g - sum_s(g) / n - xhat * sum_s(g * xhat) / n)
 *   dgamma = sum(dy * xhat), dbeta = sum(dy), over the elements each parameter touches.
 * The sums over a set are those of the whole set: for a set that spans the batch on several
 * devices they are all-reduced between `setGradSums` and `setGradInput`.
 */
import {
  checkBlock,
  checkChoice,
  checkLayout,
  checkNumbers,
  checkObject,
  checkPerChannelStats,
  checkWhole,
} from '../args.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { type StatsAxes, checkAxes, setCount } from './axes.js';

/** Per channel (BN, GN, IN, FRN) or per element of [C, H, W] (PyTorch's nn.LayerNorm). */
export type AffineKind = 'channel' | 'element';

/** gamma and beta, either of which may be left out (1 and 0). */
export interface Affine {
  /** Whether gamma and beta are per channel or per element of [C, H, W]. */
  readonly kind: AffineKind;
  /** gamma, of {@link affineLength} values; default all ones. */
  readonly weight?: ArrayLike<number>;
  /** beta, shaped as gamma; default all zeros. */
  readonly bias?: ArrayLike<number>;
}

/** The sums of a set's backward: sum(g) and sum(g * xhat) with g = dy * gamma. */
export interface SetGradSums {
  /** sum(g) per set. */
  readonly sumG: Float64Array;
  /** sum(g * xhat) per set. */
  readonly sumGXhat: Float64Array;
}

/**
 * Parameters an affine of this kind has per tensor of `layout`: C or C x H x W.
 * @param layout - the input's layout.
 * @param kind - the affine's kind.
 * @returns the length of gamma (and of beta).
 */
export function affineLength(layout: ChannelLayout, kind: AffineKind): number {
  return kind === 'channel' ? layout.channels : layout.channels * layout.inner;
}

/**
 * Checks an affine against a layout.
 * @param name - what it is called in a message.
 * @param affine - the affine.
 * @param layout - the input's layout.
 * @returns the affine.
 * @throws InputError when the kind is unknown or gamma or beta has the wrong length.
 */
export function checkAffine(name: string, affine: unknown, layout: ChannelLayout): Affine {
  const a = checkObject<Affine>(name, affine);
  checkChoice(`${name}.kind`, a.kind, ['channel', 'element']);
  const length = affineLength(layout, a.kind);
  if (a.weight !== undefined) checkNumbers(`${name}.weight`, a.weight, length);
  if (a.bias !== undefined) checkNumbers(`${name}.bias`, a.bias, length);
  return a;
}

function checkCommon(
  layout: unknown,
  axes: unknown,
  blocks: Record<string, unknown>,
  stats: Record<string, unknown>,
  affine?: unknown,
): [ChannelLayout, StatsAxes] {
  const l = checkLayout('layout', layout);
  const a = checkAxes('axes', axes, l);
  for (const [name, block] of Object.entries(blocks)) checkBlock(name, block, l);
  const S = setCount(l, a);
  for (const [name, values] of Object.entries(stats)) checkPerChannelStats(name, values, S);
  if (affine !== undefined) checkAffine('affine', affine, l);
  return [l, a];
}

/**
 * Writes gamma * (x - mean_s) * invStd_s + beta into `out`.
 * @param x - the block of rows.
 * @param layout - its layout.
 * @param axes - the axes of the statistics.
 * @param mean - mean per set.
 * @param invStd - 1 / sqrt(var + eps) per set.
 * @param affine - gamma and beta.
 * @param out - receives y (may be x).
 * @throws InputError when a block, the statistics or the affine do not fit the layout.
 */
export function normalizeSets(
  x: FloatArray,
  layout: ChannelLayout,
  axes: StatsAxes,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  affine: Affine,
  out: FloatArray,
): void {
  const [{ rows, channels: C, inner }, a] = checkCommon(layout, axes, { x, out }, { mean, invStd }, affine);
  const perGroup = C / a.groups;
  const { weight, bias } = affine;
  const element = affine.kind === 'element';
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const g = Math.floor(c / perGroup);
      const s = a.batch ? g : r * a.groups + g;
      const mu = mean[s];
      const is = invStd[s];
      const start = (r * C + c) * inner;
      if (element) {
        const p0 = c * inner - start;
        for (let i = start; i < start + inner; i++) {
          const p = p0 + i;
          out[i] = (weight ? weight[p] : 1) * (x[i] - mu) * is + (bias ? bias[p] : 0);
        }
      } else {
        const scale = (weight ? weight[c] : 1) * is;
        const shift = bias ? bias[c] : 0;
        for (let i = start; i < start + inner; i++) out[i] = (x[i] - mu) * scale + shift;
      }
    }
  }
}

/**
 * The two sums of the backward per set: sum(g) and sum(g * xhat), g = dy * gamma.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param axes - the axes of the statistics.
 * @param mean - mean per set.
 * @param invStd - 1 / sqrt(var + eps) per set.
 * @param affine - gamma (beta is not used).
 * @returns the sums per set.
 * @throws InputError when a block, the statistics or the affine do not fit the layout.
 */
export function setGradSums(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  axes: StatsAxes,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  affine: Affine,
): SetGradSums {
  const [l, a] = checkCommon(layout, axes, { dy, x }, { mean, invStd }, affine);
  const { rows, channels: C, inner } = l;
  const S = setCount(l, a);
  const sumG = new Float64Array(S);
  const sumGXhat = new Float64Array(S);
  const perGroup = C / a.groups;
  const { weight } = affine;
  const element = affine.kind === 'element';
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const s = a.batch ? Math.floor(c / perGroup) : r * a.groups + Math.floor(c / perGroup);
      const mu = mean[s];
      const start = (r * C + c) * inner;
      let sg = 0;
      let sgx = 0;
      for (let i = start, p = c * inner; i < start + inner; i++, p++) {
        const gi = dy[i] * (weight ? weight[element ? p : c] : 1);
        sg += gi;
        sgx += gi * (x[i] - mu);
      }
      sumG[s] += sg;
      sumGXhat[s] += sgx;
    }
  }
  for (let s = 0; s < S; s++) sumGXhat[s] *= invStd[s];
  return { sumG, sumGXhat };
}

/**
 * dL/dx given the sums of each whole set and its count (the global count for a set spanning a
 * synced batch), written into `out`.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param axes - the axes of the statistics.
 * @param mean - mean per set.
 * @param invStd - 1 / sqrt(var + eps) per set.
 * @param affine - gamma (beta is not used).
 * @param sums - sum(g) and sum(g * xhat) per set.
 * @param count - elements in each set.
 * @param out - receives dx (may be dy).
 * @throws InputError when a block, the statistics or the affine do not fit the layout.
 */
export function setGradInput(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  axes: StatsAxes,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  affine: Affine,
  sums: SetGradSums,
  count: number,
  out: FloatArray,
): void {
  const [l, a] = checkCommon(
    layout,
    axes,
    { dy, x, out },
    { mean, invStd, 'sums.sumG': sums?.sumG, 'sums.sumGXhat': sums?.sumGXhat },
    affine,
  );
  checkWhole('count', count);
  const { rows, channels: C, inner } = l;
  const perGroup = C / a.groups;
  const { weight } = affine;
  const element = affine.kind === 'element';
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const s = a.batch ? Math.floor(c / perGroup) : r * a.groups + Math.floor(c / perGroup);
      const mu = mean[s];
      const is = invStd[s];
      const meanG = sums.sumG[s] / count;
      const k = (is * sums.sumGXhat[s]) / count;
      const start = (r * C + c) * inner;
      for (let i = start, p = c * inner; i < start + inner; i++, p++) {
        const gi = dy[i] * (weight ? weight[element ? p : c] : 1);
        out[i] = is * (gi - meanG - (x[i] - mu) * k);
      }
    }
  }
}

/**
 * dL/dgamma = sum(dy * xhat) and dL/dbeta = sum(dy) over the elements each parameter touches.
 * @param dy - gradient of the output.
 * @param x - the input.
 * @param layout - their layout.
 * @param axes - the axes of the statistics.
 * @param mean - mean per set.
 * @param invStd - 1 / sqrt(var + eps) per set.
 * @param kind - per channel or per element.
 * @returns the two gradients, of C or C x H x W values.
 * @throws InputError when a block or the statistics do not fit the layout.
 */
export function affineGrads(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  axes: StatsAxes,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  kind: AffineKind,
): { gradWeight: Float64Array; gradBias: Float64Array } {
  const [l, a] = checkCommon(layout, axes, { dy, x }, { mean, invStd });
  checkChoice('kind', kind, ['channel', 'element']);
  const { rows, channels: C, inner } = l;
  const gradWeight = new Float64Array(affineLength(l, kind));
  const gradBias = new Float64Array(gradWeight.length);
  const perGroup = C / a.groups;
  const element = kind === 'element';
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      const s = a.batch ? Math.floor(c / perGroup) : r * a.groups + Math.floor(c / perGroup);
      const mu = mean[s];
      const is = invStd[s];
      const start = (r * C + c) * inner;
      if (element) {
        for (let i = start, p = c * inner; i < start + inner; i++, p++) {
          gradWeight[p] += dy[i] * (x[i] - mu) * is;
          gradBias[p] += dy[i];
        }
      } else {
        let sw = 0;
        let sb = 0;
        for (let i = start; i < start + inner; i++) {
          sw += dy[i] * (x[i] - mu);
          sb += dy[i];
        }
        gradWeight[c] += sw * is;
        gradBias[c] += sb;
      }
    }
  }
  return { gradWeight, gradBias };
}
