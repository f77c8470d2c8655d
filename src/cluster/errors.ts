/**
 * Typed errors a cluster raises when a device fails. Each names the rank and the phase; the CLI
 * prints the message and exits with code 1. After any of them the cluster is closed.
 */
import type { Phase } from './control.js';

export type DeviceFailureKind = 'crash' | 'hang' | 'missing' | 'timeout';

export class DeviceFailureError extends Error {
  override readonly name: string = 'DeviceFailureError';
  constructor(
    readonly kind: DeviceFailureKind,
    /** The rank at fault (the first, when several). */
    readonly rank: number,
    readonly phase: Phase,
    message: string,
  ) {
    super(message);
  }
}

/** A device threw (or its thread died) during a step. */
export class DeviceCrashError extends DeviceFailureError {
  override readonly name = 'DeviceCrashError';
}

/** A device stopped answering: no reply within the timeout. */
export class DeviceHangError extends DeviceFailureError {
  override readonly name = 'DeviceHangError';
}

/** A device finished its step without joining a collective its peers waited in. */
export class DeviceMissingError extends DeviceFailureError {
  override readonly name = 'DeviceMissingError';
}

/** Peers timed out in a collective without any device being clearly at fault. */
export class CollectiveTimeout extends DeviceFailureError {
  override readonly name = 'CollectiveTimeout';
}

/** The cluster was closed (by the caller, or after a failure) and cannot run steps. */
export class ClusterClosedError extends Error {
  override readonly name = 'ClusterClosedError';
}
