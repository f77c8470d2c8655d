/**
 * BatchNorm1d / BatchNorm2d layers that normalize with the simulator's own BN in any mode (local,
 * sync, group:K, ghost:G). gamma and beta live in the model's flat parameter vector; the running
 * statistics and the way to reach this device's peers come from a context the device sets before
 * each task, since any worker thread may run any rank.
 */
import type { Moments } from '../bn/moments.js';
import type { RunningStats } from '../bn/running-stats.js';
import { checkObject, checkWhole } from '../args.js';
import { InputError } from '../errors.js';
import { type DeviceBnForward, type DeviceBnSettings, deviceBnBackward, deviceBnForward } from '../bn/block-bn.js';
import type { AllReduceFn } from '../bn/block-moments.js';
import type { ChannelLayout } from '../tensor/tensor.js';
import type { SeededRandom } from '../tensor/random.js';
import { type Program, runWithoutPeers } from '../collectives/endpoint.js';
import type { CommunicatingLayer } from './layer.js';

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
export class BatchNormLayer implements CommunicatingLayer {
  /** {@inheritDoc CommunicatingLayer.name} */
  readonly name: string;
  /** {@inheritDoc CommunicatingLayer.paramCount} */
  readonly paramCount: number;
  private gamma: Float32Array = new Float32Array(0);
  private beta: Float32Array = new Float32Array(0);
  private gradGamma: Float32Array = new Float32Array(0);
  private gradBeta: Float32Array = new Float32Array(0);
  private y = new Float32Array(0);
  private dx = new Float32Array(0);
  private cache?: { x: Float32Array; layout: ChannelLayout; forward: DeviceBnForward; allReduce?: AllReduceFn };

  /**
   * @param channels - C (the features of [N,C] input, the channels of [N,C,H,W]).
   * @param index - numbers the BN layers of a model from 0, to find their running statistics.
   * @param holder - the holder the running device puts its context in before each task.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable.
   */
  constructor(
    /** C. */
    readonly channels: number,
    /** The layer's number among the model's BN layers. */
    readonly index: number,
    private readonly holder: BnContextHolder,
  ) {
    checkWhole('channels', channels, 1);
    checkWhole('index', index);
    checkObject('holder', holder);
    this.name = `BatchNorm(${channels})`;
    this.paramCount = 2 * channels;
  }

  /** {@inheritDoc CommunicatingLayer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    if (input[0] !== this.channels) throw new InputError(`${this.name} got ${input[0]} channels`);
    return [...input];
  }

  /** {@inheritDoc CommunicatingLayer.bind} */
  bind(params: Float32Array, grads: Float32Array): void {
    const C = this.channels;
    this.gamma = params.subarray(0, C);
    this.beta = params.subarray(C, 2 * C);
    this.gradGamma = grads.subarray(0, C);
    this.gradBeta = grads.subarray(C, 2 * C);
  }

  /** {@inheritDoc CommunicatingLayer.init} */
  init(_rng: SeededRandom): void {
    this.gamma.fill(1);
    this.beta.fill(0);
  }

  /** {@inheritDoc CommunicatingLayer.forward} */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array {
    return runWithoutPeers(this.forwardProgram(x, batch, inputShape, training), this.name);
  }

  /** {@inheritDoc CommunicatingLayer.backward} */
  backward(dy: Float32Array): Float32Array {
    return runWithoutPeers(this.backwardProgram(dy), this.name);
  }

  /** {@inheritDoc CommunicatingLayer.forwardProgram} */
  *forwardProgram(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Program<Float32Array> {
    const ctx = this.holder.current;
    if (!ctx) throw new InputError('BatchNormLayer used without a device context');
    const layout: ChannelLayout = { rows: batch, channels: this.channels, inner: inputShape.length > 1 ? inputShape[1] * inputShape[2] : 1 };
    if (this.y.length < x.length) this.y = new Float32Array(x.length);
    const y = this.y.subarray(0, x.length);
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
    if (!cache) throw new InputError(`${this.name}: backward without a training forward`);
    if (this.dx.length < dy.length) this.dx = new Float32Array(dy.length);
    const dx = this.dx.subarray(0, dy.length);
    const sums = yield* deviceBnBackward(dy, cache.x, cache.layout, dx, this.gamma, cache.forward, cache.allReduce);
    for (let c = 0; c < this.channels; c++) {
      this.gradGamma[c] += sums.sumDyXhat[c];
      this.gradBeta[c] += sums.sumDy[c];
    }
    return dx;
  }
}
