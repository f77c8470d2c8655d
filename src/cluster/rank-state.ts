/**
 * Per-device state in shared memory, one block of Float64 per rank, so that tasks stay stateless
 * and the coordinator can read every device's statistics without messages. Field offsets are named
 * here and nowhere else.
 */

/** Offsets (in Float64 values from the start of a rank's block) of every field of the state. */
export interface RankStateLayout {
  /** C. */
  readonly channels: number;
  /** Values per rank's block. */
  readonly stride: number;
  /** Running mean [C]: updated by training forwards. */
  readonly runningMean: number;
  /** Running variance [C]. */
  readonly runningVar: number;
  /** The shard's own count, for reports. */
  readonly localCount: number;
  /** The shard's own mean [C]. */
  readonly localMean: number;
  /** The shard's own biased variance [C]. */
  readonly localVar: number;
  /** The count the device normalized with. */
  readonly usedCount: number;
  /** The mean [C] it normalized with. */
  readonly usedMean: number;
  /** The variance [C] it normalized with. */
  readonly usedVar: number;
  /** 1 / sqrt(var + eps) [C] it normalized with. */
  readonly usedInvStd: number;
  /** 1 when the last forward trained, else 0. */
  readonly usedTraining: number;
  /** The shift of shifted sums this step: the running mean when the forward began [C]. */
  readonly shift: number;
  /** This shard's sum(dy) [C] from the last backward. */
  readonly sumDy: number;
  /** This shard's sum(dy * xhat) [C] from the last backward. */
  readonly sumDyXhat: number;
}

/**
 * The layout of a rank's state block for C channels.
 *
 * @param channels - C.
 * @returns every field's offset and the stride.
 */
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

/** A field of C values. */
export type VectorField =
  | 'runningMean'
  | 'runningVar'
  | 'localMean'
  | 'localVar'
  | 'usedMean'
  | 'usedVar'
  | 'usedInvStd'
  | 'shift'
  | 'sumDy'
  | 'sumDyXhat';
/** A field of one value. */
export type ScalarField = 'localCount' | 'usedCount' | 'usedTraining';

/** Views into one rank's block. */
export class RankState {
  private readonly base: number;
  /**
   * @param state - every rank's blocks, one after another.
   * @param layout - the layout of a block.
   * @param rank - the rank whose block to view.
   */
  constructor(
    private readonly state: Float64Array,
    private readonly layout: RankStateLayout,
    rank: number,
  ) {
    this.base = rank * layout.stride;
  }

  /**
   * A view of a vector field (writes go to shared memory).
   *
   * @param field - the field.
   * @returns its C values.
   */
  vector(field: VectorField): Float64Array {
    const start = this.base + this.layout[field];
    return this.state.subarray(start, start + this.layout.channels);
  }

  /**
   * A scalar field's value.
   *
   * @param field - the field.
   * @returns the value.
   */
  scalar(field: ScalarField): number {
    return this.state[this.base + this.layout[field]];
  }

  /**
   * Writes a scalar field.
   *
   * @param field - the field.
   * @param value - its new value.
   */
  setScalar(field: ScalarField, value: number): void {
    this.state[this.base + this.layout[field]] = value;
  }
}
