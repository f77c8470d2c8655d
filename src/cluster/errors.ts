/**
 * The errors a cluster (or a trainer) raises on the coordinator. A device failure names the rank
 * at fault and the phase it was in, found from what the devices recorded (see diagnose.ts); the
 * CLI prints the message and exits with code 1. After any device failure the cluster is closed.
 */
import { type ErrorCode, SyncBnError } from '../errors.js';
import type { Phase } from './control.js';

/** How a device failed: the class of a {@link DeviceFailureError} says the same, as a word. */
export type DeviceFailureKind = 'crash' | 'hang' | 'missing' | 'timeout';

/**
 * A step failed because of a device (or, for {@link CollectiveTimeoutError}, because the timeout
 * is too short for a step). The common base of the four failures, with the rank and phase; the
 * cluster is closed by the time it is thrown.
 */
export abstract class DeviceFailureError extends SyncBnError {
  /** The code of the subclass ('E_DEVICE_CRASH', 'E_DEVICE_HANG', 'E_DEVICE_MISSING' or 'E_COLLECTIVE_TIMEOUT'). */
  abstract override readonly code: ErrorCode;
  /** The subclass's name. */
  abstract override readonly name: string;

  /**
   * @param kind - how the device failed (matches the class).
   * @param rank - the rank at fault (the first, when several; -1 when no device was running).
   * @param phase - what the device was doing ('forward: all-reduce', 'train: backward', ...).
   * @param message - one line naming the rank, the phase and what happened.
   */
  constructor(
    /** How the device failed (matches the class). */
    readonly kind: DeviceFailureKind,
    /** The rank at fault (the first, when several). */
    readonly rank: number,
    /** What the device was doing when it failed. */
    readonly phase: Phase,
    message: string,
  ) {
    super(message);
  }
}

/** A device threw (or its thread died) during a step. */
export class DeviceCrashError extends DeviceFailureError {
  /** Always 'E_DEVICE_CRASH'. */
  override readonly code = 'E_DEVICE_CRASH';
  /** Always 'DeviceCrashError'. */
  override readonly name = 'DeviceCrashError';
}

/** A device stopped answering: no sign of life from its thread within the timeout. */
export class DeviceHangError extends DeviceFailureError {
  /** Always 'E_DEVICE_HANG'. */
  override readonly code = 'E_DEVICE_HANG';
  /** Always 'DeviceHangError'. */
  override readonly name = 'DeviceHangError';
}

/** A device finished its step without joining a collective its peers waited in. */
export class DeviceMissingError extends DeviceFailureError {
  /** Always 'E_DEVICE_MISSING'. */
  override readonly code = 'E_DEVICE_MISSING';
  /** Always 'DeviceMissingError'. */
  override readonly name = 'DeviceMissingError';
}

/**
 * Devices timed out in a collective with no device clearly at fault: the timeout is shorter than
 * a step takes on this machine (raise `timeoutMs`).
 */
export class CollectiveTimeoutError extends DeviceFailureError {
  /** Always 'E_COLLECTIVE_TIMEOUT'. */
  override readonly code = 'E_COLLECTIVE_TIMEOUT';
  /** Always 'CollectiveTimeoutError'. */
  override readonly name = 'CollectiveTimeoutError';
}

/** The cluster (or trainer) was closed, by the caller or after a device failure, and runs no more steps. */
export class ClusterClosedError extends SyncBnError {
  /** Always 'E_CLUSTER_CLOSED'. */
  override readonly code = 'E_CLUSTER_CLOSED';
  /** Always 'ClusterClosedError'. */
  override readonly name = 'ClusterClosedError';
}
