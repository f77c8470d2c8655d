/**
 * The cluster-wide control block, in shared memory: an abort flag every waiting device polls, and
 * what each device and thread is doing, so that the coordinator can say which device failed and
 * where from facts the devices recorded, never from which reply happened to arrive first.
 *
 * Layout (Int32):
 *   [0]                     abort flag
 *   [1, 1+W)                phase of each rank (index into PHASES)
 *   [1+W, 1+W+T)            rank each thread is running, plus one (0: none)
 *   [1+W+T, 1+W+2T)         heartbeat of each thread: bumped as it runs devices and as it wakes
 *   [1+W+2T]                threads that have started the current step's task
 *
 * The running rank is a plain store (it changes at every resume of a device, and is read only
 * long after a thread went silent); the heartbeat's atomic bump publishes it.
 */

/** Index of the abort flag in the control block: non-zero tells every waiting device to give up. */
export const ABORT_INDEX = 0;
const PHASES_OFFSET = 1;

/** What a device is doing; the coordinator reports it when the device fails. */
export const PHASES = [
  'idle',
  'forward: statistics',
  'forward: all-reduce',
  'forward: normalize',
  'backward: reductions',
  'backward: all-reduce',
  'backward: grad input',
  'benchmark: all-reduce',
  'train: forward',
  'train: backward',
  'train: gradient all-reduce',
  'train: update',
  'evaluate',
] as const;
/** A phase a device can be in, as failure messages name it. */
export type Phase = (typeof PHASES)[number];

/** The geometry of a control block: the devices and the threads hosting them. */
export interface ControlGeometry {
  /** W: the devices. */
  readonly devices: number;
  /** T: the threads hosting them. */
  readonly threads: number;
}

/** A control block and its geometry. */
export interface ControlBlock extends ControlGeometry {
  /** The Int32 words of the block (layout in the module comment). */
  readonly buffer: SharedArrayBuffer;
}

/**
 * A zeroed control block for the geometry.
 *
 * @param geometry - the devices and threads.
 * @returns the block.
 */
export function allocateControl(geometry: ControlGeometry): ControlBlock {
  return {
    ...geometry,
    buffer: new SharedArrayBuffer((PHASES_OFFSET + geometry.devices + 2 * geometry.threads + 1) * 4),
  };
}

/** Typed access to a control block, from the coordinator or a device thread. */
export class Control {
  /** The block as Int32 words. */
  readonly array: Int32Array;
  private readonly runningOffset: number;
  private readonly heartbeatOffset: number;
  private readonly startedIndex: number;

  /**
   * Typed access to `block`.
   *
   * @param block - a block from allocateControl, shared by the coordinator and every thread.
   */
  constructor(
    /** The block and its geometry. */
    readonly block: ControlBlock,
  ) {
    this.array = new Int32Array(block.buffer);
    this.runningOffset = PHASES_OFFSET + block.devices;
    this.heartbeatOffset = this.runningOffset + block.threads;
    this.startedIndex = this.heartbeatOffset + block.threads;
  }

  /**
   * Records the phase device `rank` is in.
   *
   * @param rank - the device.
   * @param phase - what it is doing now.
   */
  setPhase(rank: number, phase: Phase): void {
    Atomics.store(this.array, PHASES_OFFSET + rank, PHASES.indexOf(phase));
  }

  /**
   * The phase device `rank` last recorded.
   *
   * @param rank - the device.
   * @returns its phase ('idle' before any).
   */
  phaseOf(rank: number): Phase {
    return PHASES[Atomics.load(this.array, PHASES_OFFSET + rank)] ?? 'idle';
  }

  /**
   * Records the rank `thread` is running (undefined: none).
   *
   * @param thread - the thread.
   * @param rank - the device it resumes now, or undefined when it runs none.
   */
  setRunning(thread: number, rank: number | undefined): void {
    this.array[this.runningOffset + thread] = rank === undefined ? 0 : rank + 1;
  }

  /**
   * The rank `thread` was running last.
   *
   * @param thread - the thread.
   * @returns the rank, or undefined when it was running none.
   */
  running(thread: number): number | undefined {
    const v = Atomics.load(this.array, this.runningOffset + thread);
    return v === 0 ? undefined : v - 1;
  }

  /**
   * Says that `thread` is alive and making progress.
   *
   * @param thread - the thread.
   */
  beat(thread: number): void {
    Atomics.add(this.array, this.heartbeatOffset + thread, 1);
  }

  /**
   * A thread's heartbeat count: the coordinator calls a thread silent when it stops changing.
   *
   * @param thread - the thread.
   * @returns the count.
   */
  heartbeat(thread: number): number {
    return Atomics.load(this.array, this.heartbeatOffset + thread);
  }

  /** Says that a thread has picked up the current step's task. */
  markStarted(): void {
    Atomics.add(this.array, this.startedIndex, 1);
  }

  /**
   * Whether every thread has picked up the current step's task. Starting threads under load can
   * take seconds: no device's wait is timed before that.
   *
   * @returns true once all T threads have.
   */
  allStarted(): boolean {
    return Atomics.load(this.array, this.startedIndex) >= this.block.threads;
  }

  /**
   * Whether the abort flag is raised.
   *
   * @returns true once raiseAbort was called in this step.
   */
  isAborted(): boolean {
    return Atomics.load(this.array, ABORT_INDEX) !== 0;
  }

  /** Raises the abort flag: every waiting device gives up at its next look. */
  raiseAbort(): void {
    Atomics.store(this.array, ABORT_INDEX, 1);
  }

  /** Clears the abort flag and every record, before a step. */
  reset(): void {
    this.array.fill(0);
  }
}
