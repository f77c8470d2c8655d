/**
 * Per-device state in shared memory, one block of Float64 per rank, so that tasks stay stateless
 * and the coordinator can read every device's statistics without messages. Field offsets are named
 * here and nowhere else.
 */

export interface RankStateLayout {
  readonly channels: number;
  readonly stride: number;
  /** running mean [C], running var [C]: updated by training forwards */
  readonly runningMean: number;
  readonly runningVar: number;
  /** the shard's own statistics (count, mean [C], biased var [C]), for reports */
  readonly localCount: number;
  readonly localMean: number;
  readonly localVar: number;
  /** what the device normalized with: count, mean [C], var [C], 1/sqrt(var + eps) [C]; train flag */
  readonly usedCount: number;
  readonly usedMean: number;
  readonly usedVar: number;
  readonly usedInvStd: number;
  readonly usedTraining: number;
  /** the shift for shifted sums this step: the running mean when the forward began [C] */
  readonly shift: number;
  /** this shard's sum(dy) [C] and sum(dy * xhat) [C] from the last backward */
  readonly sumDy: number;
  readonly sumDyXhat: number;
}

export function rankStateLayout(channels: number): RankStateLayout {
  const C = channels;
  let at = 0;
  const take = (n: number) => {
    const offset = at;
    at += n;
    return offset;
  };
  const fields = {
    channels,
    runningMean: take(C),
    runningVar: take(C),
    localCount: take(1),
    localMean: take(C),
    localVar: take(C),
    usedCount: take(1),
    usedMean: take(C),
    usedVar: take(C),
    usedInvStd: take(C),
    usedTraining: take(1),
    shift: take(C),
    sumDy: take(C),
    sumDyXhat: take(C),
  };
  return { ...fields, stride: at };
}

export type VectorField = 'runningMean' | 'runningVar' | 'localMean' | 'localVar' | 'usedMean' | 'usedVar' | 'usedInvStd' | 'shift' | 'sumDy' | 'sumDyXhat';
export type ScalarField = 'localCount' | 'usedCount' | 'usedTraining';

/** Views into one rank's block. */
export class RankState {
  private readonly base: number;
  constructor(
    private readonly state: Float64Array,
    private readonly layout: RankStateLayout,
    rank: number,
  ) {
    this.base = rank * layout.stride;
  }

  vector(field: VectorField): Float64Array {
    const start = this.base + this.layout[field];
    return this.state.subarray(start, start + this.layout.channels);
  }

  scalar(field: ScalarField): number {
    return this.state[this.base + this.layout[field]];
  }

  setScalar(field: ScalarField, value: number): void {
    this.state[this.base + this.layout[field]] = value;
  }
}
