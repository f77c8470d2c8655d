/**
 * Batch Renormalization (Ioffe 2017), pure pieces and the single-device operator.
 *
 * With the batch's mean mu_B and sigma_B = sqrt(var_B + eps) (biased variance), and the running
 * mean mu and sigma = sqrt(running var + eps):
 *   r = clip(sigma_B / sigma, 1/r_max, r_max),  d = clip((mu_B - mu) / sigma, -d_max, d_max)
 *   y = gamma * ((x - mu_B) / sigma_B * r + d) + beta
 * r and d are constants for the gradient (stop_gradient), so the backward is batch norm's with
 * gamma * r in place of gamma; dgamma = r * sum(dy * xhat) + d * sum(dy). The running statistics
 * follow the paper's Algorithm 1 on the standard deviation: mu += a (mu_B - mu) and
 * sigma += a (sigma_B - sigma); the running variance kept is sigma^2 - eps, so that eval mode is
 * plain batch norm with the running statistics. With r_max = 1 and d_max = 0 (the start of the
 * paper's warm-up) the forward pass and the gradients are exactly batch norm's.
 *
 * The batch statistics are whatever the BN mode produced (src/norm/device-renorm.ts feeds it the
 * all-reduced moments of sync or group BN, or a device's own for local BN).
 */
import { checkNumber, checkNumbers, checkObject, checkOptions, checkPerChannelStats, checkWhole } from '../args.js';
import type { Moments } from '../bn/moments.js';
import { inverseStd } from '../bn/normalize.js';
import { requireInput } from '../errors.js';
import { type FloatArray, type Tensor, allocLike } from '../tensor/tensor.js';
import { affineGrads, normalizeSets, setGradInput, setGradSums } from './apply.js';
import { batchAxes } from './axes.js';
import { checkNormInputs } from './operator.js';
import { setMoments } from './reduce.js';

/** The clipping limits of one step. */
export interface RenormLimits {
  /** r is clipped to [1/rMax, rMax]; rMax >= 1. */
  readonly rMax: number;
  /** d is clipped to [-dMax, dMax]; dMax >= 0. */
  readonly dMax: number;
}

/**
 * The warm-up of the limits: rMax = 1 and dMax = 0 for `warmupSteps` steps, then each relaxed
 * linearly to its final value, reached at `rMaxSteps` and `dMaxSteps`.
 */
export interface RenormSchedule {
  /** Steps of plain batch norm (rMax = 1, dMax = 0) before the limits relax. */
  readonly warmupSteps: number;
  /** Final rMax, >= 1. */
  readonly rMax: number;
  /** The step at which rMax reaches its final value. */
  readonly rMaxSteps: number;
  /** Final dMax, >= 0. */
  readonly dMax: number;
  /** The step at which dMax reaches its final value. */
  readonly dMaxSteps: number;
}

/**
 * Ioffe 2017, section 4: "r_max = 1 and d_max = 0 for the first 5000 training steps, after which
 * we gradually relaxed them to reach r_max = 3 at 40k steps, and d_max = 5 at 25k steps".
 * "Gradually" is taken as linearly.
 */
export const IOFFE_SCHEDULE: RenormSchedule = {
  warmupSteps: 5000,
  rMax: 3,
  rMaxSteps: 40000,
  dMax: 5,
  dMaxSteps: 25000,
};

/**
 * Checks a schedule: whole step counts with warm-up <= each final step, rMax >= 1, dMax >= 0.
 * @param name - what it is called in a message.
 * @param schedule - the schedule.
 * @returns the schedule.
 * @throws InputError when a field is out of range.
 */
export function checkRenormSchedule(name: string, schedule: unknown): RenormSchedule {
  const s = checkObject<RenormSchedule>(name, schedule);
  checkWhole(`${name}.warmupSteps`, s.warmupSteps);
  checkNumber(`${name}.rMax`, s.rMax, { min: 1 });
  checkNumber(`${name}.dMax`, s.dMax, { min: 0 });
  checkWhole(`${name}.rMaxSteps`, s.rMaxSteps, s.warmupSteps);
  checkWhole(`${name}.dMaxSteps`, s.dMaxSteps, s.warmupSteps);
  return s;
}

/**
 * The limits at a training step (0-based) of a schedule.
 * @param step - steps taken so far.
 * @param schedule - the warm-up, default Ioffe 2017's.
 * @returns rMax and dMax for that step.
 * @throws InputError when the step or the schedule is out of range.
 */
export function renormLimits(step: number, schedule: RenormSchedule = IOFFE_SCHEDULE): RenormLimits {
  checkWhole('step', step);
  const s = checkRenormSchedule('schedule', schedule);
  const ramp = (end: number) =>
    step <= s.warmupSteps ? 0 : step >= end ? 1 : (step - s.warmupSteps) / (end - s.warmupSteps);
  return { rMax: 1 + (s.rMax - 1) * ramp(s.rMaxSteps), dMax: s.dMax * ramp(s.dMaxSteps) };
}

/**
 * Checks limits: rMax >= 1, dMax >= 0.
 * @param name - what they are called in a message.
 * @param limits - the limits.
 * @returns the limits.
 * @throws InputError when out of range.
 */
