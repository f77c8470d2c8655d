/**
 * Every device's state block in shared memory (running statistics, the statistics of the last
 * step, its gradient sums; see rank-state.ts) and the BN parameters, as the coordinator reads and
 * writes them between steps. The channel count is fixed by the first step that gets through, and
 * a step refused as bad input can be undone to the letter (`snapshot`, `restore`).
 */
import type { Moments } from '../bn/moments.js';
import { requireInput } from '../errors.js';
import { shardRows } from '../tensor/sharding.js';
import type { DeviceStats, RunningStatsOfRank } from './cluster-types.js';
import { RankState, rankStateLayout } from './rank-state.js';

/** An empty buffer handed to devices before any state exists (the all-reduce benchmark runs then). */
const NO_STATE = new SharedArrayBuffer(8);

/** Everything a step may change in the store, as `snapshot` copies it. */
export interface StatesSnapshot {
  /** The channel count (undefined before any step fixed it). */
  readonly channels?: number;
  /** A copy of every device's state blocks. */
  readonly state?: Float64Array;
  /** A copy of the weight and bias. */
  readonly params?: Float64Array;
}

/**
 * Every device's state and the BN parameters in shared memory, as the coordinator reads and writes
 * them between steps.
 */
export class DeviceStates {
  private channelCount?: number;
  private stateBuffer?: SharedArrayBuffer;
  private paramsBuffer?: SharedArrayBuffer;

  /** @param devices - W */
  constructor(private readonly devices: number) {}

  /** The channel count, once a step or `setRunning` fixed it. */
  get channels(): number | undefined {
    return this.channelCount;
  }

  /** Every device's state blocks, for the devices (a placeholder before the first step). */
  get state(): SharedArrayBuffer {
    return this.stateBuffer ?? NO_STATE;
  }

  /** weight [C] then bias [C], float64, for the devices (a placeholder before the first step). */
  get params(): SharedArrayBuffer {
    return this.paramsBuffer ?? NO_STATE;
  }

  /**
   * Allocates the state for C channels on first use (running mean 0, running var 1).
   *
   * @param channels - C of the step.
   * @throws {@link InputError} when C differs from the count a step already fixed.
   */
  prepare(channels: number): void {
    if (this.channelCount === undefined) {
      this.channelCount = channels;
      const layout = rankStateLayout(channels);
      this.stateBuffer = new SharedArrayBuffer(layout.stride * this.devices * 8);
      this.paramsBuffer = new SharedArrayBuffer(2 * channels * 8);
      const stateArray = new Float64Array(this.stateBuffer);
      for (let rank = 0; rank < this.devices; rank++)
        new RankState(stateArray, layout, rank).vector('runningVar').fill(1);
    }
    requireInput(
      channels === this.channelCount,
      () =>
        `this cluster holds state for ${this.channelCount} channels; the batch has ${channels} (start a new cluster)`,
    );
  }

  /**
   * Sets the weight and bias the devices read (those not given are left as they are; devices use 1
   * and 0 then).
   *
   * @param weight - gamma per channel, or undefined.
   * @param bias - beta per channel, or undefined.
   */
  setParams(weight: ArrayLike<number> | undefined, bias: ArrayLike<number> | undefined): void {
    const params = new Float64Array(this.paramsBuffer!);
    if (weight) params.set(Array.from(weight), 0);
    if (bias) params.set(Array.from(bias), this.channelCount!);
  }

  /**
   * Every device's running statistics (copies; empty before any state exists).
   *
   * @returns each rank's running mean and variance.
   */
  running(): RunningStatsOfRank[] {
    return this.eachRank((rank, s) => ({
      rank,
      mean: Float64Array.from(s.vector('runningMean')),
      var: Float64Array.from(s.vector('runningVar')),
    }));
  }

  /**
   * Sets every device's running statistics (the store must be prepared for their length).
   *
   * @param mean - the running mean per channel.
   * @param variance - the running variance per channel.
   */
  setRunning(mean: ArrayLike<number>, variance: ArrayLike<number>): void {
    const m = Array.from(mean);
    const v = Array.from(variance);
    this.eachRank((_, s) => {
      s.vector('runningMean').set(m);
      s.vector('runningVar').set(v);
    });
  }

  /**
   * What each device saw and normalized with in the last forward of a batch of `rows` rows.
   *
   * @param rows - N: the batch's rows, to give each device's rows.
   * @returns each device's rows, own statistics and the statistics it normalized with.
   */
  deviceStats(rows: number): DeviceStats[] {
    return this.eachRank((rank, s) => {
      const moments = (prefix: 'local' | 'used'): Moments => ({
        count: s.scalar(`${prefix}Count`),
        mean: Float64Array.from(s.vector(`${prefix}Mean`)),
        var: Float64Array.from(s.vector(`${prefix}Var`)),
      });
      return { rank, rows: shardRows(rows, this.devices, rank), local: moments('local'), used: moments('used') };
    });
  }

  /**
   * Each device's share of dL/dgamma and dL/dbeta from the last backward.
   *
   * @returns each rank's sum(dy * xhat) and sum(dy).
   */
  gradientSums(): { rank: number; gradWeight: Float64Array; gradBias: Float64Array }[] {
    return this.eachRank((rank, s) => ({
      rank,
      gradWeight: Float64Array.from(s.vector('sumDyXhat')),
      gradBias: Float64Array.from(s.vector('sumDy')),
    }));
  }

  /**
   * A copy of everything a step may change.
   *
   * @returns the copy.
   */
  snapshot(): StatesSnapshot {
    return {
      channels: this.channelCount,
      state: this.stateBuffer && new Float64Array(this.stateBuffer).slice(),
      params: this.paramsBuffer && new Float64Array(this.paramsBuffer).slice(),
    };
  }

  /**
   * Puts the store back as `snapshot` found it (a first step's channel count is forgotten).
   *
   * @param before - a snapshot taken before the step.
   */
  restore(before: StatesSnapshot): void {
    if (before.channels === undefined) {
      this.channelCount = this.stateBuffer = this.paramsBuffer = undefined;
      return;
    }
    new Float64Array(this.stateBuffer!).set(before.state!);
    new Float64Array(this.paramsBuffer!).set(before.params!);
  }

  private eachRank<T>(read: (rank: number, s: RankState) => T): T[] {
    if (!this.stateBuffer || this.channelCount === undefined) return [];
    const layout = rankStateLayout(this.channelCount);
    const stateArray = new Float64Array(this.stateBuffer);
    return Array.from({ length: this.devices }, (_, rank) => read(rank, new RankState(stateArray, layout, rank)));
  }
}
