/**
 * BatchNorm1d / BatchNorm2d layers that normalize with the simulator's own BN in any mode (local,
 * sync, group:K, ghost:G). gamma and beta live in the model's flat parameter vector; the running
 * statistics and the way to reach this device's peers come from a context the device sets before
 * each task, since any worker thread may run any rank.
 */
import type { Moments } from '../bn/moments.js';
import type { RunningStats } from '../bn/running-stats.js';
import { requireInput } from '../errors.js';
import { type DeviceBnForward, type DeviceBnSettings, deviceBnBackward, deviceBnForward } from '../bn/block-bn.js';
import type { AllReduceFn } from '../bn/block-moments.js';
import type { ChannelLayout } from '../tensor/tensor.js';
import type { Program } from '../collectives/endpoint.js';
import { BatchStatsLayer } from './batch-stats-layer.js';

/** What the BN layers of one model need from the device running them, set per task. */
export interface BnContext {
  /** Mode, statistics method, momentum, eps, convention; `training` is overridden per forward. */
  readonly settings: DeviceBnSettings;
  /** The all-reduce among this device's sync group (sync and group modes), else undefined. */
  readonly allReduce?: AllReduceFn;
  /**
   * This device's running statistics of BN layer `index` (updated in place in training).
   *
   * @param index - the BN layer's index in the model.
   * @returns its running mean and variance, updated in place in training.
   */
  running(index: number): RunningStats;
  /** Called with the statistics each BN layer normalized with (precise BN collects them). */
  readonly record?: (index: number, used: Moments) => void;
}

/** A mutable holder: the device swaps the context in, every BN layer of the model reads it. */
export interface BnContextHolder {
  /** The context of the device running the model now. */
  current?: BnContext;
}

/**
 * BatchNorm1d / BatchNorm2d over C channels that normalizes with the simulator's own BN in the mode
 * of its context: local, sync, group:K or ghost:G across devices. gamma and beta live in the
 * model's flat parameter vector; the running statistics come from the context.
 */
export class BatchNormLayer extends BatchStatsLayer {
  private cache?: { x: Float32Array; layout: ChannelLayout; forward: DeviceBnForward; allReduce?: AllReduceFn };

  /**
   * @param channels - C (the features of [N,C] input, the channels of [N,C,H,W]).
   * @param index - numbers the BN layers of a model from 0, to find their running statistics.
   * @param holder - the holder the running device puts its context in before each task.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable.
   */
  constructor(channels: number, index: number, holder: BnContextHolder) {
    super('BatchNorm', channels, index, holder);
  }

  /** {@inheritDoc CommunicatingLayer.forwardProgram} */
  *forwardProgram(
    x: Float32Array,
    batch: number,
    inputShape: readonly number[],
    training: boolean,
  ): Program<Float32Array> {
    const ctx = this.context();
    const layout = this.layoutOf(batch, inputShape);
    const y = this.output(x.length);
    const running = ctx.running(this.index);
    const shift = Float64Array.from(running.mean);
    const settings = { ...ctx.settings, training };
    const allReduce = training ? ctx.allReduce : undefined;
    const forward = yield* deviceBnForward(x, layout, y, this.gamma, this.beta, running, shift, settings, allReduce);
    ctx.record?.(this.index, forward.used);
    this.cache = training ? { x, layout, forward, allReduce } : undefined;
    return y;
  }

  /** {@inheritDoc CommunicatingLayer.backwardProgram} */
  *backwardProgram(dy: Float32Array): Program<Float32Array> {
    const cache = this.cache;
    requireInput(cache !== undefined, `${this.name}: backward without a training forward`);
    const dx = this.gradInput(dy.length);
    const sums = yield* deviceBnBackward(dy, cache.x, cache.layout, dx, this.gamma, cache.forward, cache.allReduce);
    for (let c = 0; c < this.channels; c++) {
      this.gradGamma[c] += sums.sumDyXhat[c];
      this.gradBeta[c] += sums.sumDy[c];
    }
    return dx;
  }
}
