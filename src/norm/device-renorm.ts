/**
 * Batch Renormalization of one device's block of rows in the BN modes local, sync and group: its
 * batch statistics are exactly those batch norm's device path produces (src/cluster/
 * device-moments.ts, with any statistics method and the same all-reduce), so the modes apply to
 * it as they do to BN. Pure apart from the all-reduce callback; r and d come from the pure pieces
 * in src/norm/batch-renorm.ts. Ghost mode is refused (a chunk's statistics would need r and d of
 * their own per chunk; not asked for).
 */
import { checkObject } from '../args.js';
import { type GradSums, gradInputTrain, gradSums } from '../bn/backward.js';
import type { Moments } from '../bn/moments.js';
import { inverseStd, normalize } from '../bn/normalize.js';
import type { DeviceBnSettings } from '../bn/block-bn.js';
import { type AllReduceFn, deviceMoments } from '../bn/block-moments.js';
import type { Program } from '../collectives/endpoint.js';
import { float64Sum } from '../collectives/reducers.js';
import { InputError } from '../errors.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { type RenormLimits, checkRenormLimits, renormAffine, renormCorrection, renormRunning } from './batch-renorm.js';

/** What the forward pass keeps for the backward pass. */
export interface DeviceRenormForward {
  /** The block's own statistics. */
  readonly local?: Moments;
  /** What the device normalized with (the synced batch statistics, or the running ones in eval). */
  readonly used: Moments;
  /** 1 / sqrt(var + eps) of `used`, per channel. */
  readonly invStd: Float64Array;
  /** r and d per channel (1 and 0 in eval mode). */
  readonly r: Float64Array;
  /** d per channel (0 in eval mode). */
  readonly d: Float64Array;
  /** Train mode; false when the running statistics were used (r = 1, d = 0). */
  readonly training: boolean;
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/**
 * Forward: normalizes x into y and, in training, updates `running` in place by the paper's rule.
 * @param x - the device's block of rows.
 * @param layout - its layout.
 * @param y - receives the output.
 * @param weight - gamma per channel, or none.
 * @param bias - beta per channel, or none.
 * @param running - this device's running mean and variance (updated in place in training).
 * @param shift - the shifted-sums shift (the running mean when the step began).
 * @param s - mode, statistics method, accumulator, training, momentum, eps (convention unused).
 * @param limits - rMax and dMax of this step.
 * @param allReduce - the all-reduce among the device's sync group (sync and group modes).
 * @returns what the backward pass needs.
 * @throws InputError in ghost mode or with out-of-range limits.
 */
export function* deviceRenormForward(
  x: FloatArray,
  layout: ChannelLayout,
  y: FloatArray,
  weight: ArrayLike<number> | undefined,
  bias: ArrayLike<number> | undefined,
  running: { mean: Float64Array; var: Float64Array },
  shift: Float64Array,
  s: DeviceBnSettings,
  limits: RenormLimits,
  allReduce?: AllReduceFn,
): Program<DeviceRenormForward> {
  checkObject('settings', s);
  if (s.mode.kind === 'ghost')
    throw new InputError('batch renorm does not support ghost mode (local, sync or group:K)');
  checkRenormLimits('limits', limits);
  const C = layout.channels;
  if (!s.training) {
    const used: Moments = {
      count: layout.rows * layout.inner,
      mean: Float64Array.from(running.mean),
      var: Float64Array.from(running.var),
    };
    const invStd = inverseStd(used.var, s.eps);
    normalize(x, layout, used.mean, invStd, weight, bias, y);
    return { used, invStd, r: new Float64Array(C).fill(1), d: new Float64Array(C), training: false };
  }
  const { local, used } = yield* deviceMoments(x, layout, s.stats, s.accumulator, shift, allReduce);
  const invStd = inverseStd(used.var, s.eps);
  const usable = used.count > 0 && allFinite(used.mean) && allFinite(used.var);
  const { r, d } = usable
    ? renormCorrection(used, running, limits, s.eps)
    : { r: new Float64Array(C).fill(1), d: new Float64Array(C) };
  const folded = renormAffine(weight, bias, r, d);
  if (layout.rows > 0) normalize(x, layout, used.mean, invStd, folded.weight, folded.bias, y);
  if (usable) {
    const next = renormRunning(running, used, s.momentum, s.eps);
    running.mean.set(next.mean);
    running.var.set(next.var);
  }
  return { local, used, invStd, r, d, training: true };
}

/**
 * Backward of `deviceRenormForward`: writes dL/dx into dx and returns this device's sum(dy) and
 * sum(dy * xhat) (dL/dgamma is r * sum(dy * xhat) + d * sum(dy)). With an all-reduce, the count
 * and both sums are all-reduced first, as for sync BN.
 * @param dy - gradient of the output.
 * @param x - the input block.
 * @param layout - its layout.
 * @param dx - receives dL/dx.
 * @param weight - gamma per channel, or none.
 * @param forward - what the forward pass kept.
 * @param allReduce - the all-reduce among the device's sync group, if any.
 * @returns this device's sum(dy) and sum(dy * xhat).
 */
export function* deviceRenormBackward(
  dy: FloatArray,
  x: FloatArray,
  layout: ChannelLayout,
  dx: FloatArray,
  weight: ArrayLike<number> | undefined,
  forward: DeviceRenormForward,
  allReduce?: AllReduceFn,
): Program<GradSums> {
  const C = layout.channels;
  const scaled = renormAffine(weight, undefined, forward.r, forward.d).weight;
  const { mean } = forward.used;
  const local = gradSums(dy, x, layout, mean, forward.invStd);
  if (!forward.training) {
    for (let i = 0; i < dx.length; i++) dx[i] = 0;
    const scale = Float64Array.from(scaled, (w, c) => w * forward.invStd[c]);
    for (let r = 0; r < layout.rows; r++)
      for (let c = 0; c < C; c++) {
        const start = (r * C + c) * layout.inner;
        for (let i = start; i < start + layout.inner; i++) dx[i] = scale[c] * dy[i];
      }
    return local;
  }
  let global: GradSums = local;
  let count = layout.rows * layout.inner;
  if (allReduce) {
    const v = new Float64Array(1 + 2 * C);
    v[0] = count;
    v.set(local.sumDy, 1);
    v.set(local.sumDyXhat, 1 + C);
    yield* allReduce(v, float64Sum);
    count = v[0];
    global = { sumDy: v.subarray(1, 1 + C), sumDyXhat: v.subarray(1 + C) };
  }
  if (layout.rows > 0) gradInputTrain(dy, x, layout, mean, forward.invStd, scaled, global, count, dx);
  return local;
}