export function checkRenormLimits(name: string, limits: unknown): RenormLimits {
  const l = checkObject<RenormLimits>(name, limits);
  checkNumber(`${name}.rMax`, l.rMax, { min: 1 });
  checkNumber(`${name}.dMax`, l.dMax, { min: 0 });
  return l;
}

/**
 * r and d per channel from the batch statistics and the running ones.
 * @param batch - the batch's mean and biased variance (what the BN mode produced).
 * @param running - the running mean and variance before the step.
 * @param limits - rMax and dMax.
 * @param eps - added to both variances.
 * @returns r and d per channel.
 * @throws InputError when the statistics do not have one value per channel or a limit is out of range.
 */
export function renormCorrection(
  batch: Pick<Moments, 'mean' | 'var'>,
  running: { mean: ArrayLike<number>; var: ArrayLike<number> },
  limits: RenormLimits,
  eps: number,
): { r: Float64Array; d: Float64Array } {
  checkObject('batch', batch);
  const C = checkPerChannelStats('batch.mean', batch.mean, batch.mean?.length).length;
  checkPerChannelStats('batch.var', batch.var, C);
  checkObject('running', running);
  checkNumbers('running.mean', running.mean, C);
  checkNumbers('running.var', running.var, C);
  const { rMax, dMax } = checkRenormLimits('limits', limits);
  checkNumber('eps', eps, { above: 0 });
  const r = new Float64Array(C);
  const d = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const sigmaB = Math.sqrt(Math.max(batch.var[c], 0) + eps);
    const sigma = Math.sqrt(running.var[c] + eps);
    r[c] = Math.min(rMax, Math.max(1 / rMax, sigmaB / sigma));
    d[c] = Math.min(dMax, Math.max(-dMax, (batch.mean[c] - running.mean[c]) / sigma));
  }
  return { r, d };
}

/**
 * The running statistics after one step, by the paper's update of the mean and the standard
 * deviation (momentum a): mu += a (mu_B - mu), sigma += a (sigma_B - sigma), var = sigma^2 - eps.
 * @param running - the running mean and variance before the step.
 * @param batch - the batch's mean and biased variance.
 * @param momentum - a, in [0, 1].
 * @param eps - as in the forward pass.
 * @returns the new running mean and variance.
 * @throws InputError when the statistics do not have one value per channel or momentum is out of range.
 */
export function renormRunning(
  running: { mean: ArrayLike<number>; var: ArrayLike<number> },
  batch: Pick<Moments, 'mean' | 'var'>,
  momentum: number,
  eps: number,
): { mean: Float64Array; var: Float64Array } {
  checkObject('running', running);
  const C = checkNumbers('running.mean', running.mean).length;
  checkNumbers('running.var', running.var, C);
  checkObject('batch', batch);
  checkPerChannelStats('batch.mean', batch.mean, C);
  checkPerChannelStats('batch.var', batch.var, C);
  checkNumber('momentum', momentum, { min: 0, max: 1 });
  checkNumber('eps', eps, { above: 0 });
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    mean[c] = running.mean[c] + momentum * (batch.mean[c] - running.mean[c]);
    const sigma = Math.sqrt(running.var[c] + eps);
    const sigmaB = Math.sqrt(Math.max(batch.var[c], 0) + eps);
    const next = sigma + momentum * (sigmaB - sigma);
    variance[c] = Math.max(next * next - eps, 0);
  }
  return { mean, var: variance };
}

/**
 * The affine that folds r and d in: gamma' = gamma * r and beta' = gamma * d + beta, so that the
 * forward pass is batch norm's normalize with (gamma', beta').
 * @param weight - gamma per channel, or none (1).
 * @param bias - beta per channel, or none (0).
 * @param r - r per channel.
 * @param d - d per channel.
 * @returns gamma' and beta'.
 * @throws InputError when the four do not have one value per channel.
 */
export function renormAffine(
  weight: ArrayLike<number> | undefined,
  bias: ArrayLike<number> | undefined,
  r: Float64Array,
  d: Float64Array,
): { weight: Float64Array; bias: Float64Array } {
  const C = checkNumbers('r', r).length;
  checkNumbers('d', d, C);
  if (weight !== undefined) checkNumbers('weight', weight, C);
  if (bias !== undefined) checkNumbers('bias', bias, C);
  const w = new Float64Array(C);
  const b = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const g = weight ? weight[c] : 1;
    w[c] = g * r[c];
    b[c] = g * d[c] + (bias ? bias[c] : 0);
  }
  return { weight: w, bias: b };
}

/** Options of the single-device Batch Renormalization operator (training mode). */
export interface BatchRenormOptions {
  /** rMax and dMax of this step; default { rMax: 1, dMax: 0 } (batch norm). */
  readonly limits?: RenormLimits;
  /** a of the running update; default 0.1. */
  readonly momentum?: number;
  /** default 1e-5. */
  readonly eps?: number;
  /** gamma, [C]; default all ones. */
  readonly weight?: ArrayLike<number>;
  /** beta, [C]; default all zeros. */
  readonly bias?: ArrayLike<number>;
  /** Running mean before the step, [C]; default zeros. */
  readonly runningMean?: ArrayLike<number>;
  /** Running variance before the step, [C]; default ones. */
  readonly runningVar?: ArrayLike<number>;
  /** dL/dy: when given, the backward pass runs too. */
  readonly gradOutput?: Tensor;
}

