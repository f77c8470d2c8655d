/**
 * The cluster-wide control block: an abort flag every waiting rank polls, and the phase each rank
 * is in, so that the coordinator can say where a device failed. Offsets are named here only.
 */

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
] as const;
export type Phase = (typeof PHASES)[number];

export function allocateControl(devices: number): SharedArrayBuffer {
  return new SharedArrayBuffer((PHASES_OFFSET + devices) * 4);
}

export function setPhase(control: Int32Array, rank: number, phase: Phase): void {
  Atomics.store(control, PHASES_OFFSET + rank, PHASES.indexOf(phase));
}

export function phaseOf(control: Int32Array, rank: number): Phase {
  return PHASES[Atomics.load(control, PHASES_OFFSET + rank)] ?? 'idle';
}

export function isAborted(control: Int32Array): boolean {
  return Atomics.load(control, ABORT_INDEX) !== 0;
}

export function raiseAbort(control: Int32Array): void {
  Atomics.store(control, ABORT_INDEX, 1);
}

export function clearAbort(control: Int32Array): void {
  Atomics.store(control, ABORT_INDEX, 0);
}
