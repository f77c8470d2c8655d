/**
 * Batch Renormalization as a layer (src/norm/device-renorm.ts): its batch statistics follow the
 * device's BN mode (local, sync or group:K) exactly as BatchNormLayer's, through the same context
 * (mode, statistics method, momentum, eps, the all-reduce among the sync group, the running
 * statistics of layer `index`). The limits of the current step (src/norm/batch-renorm.ts
 * `renormLimits`) are set by the device on the holder before each training step.
 */
import { checkObject, checkWhole } from '../args.js';
import { requireInput } from '../errors.js';
import { type Program, runWithoutPeers } from '../collectives/endpoint.js';
import type { AllReduceFn } from '../collectives/all-reduce.js';
import type { RenormLimits } from '../norm/batch-renorm.js';
import { type DeviceRenormForward, deviceRenormBackward, deviceRenormForward } from '../norm/device-renorm.js';
import type { ChannelLayout } from '../tensor/tensor.js';
import type { SeededRandom } from '../tensor/random.js';
import type { BnContextHolder } from './batch-norm-layer.js';
import type { CommunicatingLayer } from './layer.js';

/** The BN context holder, with the renormalization limits of the current step. */
export interface RenormContextHolder extends BnContextHolder {
  /** rMax and dMax of the step (required in training). */
  limits?: RenormLimits;
}

/** Batch Renormalization whose statistics follow the device's BN mode (local, sync, group:K). */
export class BatchRenormLayer implements CommunicatingLayer {
  /** {@inheritDoc CommunicatingLayer.name} */
  readonly name: string;
  /** {@inheritDoc CommunicatingLayer.paramCount} */
  readonly paramCount: number;
  private gamma: Float32Array = new Float32Array(0);
  private beta: Float32Array = new Float32Array(0);
  private gradGamma: Float32Array = new Float32Array(0);
  private gradBeta: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);
  private cache?: { x: Float32Array; layout: ChannelLayout; forward: DeviceRenormForward; allReduce?: AllReduceFn };

  /**
   * @param channels - C.
   * @param index - numbers the layers with running statistics from 0, to find this one's.
   * @param holder - the context the device sets per task, with the step's limits.
   */
  constructor(
    /** C. */
    readonly channels: number,
    /** The layer's number among the model's layers with running statistics. */
    readonly index: number,
    private readonly holder: RenormContextHolder,
  ) {
    checkWhole('channels', channels, 1);
    checkWhole('index', index);
    checkObject('holder', holder);
    this.name = `BatchRenorm(${channels})`;
    this.paramCount = 2 * channels;
  }

  /**
   * @param input - one example's shape.
   * @returns the same shape.
   * @throws InputError when the channels do not match.
   */
  outputShape(input: readonly number[]): number[] {
    requireInput(input[0] === this.channels, () => `${this.name} got ${input[0]} channels`);
    return [...input];
  }

  /**
   * @param params - gamma then beta.
   * @param grads - the same slice of the gradients.
   */
  bind(params: Float32Array, grads: Float32Array): void {
    const C = this.channels;
    this.gamma = params.subarray(0, C);
    this.beta = params.subarray(C, 2 * C);
    this.gradGamma = grads.subarray(0, C);
    this.gradBeta = grads.subarray(C, 2 * C);
  }

  /**
   * gamma = 1, beta = 0.
   * @param _rng - unused: the initial values are fixed.
   */
  init(_rng: SeededRandom): void {
    this.gamma.fill(1);
    this.beta.fill(0);
  }

  /**
   * `forwardProgram` run without peers (local mode or evaluation).
   * @param x - batch x example values.
   * @param batch - examples.
   * @param inputShape - one example's shape.
   * @param training - training or evaluation.
   * @returns the output.
   */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array {
    return runWithoutPeers(this.forwardProgram(x, batch, inputShape, training), this.name);
  }

  /**
   * `backwardProgram` run without peers.
   * @param dy - dL/dy.
   * @returns dL/dx.
   */
  backward(dy: Float32Array): Float32Array {
    return runWithoutPeers(this.backwardProgram(dy), this.name);
  }

  /**
   * The forward pass as a program that pauses at the all-reduce of sync and group modes.
   * @param x - batch x example values.
   * @param batch - examples.
   * @param inputShape - one example's shape.
   * @param training - training (batch statistics, running update) or evaluation (running statistics).
   * @returns the output.
   * @throws InputError without a device context, or without limits in training.
   */
  *forwardProgram(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Program<Float32Array> {
    const ctx = this.holder.current;
    requireInput(ctx !== undefined, `${this.name} used without a device context`);
    const limits = training ? this.holder.limits : { rMax: 1, dMax: 0 };
    requireInput(limits !== undefined, `${this.name}: the device set no renormalization limits for this step`);
    const layout: ChannelLayout = { rows: batch, channels: this.channels, inner: inputShape.length > 1 ? inputShape[1] * inputShape[2] : 1 };
    if (this.y.length < x.length) this.y = new Float32Array(x.length);
    const y = this.y.subarray(0, x.length);
    const running = ctx.running(this.index);
    const shift = Float64Array.from(running.mean);
    const allReduce = training ? ctx.allReduce : undefined;
    const forward = yield* deviceRenormForward(x, layout, y, this.gamma, this.beta, running, shift, { ...ctx.settings, training }, limits, allReduce);
    ctx.record?.(this.index, forward.used);
    this.cache = training ? { x, layout, forward, allReduce } : undefined;
    return y;
  }

  /**
   * The backward pass as a program: dL/dx, and dL/dgamma = r * sum(dy * xhat) + d * sum(dy).
   * @param dy - dL/dy of the last training forward.
   * @returns dL/dx.
   * @throws InputError without a training forward.
   */
  *backwardProgram(dy: Float32Array): Program<Float32Array> {
    const cache = this.cache;
    requireInput(cache !== undefined, `${this.name}: backward without a training forward`);
    if (this.dx.length < dy.length) this.dx = new Float32Array(dy.length);
    const dx = this.dx.subarray(0, dy.length);
    const { forward } = cache;
    const sums = yield* deviceRenormBackward(dy, cache.x, cache.layout, dx, this.gamma, forward, cache.allReduce);
    for (let c = 0; c < this.channels; c++) {
      this.gradGamma[c] += forward.r[c] * sums.sumDyXhat[c] + forward.d[c] * sums.sumDy[c];
      this.gradBeta[c] += sums.sumDy[c];
    }
    return dx;
  }
}