/** What the Batch Renormalization operator returns. */
export interface BatchRenormResult {
  /** y, the input's shape and dtype. */
  readonly output: Tensor;
  /** The batch statistics (count, mean, biased variance). */
  readonly stats: Moments;
  /** r = sigma_B / sigma, clipped, per channel: treated as a constant by the backward. */
  readonly r: Float64Array;
  /** d = (mu_B - mu) / sigma, clipped, per channel: also a constant of the backward. */
  readonly d: Float64Array;
  /** The running mean after the step. */
  readonly runningMean: Float64Array;
  /** The running variance after the step. */
  readonly runningVar: Float64Array;
  /** dL/dx, given dL/dy. */
  readonly gradInput?: Tensor;
  /** dL/dgamma, given dL/dy. */
  readonly gradWeight?: FloatArray;
  /** dL/dbeta, given dL/dy. */
  readonly gradBias?: FloatArray;
}

/**
 * Batch Renormalization of one batch on one device, training mode (eval mode is batch norm with
 * the running statistics).
 * @param input - [N, C] or [N, C, H, W], more than one value per channel.
 * @param options - limits, momentum, eps, gamma, beta, running statistics, dL/dy.
 * @returns output, batch statistics, r, d, the running statistics after the step, gradients.
 * @throws InputError for a bad shape, non-finite values or bad options.
 * @example
 * ```ts
 * const x = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [4, 2] }; // means 4, 5; variances 5
 * const step = 40_000; // past Ioffe's warm-up: rMax 3, dMax 5
 * const r = batchRenorm(x, { limits: renormLimits(step), runningMean: [3, 5], runningVar: [4, 4] });
 * r.r; // [1.118, 1.118]: sqrt(5 / 4)
 * r.d; // [0.5, 0]: (4 - 3) / 2 and (5 - 5) / 2
 * ```
 */
export function batchRenorm(input: Tensor, options: BatchRenormOptions = {}): BatchRenormResult {
  checkOptions('options', options);
  const { layout, eps } = checkNormInputs(
    input,
    { eps: options.eps, weight: options.weight, bias: options.bias, gradOutput: options.gradOutput },
    'channel',
  );
  const C = layout.channels;
  requireInput(
    layout.rows * layout.inner > 1,
    () => `expected more than 1 value per channel when training, got input shape [${input.shape.join(',')}]`,
  );
  const limits = options.limits === undefined ? { rMax: 1, dMax: 0 } : checkRenormLimits('limits', options.limits);
  const momentum = options.momentum === undefined ? 0.1 : checkNumber('momentum', options.momentum, { min: 0, max: 1 });
  const running = {
    mean:
      options.runningMean === undefined
        ? new Float64Array(C)
        : Float64Array.from(checkNumbers('runningMean', options.runningMean, C)),
    var:
      options.runningVar === undefined
        ? new Float64Array(C).fill(1)
        : Float64Array.from(checkNumbers('runningVar', options.runningVar, C)),
  };
  for (let c = 0; c < C; c++)
    requireInput(running.var[c] >= 0, () => `running var must be >= 0, got ${running.var[c]} at channel ${c}`);
  const x = input.data;
  const axes = batchAxes(C);
  const stats = setMoments(x, layout, axes);
  const invStd = inverseStd(stats.var, eps);
  const { r, d } = renormCorrection(stats, running, limits, eps);
  const folded = renormAffine(options.weight, options.bias, r, d);
  const output = allocLike(x, x.length);
  normalizeSets(x, layout, axes, stats.mean, invStd, { kind: 'channel', ...folded }, output);
  const next = renormRunning(running, stats, momentum, eps);
  const result: BatchRenormResult = {
    output: { data: output, shape: [...input.shape] },
    stats,
    r,
    d,
    runningMean: next.mean,
    runningVar: next.var,
  };
  if (!options.gradOutput) return result;
  const dy = options.gradOutput.data;
  const gradInput = allocLike(x, x.length);
  const affine = { kind: 'channel' as const, weight: folded.weight };
  const sums = setGradSums(dy, x, layout, axes, stats.mean, invStd, affine);
  setGradInput(dy, x, layout, axes, stats.mean, invStd, affine, sums, stats.count, gradInput);
  const { gradWeight, gradBias } = affineGrads(dy, x, layout, axes, stats.mean, invStd, 'channel');
  const gw = allocLike(x, C);
  const gb = allocLike(x, C);
  for (let c = 0; c < C; c++) {
    gw[c] = r[c] * gradWeight[c] + d[c] * gradBias[c];
    gb[c] = gradBias[c];
  }
  return { ...result, gradInput: { data: gradInput, shape: [...input.shape] }, gradWeight: gw, gradBias: gb };
}
