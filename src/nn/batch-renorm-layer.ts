/**
 * Batch Renormalization as a layer (src/norm/device-renorm.ts): its batch statistics follow the
 * device's BN mode (local, sync or group:K) exactly as BatchNormLayer's, through the same context
 * (mode, statistics method, momentum, eps, the all-reduce among the sync group, the running
 * statistics of layer `index`). The limits of the current step (src/norm/batch-renorm.ts
 * `renormLimits`) are set by the device on the holder before each training step.
 */
import { requireInput } from '../errors.js';
import type { Program } from '../collectives/endpoint.js';
import type { AllReduceFn } from '../collectives/all-reduce.js';
import type { RenormLimits } from '../norm/batch-renorm.js';
import { type DeviceRenormForward, deviceRenormBackward, deviceRenormForward } from '../norm/device-renorm.js';
import type { ChannelLayout } from '../tensor/tensor.js';
import type { BnContextHolder } from './batch-norm-layer.js';
import { BatchStatsLayer } from './batch-stats-layer.js';

/** The BN context holder, with the renormalization limits of the current step. */
export interface RenormContextHolder extends BnContextHolder {
  /** rMax and dMax of the step (required in training). */
  limits?: RenormLimits;
}

/** Batch Renormalization whose statistics follow the device's BN mode (local, sync, group:K). */
export class BatchRenormLayer extends BatchStatsLayer<RenormContextHolder> {
  private cache?: { x: Float32Array; layout: ChannelLayout; forward: DeviceRenormForward; allReduce?: AllReduceFn };

  /**
   * @param channels - C.
   * @param index - numbers the layers with running statistics from 0, to find this one's.
   * @param holder - the context the device sets per task, with the step's limits.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable.
   */
  constructor(channels: number, index: number, holder: RenormContextHolder) {
    super('BatchRenorm', channels, index, holder);
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
  *forwardProgram(
    x: Float32Array,
    batch: number,
    inputShape: readonly number[],
    training: boolean,
  ): Program<Float32Array> {
    const ctx = this.context();
    const limits = training ? this.holder.limits : { rMax: 1, dMax: 0 };
    requireInput(limits !== undefined, `${this.name}: the device set no renormalization limits for this step`);
    const layout = this.layoutOf(batch, inputShape);
    const y = this.output(x.length);
    const running = ctx.running(this.index);
    const shift = Float64Array.from(running.mean);
    const allReduce = training ? ctx.allReduce : undefined;
    const forward = yield* deviceRenormForward(
      x,
      layout,
      y,
      this.gamma,
      this.beta,
      running,
      shift,
      { ...ctx.settings, training },
      limits,
      allReduce,
    );
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
    const dx = this.gradInput(dy.length);
    const { forward } = cache;
    const sums = yield* deviceRenormBackward(dy, cache.x, cache.layout, dx, this.gamma, forward, cache.allReduce);
    for (let c = 0; c < this.channels; c++) {
      this.gradGamma[c] += forward.r[c] * sums.sumDyXhat[c] + forward.d[c] * sums.sumDy[c];
      this.gradBeta[c] += sums.sumDy[c];
    }
    return dx;
  }
}
