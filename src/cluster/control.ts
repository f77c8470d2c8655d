/**
 * The cluster-wide control block: an abort flag every waiting rank polls, and per rank the facts
 * the coordinator diagnoses a failed step from (which phase the rank is in, whether it started
 * and finished its task, how many collectives it joined, and which peer and tag it waits for).
 * Facts, not the order replies arrive in: under load a healthy rank's timeout reply may come after
 * the coordinator's deadline, but what it was waiting for is already written here.
 * Offsets are named here only.
 *
 * Every change of a fact also bumps a progress counter: the coordinator steps in only when nothing
 * has changed for longer than the timeout. The last rank to start its task notes the time: waits
 * for peers are timed from then, since a thread still starting up (seconds, under load) is slow,
 * not faulty.
 *
 * Layout: Int32 [abort, progress, ranks started, all started] then, per rank, [phase, task state,
 * collectives joined, peer, tag]; then (8-byte aligned) Float64 [when all had started, ms].
 */
import type { WaitWatcher } from '../collectives/transport.js';

/** Index of the abort flag: non-zero tells every waiting rank to give up. */
export const ABORT_INDEX = 0;
const PROGRESS_INDEX = 1;
const STARTED_INDEX = 2;
const ALL_STARTED_INDEX = 3;
const RANKS_OFFSET = 4;
const PHASE = 0;
const TASK = 1;
const JOINED = 2;
const WAIT_PEER = 3;
const WAIT_TAG = 4;
const FIELDS = 5;
/** No peer: the rank is not waiting (or the wait it was in succeeded). */
const NO_PEER = -1;

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
  'train: step',
  'train: evaluation',
] as const;
/** One of PHASES. */
export type Phase = (typeof PHASES)[number];

/** Where a rank's task is: not started yet, running, finished (its step completed), or failed. */
export type TaskState = 'not started' | 'running' | 'finished' | 'failed';
const TASK_STATES: readonly TaskState[] = ['not started', 'running', 'finished', 'failed'];

/** What the control block says about one rank. */
export interface RankFacts {
  readonly rank: number;
  readonly phase: Phase;
  readonly task: TaskState;
  /** Collectives this rank started in the current step. */
  readonly joined: number;
  /** The global rank it waits (or was waiting when it gave up) for, if any, and under which tag. */
  readonly waitingFor?: number;
  readonly tag?: number;
}

function at(rank: number, field: number): number {
  return RANKS_OFFSET + rank * FIELDS + field;
}

/** Int32 slots before the Float64 one, rounded up so that it is 8-byte aligned. */
function intSlots(devices: number): number {
  const n = RANKS_OFFSET + devices * FIELDS;
  return n + (n % 2);
}

/** A zeroed control block for `devices` ranks. */
export function allocateControl(devices: number): SharedArrayBuffer {
  return new SharedArrayBuffer(intSlots(devices) * 4 + 8);
}

function startedAtView(control: Int32Array): Float64Array {
  return new Float64Array(control.buffer, control.byteOffset + control.byteLength - 8, 1);
}

/**
 * Marks a rank's task as running; the last of the `devices` ranks to start notes the time
 * (written before the flag that publishes it).
 */
export function markStarted(control: Int32Array, rank: number, devices: number): void {
  setTaskState(control, rank, 'running');
  if (Atomics.add(control, STARTED_INDEX, 1) + 1 === devices) {
    startedAtView(control)[0] = Date.now();
    Atomics.store(control, ALL_STARTED_INDEX, 1);
  }
}

/** When every rank had started its task (Date.now() ms), or undefined while some have not. */
export function everyoneStartedAt(control: Int32Array): number | undefined {
  return Atomics.load(control, ALL_STARTED_INDEX) === 1 ? startedAtView(control)[0] : undefined;
}

function progressed(control: Int32Array): void {
  Atomics.add(control, PROGRESS_INDEX, 1);
}

/** How many facts have changed so far: equal readings mean no rank did anything in between. */
export function progressOf(control: Int32Array): number {
  return Atomics.load(control, PROGRESS_INDEX);
}

/** Records the phase a rank is in (a device calls it as it goes). */
export function setPhase(control: Int32Array, rank: number, phase: Phase): void {
  Atomics.store(control, at(rank, PHASE), PHASES.indexOf(phase));
  progressed(control);
}

/** The phase a rank last recorded. */
export function phaseOf(control: Int32Array, rank: number): Phase {
  return PHASES[Atomics.load(control, at(rank, PHASE))] ?? 'idle';
}

/** Marks where a rank's task is; a device calls it as its task starts and ends. */
export function setTaskState(control: Int32Array, rank: number, state: TaskState): void {
  Atomics.store(control, at(rank, TASK), TASK_STATES.indexOf(state));
  progressed(control);
}

/** Clears every rank's facts before a step is sent out (the coordinator does this). */
export function resetFacts(control: Int32Array, devices: number): void {
  Atomics.store(control, STARTED_INDEX, 0);
  Atomics.store(control, ALL_STARTED_INDEX, 0);
  for (let rank = 0; rank < devices; rank++) {
    Atomics.store(control, at(rank, PHASE), 0);
    Atomics.store(control, at(rank, TASK), 0);
    Atomics.store(control, at(rank, JOINED), 0);
    Atomics.store(control, at(rank, WAIT_PEER), NO_PEER);
    Atomics.store(control, at(rank, WAIT_TAG), NO_PEER);
  }
}

/** Everything the control block says about one rank, read now. */
export function factsOf(control: Int32Array, rank: number): RankFacts {
  const peer = Atomics.load(control, at(rank, WAIT_PEER));
  return {
    rank,
    phase: phaseOf(control, rank),
    task: TASK_STATES[Atomics.load(control, at(rank, TASK))] ?? 'not started',
    joined: Atomics.load(control, at(rank, JOINED)),
    ...(peer === NO_PEER ? {} : { waitingFor: peer, tag: Atomics.load(control, at(rank, WAIT_TAG)) }),
  };
}

/**
 * The watcher a rank's transport reports its waits to. A wait that ends in a timeout or an abort
 * stays recorded: it is what the diagnosis follows to the rank at fault.
 */
export function rankWatcher(control: Int32Array, rank: number): WaitWatcher {
  return {
    joined: () => {
      Atomics.add(control, at(rank, JOINED), 1);
      progressed(control);
    },
    waiting: (peer, tag) => {
      Atomics.store(control, at(rank, WAIT_TAG), tag);
      Atomics.store(control, at(rank, WAIT_PEER), peer);
      progressed(control);
    },
    arrived: () => {
      Atomics.store(control, at(rank, WAIT_PEER), NO_PEER);
      progressed(control);
    },
    everyoneStartedAt: () => everyoneStartedAt(control),
  };
}

/** Whether the abort flag is up. */
export function isAborted(control: Int32Array): boolean {
  return Atomics.load(control, ABORT_INDEX) !== 0;
}

/** Raises the abort flag: every waiting rank gives up within a wait slice. */
export function raiseAbort(control: Int32Array): void {
  Atomics.store(control, ABORT_INDEX, 1);
}

/** Lowers the abort flag before a step. */
export function clearAbort(control: Int32Array): void {
  Atomics.store(control, ABORT_INDEX, 0);
}
